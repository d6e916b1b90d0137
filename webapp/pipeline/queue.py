"""The job queue: the kinds of job, queueing one, and what a recording's latest job says.

A job row moves ``queued`` → ``running`` (with a lease, see :mod:`webapp.pipeline.lease`)
→ ``done`` or ``failed`` (with a reason a person can read). The row is the source of
truth: the in-process worker, ``carenotes worker`` and the Celery workers all claim
jobs from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from webapp import db

__all__ = [
    "DRAFT",
    "DRAFT_FROM",
    "KINDS",
    "TRANSCRIBE",
    "JobStatus",
    "enqueue",
    "job_status",
    "queue_for",
    "set_recording_status",
]

#: The job that transcribes a recording.
TRANSCRIBE = "transcribe"
#: The job that drafts a transcribed recording's note.
DRAFT = "draft"
#: Every kind of job, in the order a recording goes through them.
KINDS = (TRANSCRIBE, DRAFT)

#: Where drafting starts on the page's one progress bar: on a CPU, drafting takes most of
#: the time (about 5 s of drafting to 2 s of transcribing a 25 s recording with tiny.en).
DRAFT_FROM = 0.3


def queue_for(settings: Any, kind: str) -> str:
    """The Celery queue a job of ``kind`` is sent to (from the settings)."""
    return str(settings.draft_queue if kind == DRAFT else settings.transcribe_queue)


@dataclass(frozen=True)
class JobStatus:
    """What the page shows while a recording is processed.

    Attributes:
        state: ``queued``, ``running``, ``done`` or ``failed``.
        kind: ``transcribe`` or ``draft``: which of the recording's jobs this is.
        stage: ``queued``, ``transcribing``, ``waiting to draft``, ``drafting``,
            ``saving``, ``done`` or ``failed``.
        percent: Progress, 0 to 100.
        attempts: How many times a worker has started it.
        error: Why it failed, in words a person can act on.
    """

    state: str
    kind: str
    stage: str
    percent: int
    attempts: int
    error: str | None


def enqueue(
    conn: sa.Connection, recording_id: str, max_attempts: int, kind: str = TRANSCRIBE
) -> int:
    """Queue one stage of a recording's processing (in the caller's transaction).

    Args:
        conn: A connection in the caller's transaction.
        recording_id: The recording.
        max_attempts: Starts after which a job whose workers keep dying stays failed.
        kind: ``transcribe`` (a new upload) or ``draft`` (its transcript is stored).

    Returns:
        The new job's id.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    result = conn.execute(
        sa.insert(db.jobs).values(
            recording_id=recording_id,
            kind=kind,
            state="queued",
            attempts=0,
            max_attempts=max_attempts,
            stage="queued" if kind == TRANSCRIBE else "waiting to draft",
            progress=0.0 if kind == TRANSCRIBE else DRAFT_FROM,
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
        kind=row.kind,
        stage=row.stage,
        percent=int(round(100 * row.progress)),
        attempts=row.attempts,
        error=row.error,
    )


def set_recording_status(conn: sa.Connection, job_id: int, status: str) -> None:
    """Set the status of the recording a job belongs to (in the caller's transaction)."""
    recording_id = sa.select(db.jobs.c.recording_id).where(db.jobs.c.id == job_id)
    conn.execute(
        sa.update(db.recordings)
        .where(db.recordings.c.id == recording_id.scalar_subquery())
        .values(status=status)
    )
