"""Durable background jobs: transcribe a recording, then draft its note.

A job row moves ``queued`` → ``running`` (with a lease: worker id, ``lease_until``,
heartbeat) → ``done`` or ``failed`` (with a reason a person can read). A worker
claims a job with one conditional UPDATE, so two workers never both hold it; a
worker that dies (``kill -9``, a power cut) stops renewing its lease, and once the
lease has expired another worker claims the job again. Only the lease holder can
mark a job done, in the same transaction that stores the note, so a job finishes
exactly once.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from policies.errors import CarenotesError
from webapp import db
from webapp.context import Services, aad
from webapp.services.audit_trail import record
from webapp.services.notes import initial_work

__all__ = [
    "AUDIO_SUFFIX",
    "JobStatus",
    "LeaseLost",
    "enqueue",
    "job_status",
    "run_one_job",
    "transcribe_options",
]

logger = logging.getLogger(__name__)

#: File suffix for each sniffed audio type, for tools that go by the name.
AUDIO_SUFFIX = {
    "wav": ".wav",
    "flac": ".flac",
    "mp3": ".mp3",
    "ogg": ".ogg",
    "webm": ".webm",
    "mp4": ".m4a",
}


class LeaseLost(RuntimeError):
    """Another worker took the job over after this worker's lease expired."""


@dataclass(frozen=True)
class JobStatus:
    """What the page shows while a recording is processed.

    Attributes:
        state: ``queued``, ``running``, ``done`` or ``failed``.
        stage: ``queued``, ``transcribing``, ``drafting``, ``saving`` or ``done``.
        percent: Progress, 0 to 100.
        attempts: How many times a worker has started it.
        error: Why it failed, in words a person can act on.
    """

    state: str
    stage: str
    percent: int
    attempts: int
    error: str | None


def transcribe_options(settings: Any) -> Any:
    """The transcription options the background jobs use."""
    from transcribe.types import TranscribeOptions

    return TranscribeOptions(
        model=settings.transcribe_model,
        diarise=settings.transcribe_diarise,
        batch_size=settings.transcribe_batch_size,
    )


def enqueue(conn: sa.Connection, recording_id: str, max_attempts: int) -> int:
    """Queue the processing of a recording (in the caller's transaction)."""
    result = conn.execute(
        sa.insert(db.jobs).values(
            recording_id=recording_id,
            state="queued",
            attempts=0,
            max_attempts=max_attempts,
            stage="queued",
            progress=0.0,
            created_at=db.utcnow(),
        )
    )
    return int(result.inserted_primary_key[0])


def job_status(conn: sa.Connection, recording_id: str) -> JobStatus | None:
    """The latest job of a recording, or ``None`` if it has none."""
    row = conn.execute(
        sa.select(db.jobs)
        .where(db.jobs.c.recording_id == recording_id)
        .order_by(db.jobs.c.id.desc())
        .limit(1)
    ).one_or_none()
    if row is None:
        return None
    return JobStatus(
        state=row.state,
        stage=row.stage,
        percent=int(round(100 * row.progress)),
        attempts=row.attempts,
        error=row.error,
    )


def _claimable(now: Any) -> Any:
    return sa.or_(
        db.jobs.c.state == "queued",
        sa.and_(db.jobs.c.state == "running", db.jobs.c.lease_until < now),
    )


def _claim(svc: Services, worker_id: str, job_id: int | None = None) -> Any:
    now = db.utcnow()
    only = db.jobs.c.id == job_id if job_id is not None else sa.true()
    with svc.engine.connect() as conn:
        candidates = conn.execute(
            sa.select(db.jobs.c.id, db.jobs.c.attempts, db.jobs.c.max_attempts)
            .where(_claimable(now), only)
            .order_by(db.jobs.c.id)
            .limit(10)
        ).all()
        conn.rollback()
    for job_id, attempts, max_attempts in candidates:
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
                            f"Processing stopped unexpectedly {attempts} times. The recording "
                            "is kept; ask an administrator to check the server's memory and "
                            "logs, then upload it again."
                        ),
                    )
                )
                if gave_up.rowcount:
                    _set_recording_status(conn, job_id, "failed")
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
                    progress=0.0,
                    error=None,
                )
            )
            if claimed.rowcount == 1:
                return conn.execute(sa.select(db.jobs).where(db.jobs.c.id == job_id)).one()
    return None


