"""The headteacher's decisions: questions answered with a decision and reminded, removals with a deadline.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08

`escalation` gains what a question is about, the asker's name, an optional draft post (encrypted), the
policy clauses the advisor quoted, the decision and who made it, and when to remind the recipient.
`removal_request` gains where the post is and why it must come down (encrypted), the clause it breaches,
who posted it, who must remove it and by when, and who confirmed it was removed. Columns are added in
place with server defaults: neither table is copied on SQLite.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def _string(length: int):
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _escalation_columns() -> tuple[sa.Column, ...]:
    return (
        sa.Column('topic', _string(16), server_default='post', nullable=False),
        sa.Column('requester_name', _string(200), server_default='', nullable=False),
        sa.Column('decision', _string(16), nullable=True),
        sa.Column('resolved_by_platform', _string(32), nullable=True),
        sa.Column('resolved_by_user_id', _string(255), nullable=True),
        sa.Column('resolved_by_name', _string(200), server_default='', nullable=False),
        sa.Column('remind_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('reminded', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('draft_encrypted', sa.Text(), nullable=True),
        sa.Column('clauses', sa.Text(), nullable=True),
    )


def _removal_request_columns() -> tuple[sa.Column, ...]:
    return (
        sa.Column('origin', _string(16), server_default='request', nullable=False),
        sa.Column('location', _string(32), server_default='elsewhere', nullable=False),
        sa.Column('requester_name', _string(200), server_default='', nullable=False),
        sa.Column('clause_section', _string(200), nullable=True),
        sa.Column('clause_text', sa.Text(), nullable=True),
        sa.Column('poster_platform', _string(32), nullable=True),
        sa.Column('poster_user_id', _string(255), nullable=True),
        sa.Column('poster_name', _string(200), server_default='', nullable=False),
        sa.Column('actor_role', _string(40), nullable=True),
        sa.Column('decided_by_name', _string(200), server_default='', nullable=False),
        sa.Column('due_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('removed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('removed_by_role', _string(40), nullable=True),
        sa.Column('removed_by_platform', _string(32), nullable=True),
        sa.Column('removed_by_user_id', _string(255), nullable=True),
        sa.Column('removed_by_name', _string(200), server_default='', nullable=False),
        sa.Column('overdue_reminded', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column('reason_encrypted', sa.Text(), nullable=True),
    )


# Built afresh for each run: a Column belongs to the first table it is added to.
NEW_COLUMNS = {'escalation': _escalation_columns, 'removal_request': _removal_request_columns}


def upgrade() -> None:
    for table, columns in NEW_COLUMNS.items():
        for column in columns():
            op.add_column(table, column)


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place (neither table may be copied).
    for table, columns in NEW_COLUMNS.items():
        for column in reversed(columns()):
            op.drop_column(table, column.name)
