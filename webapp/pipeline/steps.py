"""The two stages of a recording's processing: transcribe it, then draft its note.

* ``transcribe`` decrypts the audio to a temporary file, transcribes it, and keeps the
  transcript on the recording, sealed with the recording's key. In the same
  transaction it queues the ``draft`` job.
* ``draft`` opens that transcript, drafts the note, and writes the note while
  clearing the recording's copy, in one transaction.

If drafting fails, the transcript is kept, so trying again does not transcribe again.
Each stage's result is stored in the same transaction that marks its job done, and
only while the worker still holds the job's lease.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from policies import CarenotesError
from webapp import db
from webapp.context import Services, aad
from webapp.pipeline.lease import mark_done
from webapp.pipeline.queue import DRAFT, DRAFT_FROM, enqueue
from webapp.services.audit_trail import record
from webapp.services.note_items import initial_work
from webapp.services.sealed_notes import open_transcript, seal_draft, seal_transcript
from webapp.services.visit_language import (
    keep_detected_language,
    transcriber_for,
    visit_options,
)
from webapp.storage import AUDIO_SUFFIX

if TYPE_CHECKING:
    from summarise import Draft
    from transcribe import Transcript

__all__ = [
    "draft_recording",
    "finish_draft",
    "finish_transcription",
    "lone_speaker_as_participant",
    "speaker_options",
    "transcribe_recording",
]

#: Reports a stage and the fraction done (``stage, fraction, force=False``).
Report = Callable[..., None]

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


def lone_speaker_as_participant(
    transcript: Transcript, participants: list[dict[str, Any]]
) -> Transcript:
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
    turns = tuple(replace(t, speaker=role) for t in transcript.turns)
    return replace(transcript, segments=segments, speakers=(role,), turns=turns)


def _recording(svc: Services, job: Any) -> Any:
    with svc.engine.connect() as conn:
        rec = conn.execute(
            sa.select(db.recordings).where(db.recordings.c.id == job.recording_id)
        ).one()
        conn.rollback()
    return rec


def transcribe_recording(svc: Services, job: Any, report: Report) -> Transcript:
    """Transcribe a transcription job's recording; return the transcript.

    Raises:
        CarenotesError: The audio has been deleted (the message says what to do).
    """
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
    options = visit_options(
        svc, rec, key, speaker_options(svc.settings.transcribe_options(), present)
    )
    with svc.vault.store.decrypted_copy(rec.audio_blob, key, audio_aad, suffix=suffix) as path:
        transcript = transcriber_for(transcriber, options).transcribe(
            str(path),
            options,
            lambda f: report("transcribing", 0.05 + (DRAFT_FROM - 0.07) * f),
        )
    keep_detected_language(svc, rec, transcript)
    report("saving", DRAFT_FROM - 0.01, force=True)
    # A visit in another language is drafted from the English, the original beside it.
    return replace(transcript.english(), source="")  # the temporary file's name means nothing


def draft_recording(svc: Services, job: Any, report: Report) -> tuple[Transcript, Draft]:
    """Draft a drafting job's note from its recording's transcript.

    Returns:
        The transcript (its lone speaker named, see :func:`lone_speaker_as_participant`)
        and the draft.

    Raises:
        CarenotesError: The template or the transcript is missing (the message says
            what to do).
    """
    # The drafting and transcription packages load PyAV, NumPy and SciPy on import (over
    # a second): the web app, which imports this package to queue jobs, does without them.
    import summarise

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
    stored = open_transcript(svc.vault, key, "recording", rec.id, rec.transcript_enc)
    participants = svc.vault.open_json(
        key, "recording", rec.id, "participants", rec.participants_enc
    )
    transcript = lone_speaker_as_participant(stored, participants)
    span = 0.97 - DRAFT_FROM - 0.05
    report("loading models", DRAFT_FROM + 0.01, force=True)
    drafter = svc.model("drafter")
    report("drafting", DRAFT_FROM + 0.03, force=True)
    draft = summarise.draft_note(
        transcript,
        template,
        drafter,
        lambda f: report("drafting", DRAFT_FROM + 0.03 + span * f),
        participants=[p for p in participants if isinstance(p, dict)],
        options=summarise.DraftOptions(mode=svc.settings.draft_mode),
    )
    report("saving", 0.97, force=True)
    return transcript, draft


def _data_key(svc: Services, conn: sa.Connection, recording_id: str) -> bytes:
    rec = conn.execute(
        sa.select(db.recordings.c.id, db.recordings.c.wrapped_key).where(
            db.recordings.c.id == recording_id
        )
    ).one()
    return svc.vault.data_key(rec.id, rec.wrapped_key)


def finish_transcription(
    svc: Services, job: Any, worker_id: str, transcript: Transcript
) -> int | None:
    """Keep the transcript and queue the drafting job; return that job's id.

    Returns ``None`` (and changes nothing) if another worker has taken the job over.
    """
    with svc.engine.begin() as conn:
        if not mark_done(conn, job, worker_id, db.utcnow()):
            conn.rollback()
            return None
        key = _data_key(svc, conn, job.recording_id)
        sealed = seal_transcript(svc.vault, key, "recording", job.recording_id, transcript)
        conn.execute(
            sa.update(db.recordings)
            .where(db.recordings.c.id == job.recording_id)
            .values(transcript_enc=sealed, status="transcribed")
        )
        return enqueue(conn, job.recording_id, job.max_attempts, DRAFT)


def finish_draft(
    svc: Services, job: Any, worker_id: str, transcript: Transcript, draft: Draft
) -> bool:
    """Store the drafted note and clear the recording's transcript; False if the job was lost."""
    now = db.utcnow()
    with svc.engine.begin() as conn:
        if not mark_done(conn, job, worker_id, now):
            conn.rollback()
            return False
        exists = conn.execute(
            sa.select(db.notes.c.id).where(db.notes.c.recording_id == job.recording_id)
        ).first()
        if exists is None:
            key = _data_key(svc, conn, job.recording_id)
            note_id = uuid.uuid4().hex
            vault = svc.vault
            conn.execute(
                sa.insert(db.notes).values(
                    id=note_id,
                    recording_id=job.recording_id,
                    transcript_enc=seal_transcript(vault, key, "note", note_id, transcript),
                    draft_enc=seal_draft(vault, key, note_id, draft),
                    work_enc=vault.seal(
                        key, "note", note_id, "work", initial_work(draft, transcript)
                    ),
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
