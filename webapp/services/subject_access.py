"""Subject access: everything held about a case reference, as one ZIP archive for review.

The archive holds, for each recording of the case: its details (visit, participants
and consent), the approved note with its addenda (or the unapproved draft, labelled
as such), the transcript if it is still held, and every audit entry about it. Speech
of anyone other than the subject is marked for redaction, for the reviewer to decide
before anything is released. Exporting is audited; the case reference itself is not
written to the audit trail.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from policies import BadInput
from webapp import db
from webapp.context import Services
from webapp.services.access import require
from webapp.services.audit_trail import record
from webapp.services.auth import CurrentUser
from webapp.services.exports import NoteMeta, render_text
from webapp.services.holds import case_reference_of, hold_reference, normalise_reference
from webapp.services.sealed_notes import open_draft, open_transcript
from webapp.services.visit_language import (
    DETECT,
    detected_language,
    language_heading,
    visit_language_of,
)

if TYPE_CHECKING:
    from transcribe import Transcript

__all__ = ["SubjectAccessExport", "export_subject_access"]

logger = logging.getLogger(__name__)

# Participant roles that name the person the record is about.
_SUBJECT_ROLE = re.compile(
    r"\b(person|subject|service user|client|resident|patient|adult|child|young person)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SubjectAccessExport:
    """A subject access archive.

    Attributes:
        data: The ZIP archive's bytes.
        filename: A suggested file name (no case reference in it).
        recordings: How many recordings of the case it covers.
        marked: Transcript segments marked for redaction.
    """

    data: bytes
    filename: str
    recordings: int
    marked: int


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


def _matching(svc: Services, conn: sa.Connection, wanted: str) -> list[Any]:
    # Case references are encrypted per recording, so each is decrypted and compared.
    rows = conn.execute(sa.select(db.recordings).order_by(db.recordings.c.created_at)).all()
    return [row for row in rows if normalise_reference(case_reference_of(svc, row)) == wanted]


def _audit_rows(conn: sa.Connection, record_ids: list[str], hold_ids: list[str]) -> list[Any]:
    log = db.audit_log.c
    return list(
        conn.execute(
            sa.select(db.audit_log)
            .where(
                sa.or_(
                    sa.and_(
                        log.record_id.in_(record_ids),
                        log.record_type.in_(("recording", "note")),
                    ),
                    sa.and_(log.record_id.in_(hold_ids), log.record_type == "legal_hold"),
                )
            )
            .order_by(log.id)
        ).all()
    )


def _hold_ids(svc: Services, conn: sa.Connection, wanted: str) -> list[str]:
    rows = conn.execute(sa.select(db.legal_holds)).all()
    return [row.id for row in rows if normalise_reference(hold_reference(svc, row)) == wanted]


@dataclass(frozen=True)
class _CaseRecords:
    """What is held about one case reference, read in one connection."""

    recordings: list[Any]
    notes: dict[str, Any]
    names: dict[str, str]
    addenda: list[Any]
    imports: dict[str, Any]
    audit: list[Any]


def _load_case(svc: Services, wanted: str) -> _CaseRecords:
    """Read the recordings, notes, addenda, imports and audit entries of a case.

    Raises:
        BadInput: Nothing is held about the case reference.
    """
    with svc.engine.connect() as conn:
        recs = _matching(svc, conn, wanted)
        if not recs:
            raise BadInput(
                "Nothing is held about that case reference (check it; a record deleted "
                "under the retention policy is no longer held).",
                field="case_reference",
            )
        notes = {
            row.recording_id: row
            for row in conn.execute(
                sa.select(db.notes).where(db.notes.c.recording_id.in_([r.id for r in recs]))
            )
        }
        names = dict(conn.execute(sa.select(db.users.c.id, db.users.c.display_name)).all())
        addenda_rows = conn.execute(
            sa.select(db.addenda)
            .where(db.addenda.c.note_id.in_([n.id for n in notes.values()]))
            .order_by(db.addenda.c.at)
        ).all()
        imports = {
            row.note_id: row
            for row in conn.execute(
                sa.select(db.note_imports).where(
                    db.note_imports.c.note_id.in_([n.id for n in notes.values()])
                )
            )
        }
        audit_rows = _audit_rows(
            conn,
            [r.id for r in recs] + [n.id for n in notes.values()],
            _hold_ids(svc, conn, wanted),
        )
    return _CaseRecords(recs, notes, names, list(addenda_rows), imports, audit_rows)


def _recording_details(
    svc: Services, case: _CaseRecords, rec: Any, key: bytes, participants: Any
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
    case: _CaseRecords,
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


def _write_recording(
    svc: Services, archive: zipfile.ZipFile, case: _CaseRecords, rec: Any
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


def _audit_csv(audit_rows: list[Any]) -> str:
    """The audit entries about the case, as CSV."""
    log = io.StringIO()
    writer = csv.writer(log)
    writer.writerow(["id", "at", "actor", "action", "record_type", "record_id", "detail"])
    for row in audit_rows:
        writer.writerow(
            [
                row.id,
                row.at,
                row.actor,
                row.action,
                row.record_type,
                row.record_id,
                row.detail or "",
            ]
        )
    return log.getvalue()


def export_subject_access(
    svc: Services, user: CurrentUser, case_reference: str
) -> SubjectAccessExport:
    """Build the subject access archive for a case reference; the export is audited.

    Raises:
        Forbidden: The user's role has no subject access rights.
        BadInput: The case reference is empty or nothing is held about it.
    """
    require(user, "subject_access", "Only information governance can export subject access data.")
    wanted = normalise_reference(case_reference)
    if not wanted or len(wanted) > 64:
        raise BadInput("Enter the case reference (up to 64 characters).", field="case_reference")
    case = _load_case(svc, wanted)
    recs = case.recordings
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        manifest = [_write_recording(svc, archive, case, rec) for rec in recs]
        archive.writestr("audit.csv", _audit_csv(case.audit))
        archive.writestr(
            "manifest.json",
            json.dumps(
                {
                    "case_reference": case_reference.strip(),
                    "exported_by": user.display_name,
                    "exported_at": db.utcnow().isoformat(timespec="seconds"),
                    "recordings": manifest,
                    "audit_entries": len(case.audit),
                },
                indent=2,
                ensure_ascii=False,
            ),
        )
        archive.writestr("README.txt", _README)
    marked_total = sum(entry.get("marked_for_redaction", 0) for entry in manifest)
    with svc.engine.begin() as conn:
        record(
            conn,
            user.id,
            user.username,
            "subject_access_export",
            None,
            None,
            {
                "recordings": len(recs),
                "marked_for_redaction": marked_total,
                "recording_ids": [r.id for r in recs],
            },
        )
    logger.info("subject access export by user %s: %d recordings", user.id, len(recs))
    return SubjectAccessExport(
        data=buffer.getvalue(),
        filename=f"subject-access-{db.utcnow():%Y%m%d-%H%M%S}.zip",
        recordings=len(recs),
        marked=marked_total,
    )


_README = """Subject access export (carenotes)

This archive holds everything carenotes still holds about one case reference:
  manifest.json                  what is in the archive, and who exported it when
  recordings/<date>-<id>/details.json   visit, participants and their consent
  recordings/<date>-<id>/note-approved.txt   the approved note, with any addenda
  recordings/<date>-<id>/note-UNAPPROVED-DRAFT.txt   a draft that was never approved
  recordings/<date>-<id>/transcript.txt|json   the transcript, if still held
  audit.csv                      every audit entry about these records

REVIEW BEFORE RELEASE. Transcript segments spoken by anyone other than the subject
are marked "FOR REDACTION" (in transcript.json: "redact": true, with the reason).
Decide on each before anything is released. Audio deleted under the retention
policy is no longer held; audio still held can be provided on request.
"""
