"""Celery workers for carenotes: ``celery -A webapp.celery_app worker -Q transcribe,draft``.

Transcription jobs go to ``CARENOTES_TRANSCRIBE_QUEUE`` (``transcribe``) and drafting
jobs to ``CARENOTES_DRAFT_QUEUE`` (``draft``); a worker serves the queues it is given,
so Whisper can run on a GPU server (``-Q transcribe-gpu``) and drafting on CPU
machines (``-Q draft``). Each worker process builds the app's services once
(database, keys, blob store) and loads, before its first job, only the models its
queues need, keeping them for the next ones. A task carries
only a job id; the job row in the database says what to do and whether it is still
to be done, so the task is idempotent (see :mod:`webapp.pipeline.dispatch`).

Configuration comes from the same environment as the web app (``CARENOTES_*``);
``CARENOTES_BROKER_URL`` names the broker. ``CARENOTES_MODEL_FACTORY``
(``package.module:function``) may name a function returning app config overrides
such as ``{"TRANSCRIBER": ..., "DRAFTER": ...}``, to plug in other model objects.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import threading
from typing import Any

import sqlalchemy as sa
from celery import Celery, signals

from policies import ConfigError
from webapp import create_app, db
from webapp.logjson import configure_json_logging
from webapp.pipeline import RUN_JOB_TASK, celery_config, run_one_job
from webapp.settings import read_setting

__all__ = ["app", "run_worker", "worker_services"]

logger = logging.getLogger(__name__)

app = Celery("carenotes", set_as_current=False)
app.conf.update(celery_config(read_setting("broker_url"), read_setting("transcribe_queue")))

_lock = threading.Lock()
_services: Any = None


def worker_services() -> Any:
    """This process's :class:`webapp.context.Services`, built on first use."""
    global _services
    with _lock:
        if _services is None:
            config: dict[str, Any] = {"RUN_WORKER": False}
            factory = read_setting("model_factory")
            if factory:
                module, _, name = factory.partition(":")
                config.update(getattr(importlib.import_module(module), name)())
            _services = create_app(config).extensions["carenotes"]
        return _services


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:celery"


def _job_state(svc: Any, job_id: int) -> str | None:
    with svc.engine.connect() as conn:
        state = conn.scalar(sa.select(db.jobs.c.state).where(db.jobs.c.id == job_id))
        conn.rollback()
    return state


def _mark_dispatched(svc: Any, job_id: int) -> None:
    with svc.engine.begin() as conn:
        conn.execute(
            sa.update(db.jobs).where(db.jobs.c.id == job_id).values(dispatched_at=db.utcnow())
        )


@app.task(
    bind=True,
    name=RUN_JOB_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(sa.exc.OperationalError, sa.exc.InterfaceError),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
)
def run_job(self: Any, job_id: int) -> str:
    """Run job ``job_id`` if it is still waiting; return its state afterwards.

    A job another worker holds (a live lease) is left alone: if that worker dies, the
    sweep sends the job again once the lease expires. A job that failed in a way worth
    retrying goes back to ``queued`` and is tried again here after a growing delay.
    """
    svc = worker_services()
    state = _job_state(svc, job_id)
    if state is None:
        # The web app sends the message just after its transaction commits; a fast
        # worker can get here first. Wait a moment rather than drop the job.
        if self.request.retries < 5:
            raise self.retry(countdown=1 + self.request.retries)
        logger.warning("job %s does not exist; message dropped", job_id)
        return "missing"
    if state in ("done", "failed"):
        return state
    try:
        ran = run_one_job(svc, _worker_id(), job_id)
    finally:
        # A worker killed on this machine may have left a decrypted copy behind.
        svc.vault.store.remove_stale_temp()
    if ran is None:
        logger.info("job %s is held by another worker; leaving it", job_id)
        return "held"
    state = _job_state(svc, job_id) or "missing"
    if state == "queued":
        _mark_dispatched(svc, job_id)
        raise self.retry(countdown=min(600, 15 * 2**self.request.retries))
    return state


@signals.setup_logging.connect
def _setup_logging(**_kwargs: Any) -> None:
    configure_json_logging()


def _served_queues() -> set[str]:
    try:
        return set(app.amqp.queues.consume_from or ())
    except Exception:  # not set up as a worker (a test calling in directly)
        return set()


def models_for_queues(settings: Any, queues: set[str]) -> list[str]:
    """The models a worker serving ``queues`` needs: ``transcriber``, ``drafter`` or both.

    A queue that is neither the transcription nor the drafting queue in ``settings``
    gets no jobs from carenotes, so it is reported (a mistyped name would otherwise
    leave the worker idle while recordings wait).
    """
    needed = []
    if settings.transcribe_queue in queues:
        needed.append("transcriber")
    if settings.draft_queue in queues:
        needed.append("drafter")
    for queue in sorted(queues - {settings.transcribe_queue, settings.draft_queue}):
        logger.warning(
            "queue %s is neither CARENOTES_TRANSCRIBE_QUEUE (%s) nor CARENOTES_DRAFT_QUEUE "
            "(%s): no jobs will arrive on it",
            queue,
            settings.transcribe_queue,
            settings.draft_queue,
        )
    return needed


def _preload() -> None:
    svc = worker_services()
    needed = models_for_queues(svc.settings, _served_queues())
    for name in needed:
        svc.model(name)
    logger.info("worker %s ready: loaded %s", _worker_id(), ", ".join(needed) or "no models")


@signals.worker_process_init.connect
def _load_in_child(**_kwargs: Any) -> None:
    # Prefork pool: each child process loads its own models, once.
    _preload()


@signals.worker_ready.connect
def _load_in_solo(sender: Any = None, **_kwargs: Any) -> None:
    pool = getattr(getattr(sender, "pool_cls", None), "__name__", "")
    if "solo" in pool.lower() or "thread" in pool.lower():
        _preload()


def run_worker(queues: str, concurrency: int = 1, pool: str = "solo") -> int:
    """Run a Celery worker in this process (``carenotes worker --celery``).

    Args:
        queues: Comma-separated queue names, e.g. ``transcribe-gpu`` or
            ``transcribe,draft``.
        concurrency: Worker processes (with ``pool="prefork"``).
        pool: ``solo`` (one job at a time in this process, models loaded once) or
            ``prefork``.

    Returns:
        The worker's exit status.
    """
    if not app.conf.broker_url:
        raise ConfigError(
            "CARENOTES_BROKER_URL is not set: set it to the broker, e.g. "
            "redis://127.0.0.1:6379/0, or run `carenotes worker` without --celery."
        )
    argv = [
        "worker",
        f"--queues={queues}",
        f"--pool={pool}",
        f"--concurrency={concurrency}",
        f"--hostname=carenotes-{os.getpid()}@{socket.gethostname()}",
        "--without-gossip",
        "--without-mingle",
        f"--loglevel={read_setting('log_level')}",
    ]
    app.worker_main(argv)
    return 0
