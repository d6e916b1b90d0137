"""Durable background jobs: transcribe a recording, then draft its note.

Each recording goes through two jobs, each of its own ``kind`` so that a council can
run them on different machines (Whisper on a GPU server, drafting on CPU workers):

* ``transcribe`` decrypts the audio to a temporary file, transcribes it, and keeps the
  transcript on the recording, sealed with the recording's key. In the same
  transaction it queues the ``draft`` job.
* ``draft`` opens that transcript, drafts the note, and writes the note while
  clearing the recording's copy, in one transaction.

If drafting fails, the transcript is kept, so trying again does not transcribe again.

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
from dataclasses import dataclass, replace
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
    "DRAFT",
    "KINDS",
    "TRANSCRIBE",
    "JobStatus",
    "LeaseLost",
    "enqueue",
    "job_status",
    "queue_for",
    "retry",
    "speaker_options",
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


#: The job that transcribes a recording.
TRANSCRIBE = "transcribe"
#: The job that drafts a transcribed recording's note.
DRAFT = "draft"
#: Every kind of job, in the order a recording goes through them.
KINDS = (TRANSCRIBE, DRAFT)

# Where drafting starts on the page's one progress bar: on a CPU, drafting takes most of
# the time (about 5 s of drafting to 2 s of transcribing a 25 s recording with tiny.en).
_DRAFT_FROM = 0.3


def queue_for(settings: Any, kind: str) -> str:
    """The Celery queue a job of ``kind`` is sent to (from the settings)."""
    return str(settings.draft_queue if kind == DRAFT else settings.transcribe_queue)


class LeaseLost(RuntimeError):
    """Another worker took the job over after this worker's lease expired."""


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


def transcribe_options(settings: Any) -> Any:
    """The transcription options the background jobs use."""
    from transcribe.types import TranscribeOptions

    return TranscribeOptions(
        model=settings.transcribe_model,
        diarise=settings.transcribe_diarise,
        batch_size=settings.transcribe_batch_size,
    )


#: Most speakers looked for in one recording, however many people were listed.
_MOST_SPEAKERS = 12


def speaker_options(options: Any, present: int) -> Any:
    """Fit the speaker labelling to the number of people listed as present.

    Everyone recorded must be listed (their consent is recorded), so the list bounds
    the number of voices: a dictation by the worker alone gets one speaker rather than
    being split in two, and a meeting of eight may have more than the default six.

    Args:
        options: The settings' transcription options.
        present: How many participants the upload listed.

    Returns:
        The options with ``num_speakers`` or ``max_speakers`` set.
    """
    if present == 1:
        return replace(options, num_speakers=1)
    if present >= 2:
        return replace(options, max_speakers=min(present, _MOST_SPEAKERS))
    return options


def lone_speaker_as_participant(transcript: Any, participants: list[dict[str, Any]]) -> Any:
    """Label a one-voice recording's speaker with the one participant's role.

    A dictation has one participant and one voice: saying whose it is ("social
    worker") lets drafting treat the words as the worker's own account, not as the
    person's (no "quote" of the worker as the person's words).
    """
    voices = {s.speaker for s in transcript.segments if s.speaker}
    role = (participants[0].get("role") or "").strip().lower() if len(participants) == 1 else ""
    if not role or len(voices) > 1:
        return transcript
    segments = tuple(replace(s, speaker=role) for s in transcript.segments)
    return replace(transcript, segments=segments, speakers=(role,))


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
            progress=0.0 if kind == TRANSCRIBE else _DRAFT_FROM,
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


def _claimable(now: Any) -> Any:
    return sa.or_(
        db.jobs.c.state == "queued",
        sa.and_(db.jobs.c.state == "running", db.jobs.c.lease_until < now),
    )


def _claim(svc: Services, worker_id: str, job_id: int | None, kinds: tuple[str, ...] | None) -> Any:
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
                    progress=_DRAFT_FROM if kind == DRAFT else 0.0,
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


def _recording(svc: Services, job: Any) -> Any:
    with svc.engine.connect() as conn:
        rec = conn.execute(
            sa.select(db.recordings).where(db.recordings.c.id == job.recording_id)
        ).one()
        conn.rollback()
    return rec


