"""Whether this process can do its work: the checks behind ``/readyz``."""

from __future__ import annotations

import logging
import os
import tempfile

import sqlalchemy as sa

from webapp import crypto
from webapp.context import Services
from webapp.integrity import check_master_key
from webapp.pipeline import celery_for

__all__ = ["readiness"]

logger = logging.getLogger(__name__)


def _check_database(svc: Services) -> None:
    with svc.engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
        conn.rollback()


def _check_keys(svc: Services) -> None:
    with svc.engine.connect() as conn:
        problem = check_master_key(conn, svc.vault.ring)
        conn.rollback()
    if problem:
        raise RuntimeError(problem)
    purpose = crypto.aad_for("readiness", "check", "data_key")
    key = crypto.new_data_key()
    if (
        crypto.unwrap_key(svc.vault.ring, crypto.wrap_key(svc.vault.ring, key, purpose), purpose)
        != key
    ):
        raise RuntimeError("the master key did not round-trip")


def _check_storage(svc: Services) -> None:
    with tempfile.NamedTemporaryFile(dir=svc.vault.store.root, prefix=".ready-") as handle:
        handle.write(b"ok")
        handle.flush()
        os.fsync(handle.fileno())


def _check_broker(svc: Services) -> None:
    settings = svc.settings
    with celery_for(settings.broker_url, settings.transcribe_queue).connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=3)


def readiness(svc: Services) -> dict[str, str]:
    """Run every readiness check; return ``{check: "ok" or the failure's type}``."""
    checks = {"database": _check_database, "keys": _check_keys, "storage": _check_storage}
    if svc.settings.broker_url:
        checks["broker"] = _check_broker
    results = {}
    for name, check in checks.items():
        try:
            check(svc)
            results[name] = "ok"
        except Exception as exc:
            logger.warning("readiness check %s failed: %s", name, type(exc).__name__)
            results[name] = f"failed ({type(exc).__name__})"
    return results