def _set_recording_status(conn: sa.Connection, job_id: int, status: str) -> None:
    recording_id = sa.select(db.jobs.c.recording_id).where(db.jobs.c.id == job_id)
    conn.execute(
        sa.update(db.recordings)
        .where(db.recordings.c.id == recording_id.scalar_subquery())
        .values(status=status)
    )


def _renew(svc: Services, job_id: int, worker_id: str, values: dict[str, Any]) -> bool:
    now = db.utcnow()
    with svc.engine.begin() as conn:
        updated = conn.execute(
            sa.update(db.jobs)
            .where(
                db.jobs.c.id == job_id,
                db.jobs.c.worker_id == worker_id,
                db.jobs.c.state == "running",
            )
            .values(
                heartbeat_at=now,
                lease_until=now + timedelta(seconds=svc.settings.job_lease_seconds),
                **values,
            )
        )
    return updated.rowcount == 1


class _Heartbeat:
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
                if not _renew(self.svc, self.job_id, self.worker_id, {}):
                    self.lost = True
                    return
            except Exception:  # a database hiccup: try again at the next beat
                logger.warning("job %s: heartbeat failed; retrying", self.job_id)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


class _Reporter:
    """Writes stage and progress, renewing the lease; notices a lost lease."""

    def __init__(self, svc: Services, job_id: int, worker_id: str, beat: _Heartbeat) -> None:
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
        if not _renew(self.svc, self.job_id, self.worker_id, values):
            raise LeaseLost(f"job {self.job_id} was taken over by another worker")


def _process(svc: Services, job: Any, report: _Reporter) -> tuple[dict[str, Any], dict[str, Any]]:
    import summarise

    with svc.engine.connect() as conn:
        rec = conn.execute(
            sa.select(db.recordings).where(db.recordings.c.id == job.recording_id)
        ).one()
    template = svc.templates.get(rec.visit_type)
    if template is None:
        raise CarenotesError(
            f"The template {rec.visit_type!r} no longer exists; ask an administrator to "
            "restore it, then upload the recording again."
        )
    key = svc.vault.data_key(rec.id, rec.wrapped_key)
    report("loading models", 0.02, force=True)
    transcriber = svc.model("transcriber")
    drafter = svc.model("drafter")
    report("transcribing", 0.05, force=True)
    suffix = AUDIO_SUFFIX.get(rec.audio_type, "")
    audio_aad = aad("recording", rec.id, "audio")
    with svc.vault.store.decrypted_copy(rec.audio_blob, key, audio_aad, suffix=suffix) as path:
        transcript = transcriber.transcribe(
            str(path),
            transcribe_options(svc.settings),
            lambda f: report("transcribing", 0.05 + 0.55 * f),
        )
    report("drafting", 0.6, force=True)
    draft = summarise.draft_note(
        transcript, template, drafter, lambda f: report("drafting", 0.6 + 0.35 * f)
    )
    report("saving", 0.97, force=True)
    transcript_dict = transcript.to_dict()
    transcript_dict["source"] = ""  # the temporary file's name means nothing
    return transcript_dict, draft.to_dict()


