"""Give each legal hold the team whose case it holds, so holds are scoped by team.

A hold placed before this revision is given its placer's team when they were in exactly
one; others keep no team and are shown to information governance only.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("legal_holds") as batch_op:
        batch_op.add_column(sa.Column("team_id", sa.Integer, nullable=True))
        batch_op.create_foreign_key("fk_legal_holds_team_id", "teams", ["team_id"], ["id"])
        batch_op.create_index("ix_legal_holds_team_id", ["team_id"])
    op.execute(
        """
        UPDATE legal_holds SET team_id = (
            SELECT MIN(ut.team_id) FROM user_teams ut WHERE ut.user_id = legal_holds.set_by
        )
        WHERE (SELECT COUNT(*) FROM user_teams ut WHERE ut.user_id = legal_holds.set_by) = 1
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("legal_holds") as batch_op:
        batch_op.drop_index("ix_legal_holds_team_id")
        batch_op.drop_constraint("fk_legal_holds_team_id", type_="foreignkey")
        batch_op.drop_column("team_id")
