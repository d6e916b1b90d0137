"""Running jobs: one job to its end, and the loop that keeps a worker taking them.

:func:`run_one_job` is what every worker runs (the in-process thread and
``carenotes worker`` through :func:`run_jobs`, and the Celery task for the job its
message names): it claims a job, runs its stage under a lease, stores the result or
the reason it failed, and sends the next stage to its queue.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

from policies import CarenotesError
from webapp.context import Services
from webapp.pipeline.dispatch import dispatch
from webapp.pipeline.lease import Heartbeat, LeaseLost, Reporter, claim, fail
from webapp.pipeline.queue import DRAFT
from webapp.pipeline.steps import (
    draft_recording,
    finish_draft,
    finish_transcription,
    transcribe_recording,
)

__all__ = ["run_jobs", "run_one_job"]

logger = logging.getLogger(__name__)


def run_one_job(
    svc: Services,
    worker_id: str | None = None,
    job_id: int | None = None,
    kinds: tuple[str, ...] | None = None,
) -> int | None:
    """Claim and run one job, if any is waiting; return its id.

    A transcription job that finishes queues its recording's drafting job, and sends it
    to the drafting queue when Celery is in use.

    Args:
        svc: The app's services (``app.extensions["carenotes"]``).
        worker_id: Name of this worker; host and process id by default.
        job_id: Run only this job (a Celery task's), if it is waiting; any by default.
        kinds: Run only jobs of these kinds (``transcribe``, ``draft``); any by default.

    Returns:
        The id of the job run (whatever its outcome), or ``None`` if none was waiting.
    """
    worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
    job = claim(svc, worker_id, job_id, kinds)
    if job is None:
        return None
    logger.info(
        "worker %s running %s job %s (attempt %s)", worker_id, job.kind, job.id, job.attempts
    )
    next_job = None
    try:
        next_job = _run_claimed(svc, job, worker_id)
    finally:
        # Decrypted copies end with the block that made them; this also takes away any
        # that a worker killed on this machine (kill -9, out of memory) left behind, at
        # the end of every job rather than only at the next start.
        try:
            svc.vault.store.remove_stale_temp()
        except OSError:
            logger.exception("job %s: temporary files could not be cleared", job.id)
    if next_job is not None:
        dispatch(svc, next_job, DRAFT)  # to the drafting workers, when Celery is in use
    return int(job.id)


def _run_claimed(svc: Services, job: Any, worker_id: str) -> int | None:
    """Run a claimed job to its end; return the drafting job a transcription queued."""
    next_job = None
    try:
        with Heartbeat(svc, job.id, worker_id) as beat:
            report = Reporter(svc, job.id, worker_id, beat)
            if job.kind == DRAFT:
                transcript, draft = draft_recording(svc, job, report)
                finished = finish_draft(svc, job, worker_id, transcript, draft)
            else:
                transcript = transcribe_recording(svc, job, report)
                next_job = finish_transcription(svc, job, worker_id, transcript)
                finished = next_job is not None
        if not finished:
            logger.warning("job %s was finished by another worker; result dropped", job.id)
    except LeaseLost:
        logger.warning("job %s: lease lost; another worker carries on", job.id)
    except CarenotesError as exc:
        logger.info("job %s failed: %s", job.id, type(exc).__name__)
        # A model server that is down may be back soon; anything else will fail again.
        fail(svc, job, worker_id, str(exc), retry=bool(getattr(exc, "retryable", False)))
    except Exception as exc:  # a bug or a crash in a model: keep the worker alive
        logger.exception("job %s failed unexpectedly", job.id)
        fail(
            svc,
            job,
            worker_id,
            f"{'Drafting' if job.kind == DRAFT else 'Transcription'} failed unexpectedly "
            f"({type(exc).__name__}). It will be retried automatically; if it keeps "
            "failing, tell an administrator.",
            retry=True,
        )
    return next_job


def run_jobs(
    svc: Services,
    worker_id: str | None = None,
    *,
    kinds: tuple[str, ...] | None = None,
    stop: threading.Event | None = None,
    once: bool = False,
    poll_seconds: float | None = None,
    each_round: Callable[[], None] | None = None,
) -> None:
    """Run queued jobs one after another until stopped.

    The in-process worker's thread and ``carenotes worker`` both run this loop.

    Args:
        svc: The app's services.
        worker_id: Name of this worker (see :func:`run_one_job`).
        kinds: Run only jobs of these kinds; any by default.
        stop: Set to stop after the current job; never set by default.
        once: Return when no job is waiting (and let a database error through), rather
            than wait for more.
        poll_seconds: How long to wait when no job is waiting; the settings' by default.
        each_round: Called before each job is looked for (the retention schedule).
    """
    stop = stop or threading.Event()
    wait = svc.settings.worker_poll_seconds if poll_seconds is None else poll_seconds
    while not stop.is_set():
        if each_round is not None:
            each_round()
        try:
            ran = run_one_job(svc, worker_id, kinds=kinds)
        except Exception:  # the database may be briefly unavailable
            if once:
                raise
            logger.exception("worker loop error")
            ran = None
        if ran is None:
            if once:
                return
            stop.wait(wait)
