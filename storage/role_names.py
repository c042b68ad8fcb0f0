"""The role names. No imports: `policybot roles` offers them as choices before anything heavy is loaded."""

HEADTEACHER = "headteacher"
DEPUTY_HEADTEACHER = "deputy_headteacher"
CHAIR_OF_GOVERNORS = "chair_of_governors"
SAFEGUARDING_LEAD = "safeguarding_lead"
# Whoever runs the school's own social-media accounts: they take down what was posted there.
SCHOOL_ACCOUNTS = "school_accounts"
ROLES = (HEADTEACHER, CHAIR_OF_GOVERNORS, SAFEGUARDING_LEAD, DEPUTY_HEADTEACHER, SCHOOL_ACCOUNTS)
# Who may answer staff questions and decide removals.
DECIDER_ROLES = (HEADTEACHER, DEPUTY_HEADTEACHER)
# The roles reports go to (see storage.repository.cases.recipient_roles): a school needs all three held.
REPORT_ROLES = (HEADTEACHER, CHAIR_OF_GOVERNORS, SAFEGUARDING_LEAD)
