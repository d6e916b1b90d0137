"""Oversight and governance: legal holds, quality samples, each note's policy version.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_ts = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("notes", sa.Column("policy_version", sa.String(40), nullable=True))
    op.create_table(
        "legal_holds",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("case_ref_enc", sa.LargeBinary, nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
        sa.Column("set_by", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("set_at", _ts, nullable=False),
        sa.Column("cleared_by", sa.Integer, sa.ForeignKey("users.id"), nullable=True),
        sa.Column("cleared_at", _ts, nullable=True),
    )
    op.create_table(
        "quality_samples",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("note_id", sa.String(32), sa.ForeignKey("notes.id"), nullable=False),
        sa.Column("manager_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("drawn_at", _ts, nullable=False),
        sa.Column("outcome", sa.String(20), nullable=True),
        sa.Column("comment_enc", sa.LargeBinary, nullable=True),
        sa.Column("reviewed_at", _ts, nullable=True),
    )
    op.create_index("ix_quality_samples_note_id", "quality_samples", ["note_id"])
    op.create_index("ix_quality_samples_manager_id", "quality_samples", ["manager_id"])


def downgrade() -> None:
    op.drop_index("ix_quality_samples_manager_id", table_name="quality_samples")
    op.drop_index("ix_quality_samples_note_id", table_name="quality_samples")
    op.drop_table("quality_samples")
    op.drop_table("legal_holds")
    with op.batch_alter_table("notes") as batch_op:
        batch_op.drop_column("policy_version")
