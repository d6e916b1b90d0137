"""API tokens for case-management systems, their teams, and the notes they imported.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_ts = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False, unique=True),
        sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("can_mark_imported", sa.Boolean, nullable=False),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_at", _ts, nullable=False),
        sa.Column("expires_at", _ts, nullable=True),
        sa.Column("revoked_at", _ts, nullable=True),
        sa.Column("revoked_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("last_used_at", _ts, nullable=True),
        sa.Column("rate_window", sa.BigInteger, nullable=False),
        sa.Column("rate_count", sa.Integer, nullable=False),
    )
    op.create_table(
        "api_token_teams",
        sa.Column(
            "token_id",
            sa.Integer,
            sa.ForeignKey("api_tokens.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "team_id", sa.Integer, sa.ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
        ),
    )
    op.create_table(
        "note_imports",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("note_id", sa.String(32), sa.ForeignKey("notes.id"), nullable=False, unique=True),
        sa.Column("token_id", sa.Integer, sa.ForeignKey("api_tokens.id"), nullable=False),
        sa.Column("imported_at", _ts, nullable=False),
        sa.Column("system", sa.String(40), nullable=False),
        sa.Column("reference_enc", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("note_imports")
    op.drop_table("api_token_teams")
    op.drop_table("api_tokens")
