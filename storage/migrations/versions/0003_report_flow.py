"""The report flow: what a case is about, its deadlines, its evidence and (for named reports) its reporter.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

`report_case` gains its kind, the safeguarding and urgent flags, the days it was acknowledged and last
answered, the reminders already sent and the encrypted details (where, who, when, a link). Columns are
added in place with server defaults: report_case is never copied on SQLite (dropping the old table would
cascade to every case's messages).

`case_evidence`: screenshots without their metadata, encrypted. `case_reporter`: the name of a reporter
who chose to give it, and their platform id only when they asked to be messaged directly.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

NEW_CASE_COLUMNS = ('kind', 'safeguarding', 'urgent', 'acknowledged_on', 'last_feedback_on', 'acknowledge_reminders',
                    'feedback_reminded', 'details_encrypted')


def upgrade() -> None:
    op.add_column('report_case', sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), server_default='other', nullable=False))
    op.add_column('report_case', sa.Column('safeguarding', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('report_case', sa.Column('urgent', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('report_case', sa.Column('acknowledged_on', sa.Date(), nullable=True))
    op.add_column('report_case', sa.Column('last_feedback_on', sa.Date(), nullable=True))
    op.add_column('report_case', sa.Column('acknowledge_reminders', sa.Integer(), server_default='0', nullable=False))
    op.add_column('report_case', sa.Column('feedback_reminded', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('report_case', sa.Column('details_encrypted', sa.Text(), nullable=True))
    op.create_table('case_evidence',
    sa.Column('mimetype', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('added_on', sa.Date(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('content_encrypted', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['report_case.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('case_evidence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_evidence_case_id'), ['case_id'], unique=False)
    op.create_table('case_reporter',
    sa.Column('platform', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('name_encrypted', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['report_case.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id')
    )


def downgrade() -> None:
    op.drop_table('case_reporter')
    with op.batch_alter_table('case_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_evidence_case_id'))
    op.drop_table('case_evidence')
    # SQLite 3.35+ drops a column in place (report_case must not be copied).
    for column in reversed(NEW_CASE_COLUMNS):
        op.drop_column('report_case', column)
