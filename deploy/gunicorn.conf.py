"""gunicorn settings for the carenotes web node.

Run with::

    gunicorn -c deploy/gunicorn.conf.py 'webapp:create_app()'

Everything here can be overridden from the environment (``CARENOTES_BIND``,
``CARENOTES_WEB_WORKERS``...). Jobs are not run in the web processes: set
``CARENOTES_RUN_WORKER=false`` and run Celery workers (``carenotes worker --celery``).
"""

from __future__ import annotations

import multiprocessing
import os

# Listen on loopback: a reverse proxy (nginx, IIS, a load balancer) terminates TLS in
# front and forwards to this address.
bind = os.environ.get("CARENOTES_BIND", "127.0.0.1:8000")

# Requests are short except uploads; threads keep a slow upload from holding a process.
workers = int(os.environ.get("CARENOTES_WEB_WORKERS", min(4, 2 * multiprocessing.cpu_count())))
worker_class = "gthread"
threads = int(os.environ.get("CARENOTES_WEB_THREADS", "4"))

# A 500 MiB upload over a slow council network can take minutes.
timeout = int(os.environ.get("CARENOTES_WEB_TIMEOUT", "600"))
graceful_timeout = 30
keepalive = 5

# Restart each process now and then, so that slow leaks cannot build up.
max_requests = 2000
max_requests_jitter = 200

# Build the app (and migrate the database) once, before forking; the engine's pool is
# created lazily, so each process still opens its own connections.
preload_app = True

# The app sees the client's address and scheme from the proxy's headers only when the
# proxy is the one connecting.
forwarded_allow_ips = os.environ.get("CARENOTES_FORWARDED_ALLOW_IPS", "127.0.0.1")

# Structured logs on standard error (journald or the container runtime collects them).
# The access log records the path without its query string, the status and the time
# taken, never form contents; paths carry record ids only.
accesslog = "-"
access_log_format = (
    '{"remote":"%(h)s","method":"%(m)s","path":"%(U)s","status":%(s)s,"bytes":%(B)s,"ms":%(M)s}'
)
errorlog = "-"
loglevel = os.environ.get("CARENOTES_LOG_LEVEL", "info").lower()
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "webapp.logjson.JsonFormatter"},
        "raw": {"format": "%(message)s"},
    },
    "handlers": {
        "app": {"class": "logging.StreamHandler", "formatter": "json"},
        "access": {"class": "logging.StreamHandler", "formatter": "raw"},
    },
    "root": {"level": loglevel.upper(), "handlers": ["app"]},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": ["app"], "propagate": False},
        "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
        "alembic": {"level": "WARNING"},
    },
}


def post_fork(_server: object, worker: object) -> None:
    """Give each process its own database connections: none may cross a fork."""
    app = worker.app.wsgi()  # type: ignore[attr-defined]
    services = getattr(app, "extensions", {}).get("carenotes")
    if services is not None:
        services.engine.dispose(close=False)
