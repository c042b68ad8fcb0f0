"""Everything policybot remembers: sqlmodel models, the async database, migrations, encryption at rest
and the repository functions the flows call (`from storage import repository as repo`)."""
