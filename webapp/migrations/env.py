"""Alembic environment: runs on the connection :func:`webapp.migrate.migrate` passes in.

When run by the ``alembic`` tool instead, the database URL comes from
``CARENOTES_DATABASE_URL``.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import context

from webapp import db

config = context.config
target_metadata = db.metadata


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = os.environ.get("CARENOTES_DATABASE_URL")
    if not url:
        raise SystemExit(
            "Set CARENOTES_DATABASE_URL to the database to migrate, or run "
            "`carenotes db upgrade`, which reads the app's settings."
        )
    engine = db.create_engine(url)
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=os.environ.get("CARENOTES_DATABASE_URL", ""), target_metadata=target_metadata
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    _online()
