"""Leases: how a worker claims a job, keeps it while it works, and ends it.

A worker claims a job with one conditional UPDATE, so two workers never both hold it;
while it works it renews its lease (a heartbeat, and every progress report). A worker
that dies (``kill -9``, a power cut) stops renewing, and once the lease has expired
another worker claims the job again. Only the lease holder can mark a job done or
failed, so a job finishes exactly once.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from webapp import db
from webapp.context import Services
from webapp.pipeline.queue import DRAFT, DRAFT_FROM, set_recording_status
from webapp.services.audit_trail import record

__all__ = ["Heartbeat", "LeaseLost", "Reporter", "claim", "fail", "mark_done", "renew"]

logger = logging.getLogger(__name__)


class LeaseLost(RuntimeError):
    """Another worker took the job over after this worker's lease expired."""


def _claimable(now: Any) -> Any:
    return sa.or_(
        db.jobs.c.state == "queued",
        sa.and_(db.jobs.c.state == "running", db.jobs.c.lease_until < now),
    )


def _held_by(job_id: int, worker_id: str) -> Any:
    """The job, while ``worker_id`` still holds it (an UPDATE's condition)."""
    return sa.and_(
        db.jobs.c.id == job_id, db.jobs.c.worker_id == worker_id, db.jobs.c.state == "running"
    )


def claim(svc: Services, worker_id: str, job_id: int | None, kinds: tuple[str, ...] | None) -> Any:
    """Take a waiting job (or one whose lease expired) for ``worker_id``; its row, or ``None``.

    A job whose workers kept dying (``max_attempts`` starts) is marked failed instead.
    """
    now = db.utcnow()
    only = db.jobs.c.id == job_id if job_id is not None else sa.true()
    of_kind = db.jobs.c.kind.in_(kinds) if kinds else sa.true()
    # Drafting first: a recording already transcribed is nearest to its practitioner.
    drafts_first = sa.case((db.jobs.c.kind == DRAFT, 0), else_=1)
    with svc.engine.connect() as conn:
        candidates = conn.execute(
            sa.select(db.jobs.c.id, db.jobs.c.kind, db.jobs.c.attempts, db.jobs.c.max_attempts)
            .where(_claimable(now), only, of_kind)
            .order_by(drafts_first, db.jobs.c.id)
            .limit(10)
        ).all()
        conn.rollback()
    for job_id, kind, attempts, max_attempts in candidates:
        lease = now + timedelta(seconds=svc.settings.job_lease_seconds)
        with svc.engine.begin() as conn:
            if attempts >= max_attempts:
                # Its workers kept dying: stop retrying rather than loop for ever.
                gave_up = conn.execute(
                    sa.update(db.jobs)
                    .where(db.jobs.c.id == job_id, _claimable(now))
                    .values(
                        state="failed",
                        stage="failed",
                        lease_until=None,
                        finished_at=now,
                        error=(
                            f"{'Drafting' if kind == DRAFT else 'Transcription'} stopped "
                            f"unexpectedly {attempts} times. The recording is kept: ask an "
                            "administrator to check the server's memory and logs, then use "
                            "Try again."
                        ),
                    )
                )
                if gave_up.rowcount:
                    set_recording_status(conn, job_id, "failed")
                continue
            claimed = conn.execute(
                sa.update(db.jobs)
                .where(db.jobs.c.id == job_id, _claimable(now))
                .values(
                    state="running",
                    worker_id=worker_id,
                    lease_until=lease,
                    heartbeat_at=now,
                    attempts=db.jobs.c.attempts + 1,
                    started_at=sa.func.coalesce(db.jobs.c.started_at, now),
                    stage="starting",
                    progress=DRAFT_FROM if kind == DRAFT else 0.0,
                    error=None,
                )
            )
            if claimed.rowcount == 1:
                return conn.execute(sa.select(db.jobs).where(db.jobs.c.id == job_id)).one()
    return None


def renew(svc: Services, job_id: int, worker_id: str, values: dict[str, Any]) -> bool:
    """Extend this worker's lease on a job, writing ``values`` too; False if it lost it."""
    now = db.utcnow()
    with svc.engine.begin() as conn:
        updated = conn.execute(
            sa.update(db.jobs)
            .where(_held_by(job_id, worker_id))
            .values(
                heartbeat_at=now,
                lease_until=now + timedelta(seconds=svc.settings.job_lease_seconds),
                **values,
            )
        )
    return updated.rowcount == 1


class Heartbeat:
    """Renews the lease every third of its length while a model works without a word."""

    def __init__(self, svc: Services, job_id: int, worker_id: str) -> None:
        self.svc, self.job_id, self.worker_id = svc, job_id, worker_id
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{job_id}", daemon=True)

    def _run(self) -> None:
        interval = max(0.2, self.svc.settings.job_lease_seconds / 3)
        while not self._stop.wait(interval):
            try:
                if not renew(self.svc, self.job_id, self.worker_id, {}):
                    self.lost = True
                    return
            except Exception:  # a database hiccup: try again at the next beat
                logger.warning("job %s: heartbeat failed; retrying", self.job_id)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


class Reporter:
    """Writes stage and progress, renewing the lease; notices a lost lease."""

    def __init__(self, svc: Services, job_id: int, worker_id: str, beat: Heartbeat) -> None:
        self.svc, self.job_id, self.worker_id = svc, job_id, worker_id
        self.beat = beat
        self._last = 0.0
        self._stage = ""

    def __call__(self, stage: str, fraction: float, force: bool = False) -> None:
        if self.beat.lost:
            raise LeaseLost(f"job {self.job_id} was taken over by another worker")
        now_mono = time.monotonic()
        if not force and stage == self._stage and now_mono - self._last < 0.5:
            return
        self._last, self._stage = now_mono, stage
        values = {"stage": stage, "progress": max(0.0, min(1.0, fraction))}
        if not renew(self.svc, self.job_id, self.worker_id, values):
            raise LeaseLost(f"job {self.job_id} was taken over by another worker")


def mark_done(conn: sa.Connection, job: Any, worker_id: str, now: Any) -> bool:
    """End the job as done, if this worker still holds it (else nothing changes)."""
    done = conn.execute(
        sa.update(db.jobs)
        .where(_held_by(job.id, worker_id))
        .values(state="done", stage="done", progress=1.0, finished_at=now, lease_until=None)
    )
    return done.rowcount == 1


def fail(svc: Services, job: Any, worker_id: str, message: str, retry: bool) -> None:
    """End the job as failed with ``message``, or queue it again if ``retry`` and starts remain.

    Nothing changes if this worker no longer holds the job.
    """
    now = db.utcnow()
    final = not retry or job.attempts >= job.max_attempts
    with svc.engine.begin() as conn:
        updated = conn.execute(
            sa.update(db.jobs)
            .where(_held_by(job.id, worker_id))
            .values(
                state="failed" if final else "queued",
                stage="failed" if final else "queued",
                error=message,
                lease_until=None,
                finished_at=now if final else None,
            )
        )
        if updated.rowcount and final:
            set_recording_status(conn, job.id, "failed")
            record(
                conn, None, "system", "job_failed", "recording", job.recording_id, {"job": job.id}
            )
