"""Alembic migrations (versions/), applied by `Database.open` and `policybot db upgrade`."""

# The newest revision in versions/: a database at it is opened without importing Alembic at all. A test
# checks it against Alembic's own head, so a new migration cannot be forgotten here.
HEAD_REVISION = "0005"
