"""One feedback per answer per person.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

`feedback` gains a keyed digest of the answer's message and the person who gave the feedback, unique, so
a repeated click changes or repeats that person's feedback instead of adding a row. Rows stored before
have none (NULLs do not collide). The column and its index are added in place: the table is not copied
on SQLite.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

INDEX = 'ix_feedback_giver_digest'


def upgrade() -> None:
    op.add_column('feedback', sa.Column('giver_digest', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.create_index(INDEX, 'feedback', ['giver_digest'], unique=True)


def downgrade() -> None:
    # SQLite drops an indexed column only once its index is gone.
    op.drop_index(INDEX, table_name='feedback')
    op.drop_column('feedback', 'giver_digest')
