"""Store each approved note's review figures, so the dashboard decrypts nothing.

The figures (share of AI statements kept, share of words changed, flags and flags
confirmed) are counts and shares, never text. Notes approved before this revision get
theirs the first time the dashboard shows them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notes", sa.Column("review_figures", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notes") as batch_op:
        batch_op.drop_column("review_figures")
