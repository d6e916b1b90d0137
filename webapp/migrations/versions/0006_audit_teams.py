"""Name each audit entry's record's teams, so the trail is scoped by the record.

Entries written before this revision keep no team (their hash is unchanged); the audit
trail page finds the team of those about a recording or a note from the record itself.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("teams", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch_op:
        batch_op.drop_column("teams")