def _finish(svc: Services, job: Any, worker_id: str, transcript: dict, draft: dict) -> bool:
    now = db.utcnow()
    with svc.engine.begin() as conn:
        done = conn.execute(
            sa.update(db.jobs)
            .where(
                db.jobs.c.id == job.id,
                db.jobs.c.worker_id == worker_id,
                db.jobs.c.state == "running",
            )
            .values(state="done", stage="done", progress=1.0, finished_at=now, lease_until=None)
        )
        if done.rowcount != 1:
            conn.rollback()
            return False
        exists = conn.execute(
            sa.select(db.notes.c.id).where(db.notes.c.recording_id == job.recording_id)
        ).first()
        if exists is None:
            rec = conn.execute(
                sa.select(db.recordings.c.id, db.recordings.c.wrapped_key).where(
                    db.recordings.c.id == job.recording_id
                )
            ).one()
            key = svc.vault.data_key(rec.id, rec.wrapped_key)
            note_id = uuid.uuid4().hex
            seal = svc.vault.seal
            conn.execute(
                sa.insert(db.notes).values(
                    id=note_id,
                    recording_id=rec.id,
                    transcript_enc=seal(key, "note", note_id, "transcript", transcript),
                    draft_enc=seal(key, "note", note_id, "draft", draft),
                    work_enc=seal(key, "note", note_id, "work", initial_work(draft, transcript)),
                    version=1,
                    state="draft",
                    created_at=now,
                    updated_at=now,
                    policy_version=svc.policy.version,
                )
            )
            record(conn, None, "system", "draft_created", "note", note_id, {"job": job.id})
        conn.execute(
            sa.update(db.recordings)
            .where(db.recordings.c.id == job.recording_id)
            .values(status="draft_ready")
        )
    return True


def _fail(svc: Services, job: Any, worker_id: str, message: str, retry: bool) -> None:
    now = db.utcnow()
    final = not retry or job.attempts >= job.max_attempts
    with svc.engine.begin() as conn:
        updated = conn.execute(
            sa.update(db.jobs)
            .where(
                db.jobs.c.id == job.id,
                db.jobs.c.worker_id == worker_id,
                db.jobs.c.state == "running",
            )
            .values(
                state="failed" if final else "queued",
                stage="failed" if final else "queued",
                error=message,
                lease_until=None,
                finished_at=now if final else None,
            )
        )
        if updated.rowcount and final:
            _set_recording_status(conn, job.id, "failed")
            record(
                conn, None, "system", "job_failed", "recording", job.recording_id, {"job": job.id}
            )


def run_one_job(
    svc: Services, worker_id: str | None = None, job_id: int | None = None
) -> int | None:
    """Claim and run one job, if any is waiting; return its id.

    Args:
        svc: The app's services (``app.extensions["carenotes"]``).
        worker_id: Name of this worker; host and process id by default.
        job_id: Run only this job (a Celery task's), if it is waiting; any by default.

    Returns:
        The id of the job run (whatever its outcome), or ``None`` if none was waiting.
    """
    worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
    job = _claim(svc, worker_id, job_id)
    if job is None:
        return None
    logger.info("worker %s running job %s (attempt %s)", worker_id, job.id, job.attempts)
    try:
        with _Heartbeat(svc, job.id, worker_id) as beat:
            transcript, draft = _process(svc, job, _Reporter(svc, job.id, worker_id, beat))
        if not _finish(svc, job, worker_id, transcript, draft):
            logger.warning("job %s was finished by another worker; result dropped", job.id)
    except LeaseLost:
        logger.warning("job %s: lease lost; another worker carries on", job.id)
    except CarenotesError as exc:
        logger.info("job %s failed: %s", job.id, type(exc).__name__)
        _fail(svc, job, worker_id, str(exc), retry=False)
    except Exception as exc:  # a bug or a crash in a model: keep the worker alive
        logger.exception("job %s failed unexpectedly", job.id)
        _fail(
            svc,
            job,
            worker_id,
            f"Processing failed unexpectedly ({type(exc).__name__}). It will be retried "
            "automatically; if it keeps failing, tell an administrator.",
            retry=True,
        )
    return int(job.id)
