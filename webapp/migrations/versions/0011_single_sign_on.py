"""The single sign-on identity of a user: the provider's issuer and their subject there.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("oidc_issuer", sa.String(300), nullable=True))
        batch_op.add_column(sa.Column("oidc_subject", sa.String(255), nullable=True))
        batch_op.create_index(
            "ix_users_oidc_identity", ["oidc_issuer", "oidc_subject"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_index("ix_users_oidc_identity")
        batch_op.drop_column("oidc_subject")
        batch_op.drop_column("oidc_issuer")
