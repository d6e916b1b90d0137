"""The language a visit was held in, and whether an interpreter was present.

``visit_language`` is Whisper's code of the language spoken (``"es"``), ``"auto"``
when it was another language to be detected, or ``NULL`` for English;
``detected_language`` is the code Whisper found for a language to be detected, once
transcribed. The interpreter's name, when given, is sealed with the recording's key like the
participants. Existing recordings are English visits without an interpreter.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN: SQLite's batch mode would copy the table, and dropping the old
    # one fails on the jobs' and notes' foreign keys.
    op.add_column("recordings", sa.Column("visit_language", sa.String(16), nullable=True))
    op.add_column("recordings", sa.Column("detected_language", sa.String(16), nullable=True))
    op.add_column(
        "recordings",
        sa.Column("interpreter_present", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.add_column("recordings", sa.Column("interpreter_name_enc", sa.LargeBinary, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("recordings") as batch_op:
        batch_op.drop_column("interpreter_name_enc")
        batch_op.drop_column("interpreter_present")
        batch_op.drop_column("detected_language")
        batch_op.drop_column("visit_language")
