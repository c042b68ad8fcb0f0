"""Notifications linked to their case, deleted with it; a case's closing note stored encrypted.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

`notification.case_id`: `case_opened`, `case_message` and `case_escalated` notifications carry the report's
text (encrypted); the link lets `policybot purge` delete them with the case (ON DELETE CASCADE as well).
Notifications queued before this revision have no link; purge expires them by age.

`report_case.close_note_encrypted`: the note staff write when closing a case, which used to be kept in
plain text in the audit trail.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

NOTIFICATION_CASE_FK = 'fk_notification_case_id_report_case'


def upgrade() -> None:
    # SQLite copies the notification table to add the foreign key (nothing refers to it, so nothing cascades).
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('case_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(NOTIFICATION_CASE_FK, 'report_case', ['case_id'], ['id'], ondelete='CASCADE')
        batch_op.create_index(batch_op.f('ix_notification_case_id'), ['case_id'], unique=False)
    # A plain ADD COLUMN on both databases. Never copy report_case on SQLite: dropping the old table would
    # cascade to every case's messages and escalations.
    op.add_column('report_case', sa.Column('close_note_encrypted', sa.Text(), nullable=True))


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place (again: report_case must not be copied).
    op.drop_column('report_case', 'close_note_encrypted')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_case_id'))
        batch_op.drop_constraint(NOTIFICATION_CASE_FK, type_='foreignkey')
        batch_op.drop_column('case_id')