def _transcribe(svc: Services, job: Any, report: _Reporter) -> dict[str, Any]:
    rec = _recording(svc, job)
    if rec.audio_blob is None:
        raise CarenotesError(
            "The audio of this recording has been deleted, so it cannot be transcribed. "
            "Upload it again if you still have it."
        )
    key = svc.vault.data_key(rec.id, rec.wrapped_key)
    report("loading models", 0.02, force=True)
    transcriber = svc.model("transcriber")
    report("transcribing", 0.05, force=True)
    suffix = AUDIO_SUFFIX.get(rec.audio_type, "")
    audio_aad = aad("recording", rec.id, "audio")
    present = len(
        svc.vault.open_json(key, "recording", rec.id, "participants", rec.participants_enc)
    )
    options = speaker_options(transcribe_options(svc.settings), present)
    with svc.vault.store.decrypted_copy(rec.audio_blob, key, audio_aad, suffix=suffix) as path:
        transcript = transcriber.transcribe(
            str(path),
            options,
            lambda f: report("transcribing", 0.05 + (_DRAFT_FROM - 0.07) * f),
        )
    report("saving", _DRAFT_FROM - 0.01, force=True)
    transcript_dict: dict[str, Any] = transcript.to_dict()
    transcript_dict["source"] = ""  # the temporary file's name means nothing
    return transcript_dict


def _draft(svc: Services, job: Any, report: _Reporter) -> tuple[dict[str, Any], dict[str, Any]]:
    import summarise
    from transcribe.types import Transcript

    rec = _recording(svc, job)
    template = svc.templates.get(rec.visit_type)
    if template is None:
        raise CarenotesError(
            f"The template {rec.visit_type!r} no longer exists; ask an administrator to "
            "restore it, then use Try again."
        )
    if rec.transcript_enc is None:
        raise CarenotesError(
            "The transcript of this recording is missing, so there is nothing to draft "
            "from. Use Try again to transcribe the recording again."
        )
    key = svc.vault.data_key(rec.id, rec.wrapped_key)
    transcript_dict = svc.vault.open_json(
        key, "recording", rec.id, "transcript", rec.transcript_enc
    )
    participants = svc.vault.open_json(
        key, "recording", rec.id, "participants", rec.participants_enc
    )
    transcript = lone_speaker_as_participant(Transcript.from_dict(transcript_dict), participants)
    transcript_dict = transcript.to_dict()
    span = 0.97 - _DRAFT_FROM - 0.05
    report("loading models", _DRAFT_FROM + 0.01, force=True)
    drafter = svc.model("drafter")
    report("drafting", _DRAFT_FROM + 0.03, force=True)
    draft = summarise.draft_note(
        transcript,
        template,
        drafter,
        lambda f: report("drafting", _DRAFT_FROM + 0.03 + span * f),
        participants=[p for p in participants if isinstance(p, dict)],
        options=summarise.DraftOptions(mode=svc.settings.draft_mode),
    )
    report("saving", 0.97, force=True)
    return transcript_dict, draft.to_dict()


def _mark_done(conn: sa.Connection, job: Any, worker_id: str, now: Any) -> bool:
    """End the job as done, if this worker still holds it (else nothing changes)."""
    done = conn.execute(
        sa.update(db.jobs)
        .where(
            db.jobs.c.id == job.id,
            db.jobs.c.worker_id == worker_id,
            db.jobs.c.state == "running",
        )
        .values(state="done", stage="done", progress=1.0, finished_at=now, lease_until=None)
    )
    return done.rowcount == 1


def _data_key(svc: Services, conn: sa.Connection, recording_id: str) -> bytes:
    rec = conn.execute(
        sa.select(db.recordings.c.id, db.recordings.c.wrapped_key).where(
            db.recordings.c.id == recording_id
        )
    ).one()
    return svc.vault.data_key(rec.id, rec.wrapped_key)


def _finish_transcription(svc: Services, job: Any, worker_id: str, transcript: dict) -> int | None:
    """Keep the transcript and queue the drafting job; return that job's id.

    Returns ``None`` (and changes nothing) if another worker has taken the job over.
    """
    with svc.engine.begin() as conn:
        if not _mark_done(conn, job, worker_id, db.utcnow()):
            conn.rollback()
            return None
        key = _data_key(svc, conn, job.recording_id)
        sealed = svc.vault.seal(key, "recording", job.recording_id, "transcript", transcript)
        conn.execute(
            sa.update(db.recordings)
            .where(db.recordings.c.id == job.recording_id)
            .values(transcript_enc=sealed, status="transcribed")
        )
        return enqueue(conn, job.recording_id, job.max_attempts, DRAFT)


