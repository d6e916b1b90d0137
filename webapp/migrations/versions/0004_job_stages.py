"""Transcription and drafting become separate jobs, each taken from its own queue.

A recording's first job transcribes it and keeps the transcript, encrypted, on the
recording; finishing it queues a drafting job, which writes the note and clears that
copy. Jobs queued before this revision are transcription jobs, and carry on as such.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "jobs",
        sa.Column("kind", sa.String(20), nullable=False, server_default="transcribe"),
    )
    op.create_index("ix_jobs_kind", "jobs", ["kind"])
    op.add_column("recordings", sa.Column("transcript_enc", sa.LargeBinary, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("recordings") as batch_op:
        batch_op.drop_column("transcript_enc")
    op.drop_index("ix_jobs_kind", table_name="jobs")
    with op.batch_alter_table("jobs") as batch_op:
        batch_op.drop_column("kind")
