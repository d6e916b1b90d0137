"""One recording's folder of a subject access archive.

For each recording of the case: ``details.json`` (visit, participants and their
consent, the language spoken and any interpreter, whether the audio is still held,
and any import into the case-management system), the approved note with its addenda
or the unapproved draft labelled as such, and the transcript with each segment
spoken by anyone other than the subject marked for redaction.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from webapp import db
from webapp.context import Services
from webapp.services.exports import NoteMeta, render_text
from webapp.services.holds import case_reference_of
from webapp.services.sealed_notes import open_draft, open_transcript
from webapp.services.visit_language import (
    DETECT,
    detected_language,
    language_heading,
    visit_language_of,
)

if TYPE_CHECKING:
    from transcribe import Transcript

__all__ = ["CaseRecords", "write_recording"]

# Participant roles that name the person the record is about.
_SUBJECT_ROLE = re.compile(
    r"\b(person|subject|service user|client|resident|patient|adult|child|young person)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class CaseRecords:
    """What is held about one case reference, read in one connection."""

    recordings: list[Any]
    notes: dict[str, Any]
    names: dict[str, str]
    addenda: list[Any]
    imports: dict[str, Any]
    audit: list[Any]


def _subject_speakers(participants: list[dict[str, Any]], speakers: dict[str, str]) -> set[str]:
    subjects = [p for p in participants if _SUBJECT_ROLE.search(p.get("role", ""))]
    names = {p["name"].strip().lower() for p in subjects} | {
        p["role"].strip().lower() for p in subjects
    }
    return {
        label
        for label, name in speakers.items()
        if name.strip().lower() in names or _SUBJECT_ROLE.search(name)
    }


def _transcript(
    transcript: Transcript, speakers: dict[str, str], subject: set[str]
) -> tuple[list[dict[str, Any]], str, int]:
    segments, lines, marked = [], [], 0
    for seg in transcript.segments:
        label = seg.speaker or ""
        name = speakers.get(label, label) or "unknown speaker"
        if not subject:
            reason = "the subject's voice was not identified: check who is speaking"
        elif label not in subject:
            reason = f"third party ({name})"
        else:
            reason = ""
        marked += bool(reason)
        # A visit in another language: the English, and the words as spoken it translates.
        original = " ".join(o.text for o in transcript.original_of(seg))
        segments.append(
            {
                "start": seg.start,
                "end": seg.end,
                "speaker": name,
                "text": seg.text,
                **({"original": original} if original else {}),
                "redact": bool(reason),
                "reason": reason,
            }
        )
        mark = f"[FOR REDACTION: {reason}] " if reason else ""
        lines.append(f"{seg.start:8.1f}s  {name}: {mark}{seg.text}")
        if original:
            lines.append(f"{'':10}as spoken: {original}")
    return segments, "\n".join(lines) + "\n", marked


def _language_details(svc: Services, key: bytes, rec: Any) -> dict[str, Any]:
    """The language spoken and the interpreter, as held about the recording."""
    language = visit_language_of(svc, rec, key)
    return {
        "language": detected_language(rec) or ("en" if not language.other_language else None),
        "language_detected": language.code == DETECT,
        "interpreter": {
            "present": language.interpreter_present,
            "name": language.interpreter_name or None,
        },
    }


def _recording_details(
    svc: Services, case: CaseRecords, rec: Any, key: bytes, participants: Any
) -> dict[str, Any]:
    """The recording's details as written to its details.json."""
    return {
        "recording_id": rec.id,
        "case_reference": case_reference_of(svc, rec, key),
        "visit_type": rec.visit_type,
        "visit_date": rec.visit_date,
        "recorded_by": case.names.get(rec.owner_id, ""),
        "status": rec.status,
        "participants": participants,
        **_language_details(svc, key, rec),
        "audio_held": rec.audio_blob is not None,
        "audio_deleted_at": (
            db.as_utc(rec.audio_deleted_at).isoformat() if rec.audio_deleted_at else None
        ),  # type: ignore[union-attr]
    }


def _write_note(
    svc: Services,
    archive: zipfile.ZipFile,
    folder: str,
    case: CaseRecords,
    rec: Any,
    key: bytes,
    note: Any,
    participants: Any,
    details: dict[str, Any],
) -> dict[str, Any]:
    """Write a recording's note and transcript, noting any import in its details.

    Returns:
        The note's entry in the manifest: its state, segments, marked segments and addenda.
    """
    vault = svc.vault
    work = vault.open_json(key, "note", note.id, "work", note.work_enc)
    draft = open_draft(vault, key, note.id, note.draft_enc)
    transcript = open_transcript(vault, key, "note", note.id, note.transcript_enc)
    meta = NoteMeta(
        details["case_reference"],
        rec.visit_type,
        rec.visit_date,
        getattr(svc.templates.get(rec.visit_type), "title", rec.visit_type),
        language=language_heading(svc, key, rec),
    )
    addenda = [
        (
            case.names.get(a.author_id, ""),
            db.as_utc(a.at).isoformat(timespec="minutes"),  # type: ignore[union-attr]
            vault.open_text(key, "addendum", a.id, "text", a.text_enc),
        )
        for a in case.addenda
        if a.note_id == note.id
    ]
    if note.state == "approved":
        text = vault.open_text(key, "note", note.id, "approved_text", note.approved_text_enc)
        if addenda:
            text = render_text(meta, draft, work, addenda)
        archive.writestr(f"{folder}/note-approved.txt", text)
    else:
        archive.writestr(
            f"{folder}/note-UNAPPROVED-DRAFT.txt",
            "UNAPPROVED DRAFT - never approved by a practitioner.\n\n"
            + render_text(meta, draft, work),
        )
    subject = _subject_speakers(participants, work.get("speakers", {}))
    segments, text, marked = _transcript(transcript, work.get("speakers", {}), subject)
    archive.writestr(
        f"{folder}/transcript.json", json.dumps(segments, indent=2, ensure_ascii=False)
    )
    archive.writestr(f"{folder}/transcript.txt", text)
    imported = case.imports.get(note.id)
    if imported is not None:
        # Taken into the case-management system through the API.
        details["imported"] = {
            "system": imported.system,
            "external_reference": vault.open_text(
                key, "note_import", imported.id, "reference", imported.reference_enc
            ),
            "imported_at": db.as_utc(imported.imported_at).isoformat(),  # type: ignore[union-attr]
        }
    return {
        "note_state": note.state,
        "segments": len(segments),
        "marked_for_redaction": marked,
        "addenda": len(addenda),
    }


def write_recording(
    svc: Services, archive: zipfile.ZipFile, case: CaseRecords, rec: Any
) -> dict[str, Any]:
    """Write one recording's folder to the archive.

    Returns:
        The recording's entry in the manifest.
    """
    vault = svc.vault
    key = vault.data_key(rec.id, rec.wrapped_key)
    folder = f"recordings/{rec.visit_date}-{rec.id[:8]}"
    participants = vault.open_json(key, "recording", rec.id, "participants", rec.participants_enc)
    details = _recording_details(svc, case, rec, key, participants)
    entry: dict[str, Any] = {
        "folder": folder,
        **{k: details[k] for k in ("recording_id", "visit_date", "visit_type", "status")},
    }
    note = case.notes.get(rec.id)
    if note is not None:
        entry.update(_write_note(svc, archive, folder, case, rec, key, note, participants, details))
    archive.writestr(f"{folder}/details.json", json.dumps(details, indent=2, ensure_ascii=False))
    return entry
