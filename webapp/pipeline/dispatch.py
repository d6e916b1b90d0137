"""Hand jobs to Celery workers when a broker is configured.

Each kind of job goes to its own queue: transcription to ``transcribe_queue`` (for
example ``transcribe-gpu``, served by workers on a GPU server) and drafting to
``draft_queue``, so each stage runs where its model runs best.

The database job row stays the source of truth: a Celery message carries only the
job's id, and the worker that receives it claims the job with the same atomic UPDATE
as the in-process worker (:func:`webapp.pipeline.run_one_job`), so a message delivered
twice, or to two workers at once, still runs the job once. A message can be lost (the
broker restarted, the web node could not reach it, the worker holding it was killed);
:func:`sweep` finds queued jobs whose message is overdue and running jobs whose lease
expired, and sends them again.
"""

from __future__ import annotations

import functools
import logging
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from webapp import db
from webapp.context import Services
from webapp.pipeline.queue import queue_for

__all__ = ["RUN_JOB_TASK", "celery_for", "dispatch", "sweep"]

logger = logging.getLogger(__name__)

#: The name of the Celery task that runs one job (defined in :mod:`webapp.celery_app`).
RUN_JOB_TASK = "carenotes.run_job"


def celery_config(broker_url: str, queue: str = "transcribe") -> dict[str, Any]:
    """The Celery settings the web app and the workers share.

    Args:
        broker_url: ``redis://...`` or ``amqp://...``.
        queue: The default queue for jobs.

    Returns:
        A mapping for ``Celery.conf.update``.
    """
    return {
        "broker_url": broker_url,
        "broker_connection_retry_on_startup": True,
        "task_default_queue": queue,
        # Acknowledge a message only once its job has ended, and hand it back if the
        # worker process dies: the job is then run elsewhere (its lease decides where).
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # A worker takes one message at a time, so a long recording does not hold
        # others back in its prefetch buffer while idle workers wait.
        "worker_prefetch_multiplier": 1,
        "task_ignore_result": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        # Redis re-delivers an unacknowledged message after this long; the job's lease
        # (not this) is what stops two workers running it.
        "broker_transport_options": {"visibility_timeout": 3600},
        "worker_hijack_root_logger": False,
    }


@functools.lru_cache(maxsize=4)
def celery_for(broker_url: str, queue: str = "transcribe") -> Any:
    """A Celery app that can send jobs to ``broker_url`` (one per URL and queue)."""
    # Imported here, not at the top: only an installation with a broker needs Celery, and
    # the embedded set-up (web app and in-process worker) never loads it.
    from celery import Celery

    app = Celery("carenotes", set_as_current=False)
    app.conf.update(celery_config(broker_url, queue))
    return app


def _send(svc: Services, job_id: int, kind: str) -> bool:
    settings = svc.settings
    queue = queue_for(settings, kind)
    try:
        celery_for(settings.broker_url, queue).send_task(
            RUN_JOB_TASK,
            args=[job_id],
            queue=queue,
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5},
        )
    except Exception as exc:  # the broker is down: the sweep sends it later
        logger.warning(
            "job %s: could not reach the broker (%s); it stays queued and will be sent again",
            job_id,
            type(exc).__name__,
        )
        return False
    return True


def _kind_of(svc: Services, job_id: int) -> str:
    with svc.engine.connect() as conn:
        kind = conn.scalar(sa.select(db.jobs.c.kind).where(db.jobs.c.id == job_id))
        conn.rollback()
    return str(kind or "transcribe")


def dispatch(svc: Services, job_id: int, kind: str | None = None) -> bool:
    """Send a job (already committed to the database) to its Celery queue.

    Does nothing when no broker is configured: the in-process worker finds the job.

    Args:
        svc: The app's services.
        job_id: The job's id.
        kind: The job's kind (``transcribe`` or ``draft``); read from the job if not given.

    Returns:
        True if a message was sent.
    """
    if not svc.settings.broker_url:
        return False
    kind = kind or _kind_of(svc, job_id)
    if not _send(svc, job_id, kind):
        return False
    try:
        with svc.engine.begin() as conn:
            conn.execute(
                sa.update(db.jobs).where(db.jobs.c.id == job_id).values(dispatched_at=db.utcnow())
            )
    except sa.exc.SQLAlchemyError:  # the message is out; at worst the sweep sends it again
        logger.warning("job %s: sent, but its send time could not be recorded", job_id)
    logger.info("%s job %s sent to queue %s", kind, job_id, queue_for(svc.settings, kind))
    return True


def _overdue(now: Any, settings: Any) -> Any:
    jobs = db.jobs.c
    resend_before = now - timedelta(seconds=settings.dispatch_resend_seconds)
    expired_before = now - timedelta(seconds=settings.job_lease_seconds)
    return sa.or_(
        sa.and_(
            jobs.state == "queued",
            sa.or_(jobs.dispatched_at.is_(None), jobs.dispatched_at < resend_before),
        ),
        sa.and_(
            jobs.state == "running",
            jobs.lease_until < now,
            sa.or_(jobs.dispatched_at.is_(None), jobs.dispatched_at < expired_before),
        ),
    )


def sweep(svc: Services, limit: int = 500) -> list[int]:
    """Send again the jobs whose message is overdue or whose worker stopped heartbeating.

    Safe to run from several places at once: each job is marked with one conditional
    UPDATE before it is sent, so only one sweeper sends it.

    Args:
        svc: The app's services.
        limit: Most jobs sent in one sweep.

    Returns:
        The ids of the jobs sent.
    """
    if not svc.settings.broker_url:
        return []
    now = db.utcnow()
    overdue = _overdue(now, svc.settings)
    with svc.engine.connect() as conn:
        ids = conn.execute(
            sa.select(db.jobs.c.id, db.jobs.c.kind)
            .where(overdue)
            .order_by(db.jobs.c.id)
            .limit(limit)
        ).all()
        conn.rollback()
    sent = []
    for job_id, kind in ids:
        with svc.engine.begin() as conn:
            marked = conn.execute(
                sa.update(db.jobs).where(db.jobs.c.id == job_id, overdue).values(dispatched_at=now)
            ).rowcount
        if not marked:
            continue  # another sweeper sent it, or a worker took it meanwhile
        if _send(svc, job_id, kind):
            sent.append(job_id)
        else:
            with svc.engine.begin() as conn:
                conn.execute(
                    sa.update(db.jobs).where(db.jobs.c.id == job_id).values(dispatched_at=None)
                )
    if sent:
        logger.info("sweep sent %d job(s) again: %s", len(sent), sent)
    return sent
