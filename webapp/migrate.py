"""Schema migrations with Alembic, on SQLite (embedded) and PostgreSQL (production).

:func:`migrate` brings a database to the newest revision. A database created before
migrations existed (by ``metadata.create_all``; it has the tables but no
``alembic_version``) is first stamped at the initial revision, which is exactly that
schema, and then upgraded: nothing is dropped or rebuilt.

Several processes may start at once (gunicorn workers, Celery workers): on PostgreSQL
an advisory lock, on SQLite the database write lock, lets one migrate while the others
wait and then find nothing to do.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

__all__ = ["INITIAL_REVISION", "alembic_config", "current_revision", "head_revision", "migrate"]

logger = logging.getLogger(__name__)

#: The revision whose schema equals what ``metadata.create_all`` made before migrations.
INITIAL_REVISION = "0001"

_LOCK_KEY = int.from_bytes(hashlib.sha256(b"carenotes-migrate").digest()[:8], "big", signed=True)


def alembic_config() -> Config:
    """An Alembic configuration pointing at ``webapp/migrations`` (no ini file needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    return cfg


def head_revision() -> str:
    """The newest revision in ``webapp/migrations``."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None  # noqa: S101 - the package always ships its migrations
    return head


def current_revision(conn: sa.Connection) -> str | None:
    """The revision the database is at, or ``None`` if it has never been migrated."""
    return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: sa.Engine, target: str = "head") -> str:
    """Upgrade the database to ``target`` (idempotent); return the revision reached.

    Args:
        engine: The database engine (``webapp.db.create_engine``).
        target: The revision to upgrade to; the newest by default.

    Returns:
        The database's revision afterwards.
    """
    head = head_revision()
    with engine.connect() as conn:
        if target == "head" and current_revision(conn) == head:
            conn.rollback()
            return head  # the common case, without taking any lock
        conn.rollback()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        tables = set(sa.inspect(conn).get_table_names())
        if "alembic_version" not in tables and {"jobs", "audit_log"} <= tables:
            logger.info("database made before migrations: stamping it at %s", INITIAL_REVISION)
            command.stamp(cfg, INITIAL_REVISION)
        before = current_revision(conn)
        command.upgrade(cfg, target)
        after = current_revision(conn) or ""
    if before != after:
        logger.info("database migrated from %s to %s", before or "empty", after)
    return after
