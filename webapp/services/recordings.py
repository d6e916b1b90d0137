"""Taking a recording in: checks, encryption at rest, queueing its processing.

A file is refused unless its first bytes are those of an audio container and it
really decodes; nothing is stored unless everything succeeds.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import IO, Any

import sqlalchemy as sa

from policies import BadInput
from webapp import db
from webapp.context import Services, aad
from webapp.pipeline import TRANSCRIBE, dispatch, enqueue
from webapp.services.access import require
from webapp.services.audit_trail import record
from webapp.services.auth import CurrentUser
from webapp.services.upload_details import (
    UploadDetails,
    check_details,
    cleaned,
    consent_of,
    participant_records,
)
from webapp.services.visit_language import VisitLanguage, check_visit_language
from webapp.storage import AUDIO_SUFFIX, new_blob_name
from webapp.text import clean_line

__all__ = [
    "UploadDetails",
    "create_recording",
    "sniff_audio_type",
]

logger = logging.getLogger(__name__)

_ACCEPTED = "WAV, FLAC, MP3, M4A, OGG or WebM"

#: Shortest recording worth transcribing, in seconds.
MIN_DURATION_S = 0.5


def sniff_audio_type(head: bytes) -> str | None:
    """Name the audio container from a file's first bytes, or ``None`` if not audio."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "webm"
    if head[4:8] == b"ftyp":
        return "mp4"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "mp3"
    return None


def _probe(path: Any, filename: str, max_duration_s: float) -> float | None:
    # The transcription package loads PyAV, NumPy and SciPy on import (over a second):
    # only a process that takes uploads in needs it.
    import transcribe

    try:
        info = transcribe.probe_audio(path, max_duration_s=max_duration_s)
    except transcribe.AudioError as exc:
        message = str(exc)
        if message.startswith(f"{path.name}:"):
            message = message[len(path.name) + 1 :].strip()
        raise BadInput(f"The file \u201c{filename}\u201d was refused: {message}") from None
    heard = info.duration
    if not heard:
        # The container states no length (a browser recording, a streamed WAV): decode
        # the first second to see whether there is any sound at all.
        heard = 0.0
        try:
            for chunk in transcribe.iter_chunks(path, 1.0, max_duration_s):
                heard = chunk.duration
                break
        except transcribe.AudioError:
            heard = 0.0
    if heard < MIN_DURATION_S:
        raise BadInput(
            f"The file \u201c{filename}\u201d holds no sound to transcribe (it lasts "
            f"{heard:.1f} seconds): nothing was stored. The recording may not "
            "have started; record or choose it again."
        )
    return info.duration


def _audio_type_of(stream: IO[bytes], filename: str) -> str:
    """Name the upload's audio container from its first bytes, and rewind it.

    Raises:
        BadInput: The file is empty or its contents are not audio.
    """
    head = stream.read(16)
    if not head:
        raise BadInput(
            f"The file \u201c{filename}\u201d is empty (0 bytes): nothing was stored. The "
            "recording may not have finished saving on the device; choose it again."
        )
    audio_type = sniff_audio_type(head)
    if audio_type is None:
        raise BadInput(
            f"The file \u201c{filename}\u201d is not a recording this app can read (its "
            f"contents are not audio, whatever its name says). Upload {_ACCEPTED}."
        )
    stream.seek(0)
    return audio_type


@dataclass(frozen=True)
class _StoredAudio:
    """An upload's audio, encrypted in the blob store and checked."""

    recording_id: str
    key: bytes
    wrapped: bytes
    blob: str
    audio_type: str
    size: int
    duration: float | None


