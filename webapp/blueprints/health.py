"""``/healthz`` (the process answers), ``/readyz`` (it can do its work) and ``/metrics``.

None of them needs a session. ``/metrics`` answers loopback callers, or others that
send ``Authorization: Bearer <CARENOTES_METRICS_TOKEN>``; everyone else gets 404.
"""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, Response, abort, jsonify, request

from webapp.context import services
from webapp.metrics import render_metrics
from webapp.services.readiness import readiness

__all__ = ["bp"]

bp = Blueprint("health", __name__)

_LOOPBACK = ("127.0.0.1", "::1")


@bp.get("/healthz")
def healthz() -> Any:
    """Liveness: the process is up and serving requests."""
    return jsonify(status="ok")


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