def _finish_draft(svc: Services, job: Any, worker_id: str, transcript: dict, draft: dict) -> bool:
    now = db.utcnow()
    with svc.engine.begin() as conn:
        if not _mark_done(conn, job, worker_id, now):
            conn.rollback()
            return False
        exists = conn.execute(
            sa.select(db.notes.c.id).where(db.notes.c.recording_id == job.recording_id)
        ).first()
        if exists is None:
            key = _data_key(svc, conn, job.recording_id)
            note_id = uuid.uuid4().hex
            seal = svc.vault.seal
            conn.execute(
                sa.insert(db.notes).values(
                    id=note_id,
                    recording_id=job.recording_id,
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
        # The note holds the transcript now; the copy between the stages goes.
        conn.execute(
            sa.update(db.recordings)
            .where(db.recordings.c.id == job.recording_id)
            .values(status="draft_ready", transcript_enc=None)
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
    job = _claim(svc, worker_id, job_id, kinds)
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
        from webapp.dispatch import dispatch

        dispatch(svc, next_job, DRAFT)  # to the drafting workers, when Celery is in use
    return int(job.id)


def _run_claimed(svc: Services, job: Any, worker_id: str) -> int | None:
    """Run a claimed job to its end; return the drafting job a transcription queued."""
    next_job = None
    try:
        with _Heartbeat(svc, job.id, worker_id) as beat:
            report = _Reporter(svc, job.id, worker_id, beat)
            if job.kind == DRAFT:
                transcript, draft = _draft(svc, job, report)
                finished = _finish_draft(svc, job, worker_id, transcript, draft)
            else:
                next_job = _finish_transcription(svc, job, worker_id, _transcribe(svc, job, report))
                finished = next_job is not None
        if not finished:
            logger.warning("job %s was finished by another worker; result dropped", job.id)
    except LeaseLost:
        logger.warning("job %s: lease lost; another worker carries on", job.id)
    except CarenotesError as exc:
        logger.info("job %s failed: %s", job.id, type(exc).__name__)
        # A model server that is down may be back soon; anything else will fail again.
        _fail(svc, job, worker_id, str(exc), retry=bool(getattr(exc, "retryable", False)))
    except Exception as exc:  # a bug or a crash in a model: keep the worker alive
        logger.exception("job %s failed unexpectedly", job.id)
        _fail(
            svc,
            job,
            worker_id,
            f"{'Drafting' if job.kind == DRAFT else 'Transcription'} failed unexpectedly "
            f"({type(exc).__name__}). It will be retried automatically; if it keeps "
            "failing, tell an administrator.",
            retry=True,
        )
    return next_job


def retry(svc: Services, recording_id: str, user_id: int, username: str) -> tuple[int, str]:
    """Queue a failed recording again, from the stage that failed.

    A recording whose transcript is kept is drafted again; one without is transcribed
    again (its audio must still exist). The caller checks who may do this.

    Args:
        svc: The app's services.
        recording_id: The recording whose processing failed.
        user_id: Who asked (for the audit trail).
        username: Their user name.

    Returns:
        The new job's id and kind.

    Raises:
        InvalidTransition: The recording has not failed, or nothing is left to retry.
    """
    from policies.errors import InvalidTransition

    with svc.engine.begin() as conn:
        rec = conn.execute(
            sa.select(
                db.recordings.c.status, db.recordings.c.audio_blob, db.recordings.c.transcript_enc
            ).where(db.recordings.c.id == recording_id)
        ).one()
        if rec.status != "failed":
            raise InvalidTransition(
                "Only a recording whose processing failed can be tried again; this one is "
                f"{rec.status.replace('_', ' ')}."
            )
        kind = DRAFT if rec.transcript_enc is not None else TRANSCRIBE
        if kind == TRANSCRIBE and rec.audio_blob is None:
            raise InvalidTransition(
                "The audio of this recording has been deleted, so it cannot be processed "
                "again. Upload it again if you still have it."
            )
        # The status check and this update are one step, so a double click queues once.
        changed = conn.execute(
            sa.update(db.recordings)
            .where(db.recordings.c.id == recording_id, db.recordings.c.status == "failed")
            .values(status="queued" if kind == TRANSCRIBE else "transcribed")
        ).rowcount
        if changed != 1:
            raise InvalidTransition("This recording has already been queued again.")
        job_id = enqueue(conn, recording_id, svc.settings.job_max_attempts, kind)
        record(conn, user_id, username, "job_retried", "recording", recording_id, {"job": job_id})
    from webapp.dispatch import dispatch

    dispatch(svc, job_id, kind)
    return job_id, kind
