"""``/healthz`` (the process answers), ``/readyz`` (it can do its work) and ``/metrics``.

None of them needs a session. ``/metrics`` answers loopback callers, or others that
send ``Authorization: Bearer <CARENOTES_METRICS_TOKEN>``; everyone else gets 404.
"""

from __future__ import annotations

import hmac
import logging
import os
import tempfile
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, abort, jsonify, request

from webapp import crypto
from webapp.context import services
from webapp.integrity import check_master_key
from webapp.metrics import render_metrics
from webapp.pipeline import celery_for

__all__ = ["bp", "readiness"]

logger = logging.getLogger(__name__)

bp = Blueprint("health", __name__)

_LOOPBACK = ("127.0.0.1", "::1")


@bp.get("/healthz")
def healthz() -> Any:
    """Liveness: the process is up and serving requests."""
    return jsonify(status="ok")


def _check_database(svc: Any) -> None:
    with svc.engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
        conn.rollback()


def _check_keys(svc: Any) -> None:
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


def _check_storage(svc: Any) -> None:
    with tempfile.NamedTemporaryFile(dir=svc.vault.store.root, prefix=".ready-") as handle:
        handle.write(b"ok")
        handle.flush()
        os.fsync(handle.fileno())


def _check_broker(svc: Any) -> None:
    settings = svc.settings
    with celery_for(settings.broker_url, settings.transcribe_queue).connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=3)


def readiness(svc: Any) -> dict[str, str]:
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


@bp.get("/readyz")
def readyz() -> Any:
    """Readiness: database reachable, keys loaded, storage writable, broker reachable."""
    results = readiness(services())
    ready = all(value == "ok" for value in results.values())
    return jsonify(status="ready" if ready else "not ready", checks=results), (
        200 if ready else 503
    )


def _may_see_metrics(token: str) -> bool:
    if token:
        sent = request.headers.get("Authorization", "")
        if hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return True
    # Behind a proxy remote_addr is the proxy: keep /metrics off the public site there.
    return request.remote_addr in _LOOPBACK and "X-Forwarded-For" not in request.headers


@bp.get("/metrics")
def metrics() -> Any:
    """Prometheus metrics: queue depth by state, job durations, failures."""
    svc = services()
    if not _may_see_metrics(svc.settings.metrics_token):
        abort(404)
    return Response(render_metrics(svc.engine), mimetype="text/plain; version=0.0.4")
