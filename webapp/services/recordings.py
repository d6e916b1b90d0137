"""Taking a recording in: checks, encryption at rest, queueing its processing.

A file is refused unless its first bytes are those of an audio container and it
really decodes; nothing is stored unless everything succeeds.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import IO, Any

import sqlalchemy as sa

from policies import BadInput, Forbidden
from webapp import db
from webapp.context import Services, aad
from webapp.pipeline import TRANSCRIBE, dispatch, enqueue
from webapp.services.access import require
from webapp.services.audit_trail import record
from webapp.services.auth import CurrentUser
from webapp.services.visit_language import VisitLanguage, check_visit_language
from webapp.storage import AUDIO_SUFFIX, new_blob_name
from webapp.text import clean_line, clean_tree

__all__ = [
    "CONSENT_METHODS",
    "VISIT_TYPE_MISSING",
    "UploadDetails",
    "create_recording",
    "recording_allowed",
    "sniff_audio_type",
]

logger = logging.getLogger(__name__)

_ACCEPTED = "WAV, FLAC, MP3, M4A, OGG or WebM"

#: Most participants one recording may list (a large meeting), and the longest name
#: or description and role of each.
MAX_PARTICIPANTS = 30
MAX_PARTICIPANT_NAME = 120
MAX_PARTICIPANT_ROLE = 80
#: Shortest recording worth transcribing, in seconds.
MIN_DURATION_S = 0.5
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

#: How consent to record can be given, as recorded with each participant.
CONSENT_METHODS = {
    "verbal": "Verbal consent from the person",
    "written": "Written consent from the person",
    "lpa": "Lasting power of attorney (health and welfare)",
    "best_interests": "Best interests decision (the person lacks capacity to consent)",
}
#: Said when no visit type was chosen: none is chosen for the worker.
VISIT_TYPE_MISSING = (
    "Choose the visit type: the note is drafted in that visit's template, so it cannot be guessed."
)
# Consent given on the person's behalf must name who gave it or made the decision.
_ON_BEHALF = ("lpa", "best_interests")


@dataclass(frozen=True)
class UploadDetails:
    """What the social worker says about a recording.

    Attributes:
        case_reference: The person's case reference.
        visit_type: Template name.
        visit_date: ISO date (``YYYY-MM-DD``).
        participants: ``(name or description, role)`` for each person present.
        consent: Whether consent was confirmed, one per participant.
        team_id: The team the record belongs to; the user's only team if ``None``.
        consent_methods: How each participant's consent was given (a key of
            :data:`CONSENT_METHODS`); ``"verbal"`` for each when empty.
        consent_given_by: Who gave each consent when not the participant (an attorney,
            the best-interests decision maker); empty strings when it was them.
        language: The language spoken and any interpreter; English without one by
            default.
    """

    case_reference: str
    visit_type: str
    visit_date: str
    participants: tuple[tuple[str, str], ...]
    consent: tuple[bool, ...]
    team_id: int | None = None
    consent_methods: tuple[str, ...] = ()
    consent_given_by: tuple[str, ...] = ()
    language: VisitLanguage = VisitLanguage()


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


def recording_allowed(svc: Services, visit_type: str) -> tuple[bool, str]:
    """Whether policy allows recording this visit type, and if not, why."""
    template = svc.templates.get(visit_type)
    if visit_type in svc.policy.forbidden_visit_types or (
        template is not None and not getattr(template, "recording_allowed", True)
    ):
        return False, svc.policy.forbidden_reason
    return True, ""


def _check_details(svc: Services, user: CurrentUser, details: UploadDetails) -> int:
    reference = details.case_reference.strip()
    if not reference or len(reference) > 64:
        raise BadInput("Enter the person's case reference (up to 64 characters).")
    if not details.visit_type.strip():
        raise BadInput(VISIT_TYPE_MISSING)
    if details.visit_type not in svc.templates:
        raise BadInput("Choose a visit type from the list.")
    allowed, reason = recording_allowed(svc, details.visit_type)
    if not allowed:
        raise Forbidden(reason)
    # date.fromisoformat also takes week dates ("2026W113") and other ISO forms: only
    # a calendar date written as YYYY-MM-DD is stored.
    try:
        if not _ISO_DATE.fullmatch(details.visit_date):
            raise ValueError(details.visit_date)
        visit = date.fromisoformat(details.visit_date)
    except ValueError:
        raise BadInput("Enter the visit date as a date, for example 2026-03-14.") from None
    if visit > db.utcnow().date() + timedelta(days=1):
        raise BadInput("The visit date is in the future; check it.")
    if not details.participants:
        raise BadInput("Add at least one participant, with their role.")
    if len(details.participants) > MAX_PARTICIPANTS:
        raise BadInput(
            f"A recording can list at most {MAX_PARTICIPANTS} participants; list the people "
            "who speak, and describe any others in the note."
        )
    if len(details.consent) != len(details.participants):
        raise BadInput("Confirm consent for each participant.")
    for name, role in details.participants:
        if len(name) > MAX_PARTICIPANT_NAME or len(role) > MAX_PARTICIPANT_ROLE:
            raise BadInput(
                f"A participant's name can be at most {MAX_PARTICIPANT_NAME} characters "
                f"long, and their role at most {MAX_PARTICIPANT_ROLE}."
            )
    for (name, role), consented in zip(details.participants, details.consent, strict=True):
        if not name.strip() or not role.strip():
            raise BadInput("Each participant needs a name (or description) and a role.")
        if not consented:
            raise BadInput(
                f"Consent to record has not been confirmed for {name.strip()} "
                f"({role.strip()}). Without it the recording cannot be kept."
            )
    _check_consent_methods(details)
    if details.team_id is None:
        if len(user.team_ids) != 1:
            raise BadInput("Choose which of your teams this record belongs to.")
        return next(iter(user.team_ids))
    if details.team_id not in user.team_ids:
        raise BadInput("Choose one of your own teams.")
    return details.team_id


def _consent(details: UploadDetails) -> list[tuple[str, str]]:
    count = len(details.participants)
    methods = details.consent_methods or ("verbal",) * count
    given_by = details.consent_given_by or ("",) * count
    return [(m.strip(), b.strip()) for m, b in zip(methods, given_by, strict=True)]


def _check_consent_methods(details: UploadDetails) -> None:
    count = len(details.participants)
    if details.consent_methods and len(details.consent_methods) != count:
        raise BadInput("Say how consent was given for each participant.")
    if details.consent_given_by and len(details.consent_given_by) != count:
        raise BadInput("Say who gave consent for each participant, where not the person.")
    for (name, _role), (method, given_by) in zip(
        details.participants, _consent(details), strict=True
    ):
        if method not in CONSENT_METHODS:
            raise BadInput(
                f"Choose how consent was given for {name.strip()}: verbally, in writing, by "
                "lasting power of attorney, or as a best interests decision."
            )
        if method in _ON_BEHALF and not given_by:
            raise BadInput(
                f"Consent for {name.strip()} was given on their behalf: enter the name of the "
                "attorney or of the person who made the best interests decision."
            )
        if len(given_by) > 120:
            raise BadInput("A name of who gave consent can be at most 120 characters long.")


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


def _cleaned(details: UploadDetails) -> UploadDetails:
    """The details with every line of text cleaned."""
    return replace(
        details,
        case_reference=clean_line(details.case_reference),
        visit_type=clean_line(details.visit_type),
        visit_date=clean_line(details.visit_date),
        participants=clean_tree(details.participants, line=True),
        consent_methods=clean_tree(details.consent_methods, line=True),
        consent_given_by=clean_tree(details.consent_given_by, line=True),
    )


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


def _participant_records(user: CurrentUser, details: UploadDetails) -> list[dict[str, Any]]:
    """Each participant with their consent, as stored (sealed) on the recording."""
    consent_at = db.utcnow().isoformat(timespec="seconds")
    return [
        {
            "name": n.strip(),
            "role": r.strip(),
            "consent": {
                "given": True,
                "method": method,
                "given_by": given_by or n.strip(),
                "recorded_by": user.display_name,
                "recorded_at": consent_at,
            },
        }
        for (n, r), (method, given_by) in zip(details.participants, _consent(details), strict=True)
    ]


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
    details = _cleaned(details)
    team_id = _check_details(svc, user, details)
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
        participants = _participant_records(user, details)
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
                    "consent_methods": [m for m, _ in _consent(details)],
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