def _insert_recording(
    svc: Services,
    conn: sa.Connection,
    audio: _StoredAudio,
    team_id: int,
    user: CurrentUser,
    details: UploadDetails,
    language: VisitLanguage,
    participants: list[dict[str, Any]],
) -> None:
    """Insert the recording's row, its details sealed with its data key."""
    seal = svc.vault.seal
    key, recording_id = audio.key, audio.recording_id
    conn.execute(
        sa.insert(db.recordings).values(
            id=recording_id,
            team_id=team_id,
            owner_id=user.id,
            visit_type=details.visit_type,
            visit_date=details.visit_date,
            case_ref_enc=seal(
                key,
                "recording",
                recording_id,
                "case_reference",
                details.case_reference.strip(),
            ),
            participants_enc=seal(key, "recording", recording_id, "participants", participants),
            wrapped_key=audio.wrapped,
            visit_language=language.code,
            interpreter_present=language.interpreter_present,
            interpreter_name_enc=seal(
                key,
                "recording",
                recording_id,
                "interpreter_name",
                language.interpreter_name,
            )
            if language.interpreter_name
            else None,
            audio_blob=audio.blob,
            audio_type=audio.audio_type,
            audio_bytes=audio.size,
            duration_s=audio.duration,
            status="queued",
            created_at=db.utcnow(),
        )
    )


def create_recording(
    svc: Services, user: CurrentUser, details: UploadDetails, stream: IO[bytes], filename: str
) -> str:
    """Check, encrypt and store an uploaded recording, and queue its processing.

    Args:
        svc: The app's services.
        user: The uploader.
        details: Case reference, visit type, date, participants and consent.
        stream: The file's contents, readable from the start.
        filename: The name the browser gave (shown in messages only, never stored).

    Returns:
        The new recording's id.

    Raises:
        Forbidden: The user may not upload, or policy forbids recording this visit type.
        BadInput: A detail is missing or wrong, or the file is not a usable recording.
    """
    require(user, "upload", "Your role cannot upload recordings.")
    details = cleaned(details)
    team_id = check_details(svc, user, details)
    language = check_visit_language(
        replace(details.language, interpreter_name=clean_line(details.language.interpreter_name))
    )
    filename = filename or "the recording"
    audio_type = _audio_type_of(stream, filename)
    recording_id = uuid.uuid4().hex
    key, wrapped = svc.vault.new_key(recording_id)
    blob = new_blob_name()
    store = svc.vault.store
    audio_aad = aad("recording", recording_id, "audio")
    size = store.put_stream(blob, key, stream, audio_aad, max_bytes=svc.settings.max_content_length)
    try:
        suffix = AUDIO_SUFFIX.get(audio_type, "")
        with store.decrypted_copy(blob, key, audio_aad, suffix=suffix) as plain:
            limit = svc.settings.transcribe_options().max_duration_s
            duration = _probe(plain, filename, limit)
        audio = _StoredAudio(recording_id, key, wrapped, blob, audio_type, size, duration)
        participants = participant_records(user, details)
        with svc.engine.begin() as conn:
            _insert_recording(svc, conn, audio, team_id, user, details, language, participants)
            job_id = enqueue(conn, recording_id, svc.settings.job_max_attempts)
            record(
                conn,
                user.id,
                user.username,
                "upload",
                "recording",
                recording_id,
                {
                    "bytes": size,
                    "type": audio_type,
                    "job": job_id,
                    "team_id": team_id,
                    "consent_methods": [m for m, _ in consent_of(details)],
                    "language": language.code or "en",
                    "interpreter": language.interpreter_present,
                },
            )
    except BaseException:
        store.delete(blob)
        raise
    logger.info("recording %s stored (%d bytes), job %s queued", recording_id, size, job_id)
    dispatch(svc, job_id, TRANSCRIBE)  # to the Celery workers, when a broker is configured
    return recording_id


def participants_of(svc: Services, rec: Any) -> Sequence[dict[str, str]]:
    """Decrypt a recording's participants."""
    key = svc.vault.data_key(rec.id, rec.wrapped_key)
    return svc.vault.open_json(key, "recording", rec.id, "participants", rec.participants_enc)
