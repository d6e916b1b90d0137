"""``carenotes db upgrade`` and ``carenotes sweep``: commands for a scaled-out deployment."""

from __future__ import annotations

import argparse
import logging
import time
from typing import Any

from webapp import migrate
from webapp.cli_common import app_for
from webapp.pipeline import sweep
from webapp.services.retention import RetentionSchedule
from webapp.settings import read_setting

__all__ = ["add_commands", "celery_worker"]

logger = logging.getLogger(__name__)


def _db_upgrade(_args: argparse.Namespace) -> int:
    # Building the app migrates; say where the database stands.
    svc = app_for().extensions["carenotes"]
    with svc.engine.connect() as conn:
        revision = migrate.current_revision(conn)
    print(f"The database is at revision {revision} (the newest is {migrate.head_revision()}).")
    return 0


def _sweep(args: argparse.Namespace) -> int:
    svc = app_for().extensions["carenotes"]
    if not svc.settings.broker_url:
        print("CARENOTES_BROKER_URL is not set: there is nothing to sweep (jobs run in-process).")
        return 2
    if not args.once:
        print(f"carenotes sweep: checking every {args.every:g} s (Ctrl+C to stop)")
    # With Celery no in-process worker runs, so the retention rules run here.
    retention = RetentionSchedule(svc)
    while True:
        try:
            sent = sweep(svc)
        except Exception:  # the database may be briefly unavailable
            logger.exception("sweep failed; trying again at the next round")
            sent = []
        if not args.once:
            retention()
        if args.once:
            print(f"Sent {len(sent)} job(s) again.")
            return 0
        time.sleep(args.every)


def celery_worker(args: argparse.Namespace) -> int:
    """Run ``carenotes worker --celery`` (see :func:`webapp.celery_app.run_worker`)."""
    # Celery loads on import: only ``--celery`` needs it.
    from webapp.celery_app import run_worker

    queues = args.queues or ",".join(
        dict.fromkeys((read_setting("transcribe_queue"), read_setting("draft_queue")))
    )
    return run_worker(queues, args.concurrency, args.pool)


def add_worker_arguments(worker: argparse.ArgumentParser) -> None:
    """Add the ``--celery`` options to the ``carenotes worker`` parser."""
    worker.add_argument(
        "--celery",
        action="store_true",
        help="take jobs from the Celery broker (CARENOTES_BROKER_URL)",
    )
    worker.add_argument(
        "--queues",
        default="",
        help="with --celery: comma-separated queues to serve (default: the transcription "
        "and drafting queues, CARENOTES_TRANSCRIBE_QUEUE and CARENOTES_DRAFT_QUEUE)",
    )
    worker.add_argument(
        "--concurrency", type=int, default=1, help="with --celery --pool prefork: processes"
    )
    worker.add_argument("--pool", default="solo", choices=("solo", "prefork"))


def add_commands(subparsers: Any) -> None:
    """Register ``db upgrade`` and ``sweep`` on the ``carenotes`` parser."""
    db_cmd = subparsers.add_parser("db", help="the database schema")
    db_sub = db_cmd.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser("upgrade", help="apply the schema migrations (safe to repeat)").set_defaults(
        func=_db_upgrade
    )
    sweep = subparsers.add_parser(
        "sweep",
        help="re-send Celery jobs whose message was lost or whose worker died; "
        "apply the retention policy hourly",
    )
    sweep.add_argument("--every", type=float, default=30.0, help="seconds between rounds")
    sweep.add_argument("--once", action="store_true", help="one round, then stop")
    sweep.set_defaults(func=_sweep)
