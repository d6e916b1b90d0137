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
import zipfile
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from policies import BadInput
from webapp import db
from webapp.context import Services
from webapp.services.access import require
from webapp.services.audit_trail import record
from webapp.services.auth import CurrentUser
from webapp.services.holds import case_reference_of, hold_reference, normalise_reference
from webapp.services.subject_access_recordings import CaseRecords, write_recording

__all__ = ["SubjectAccessExport", "export_subject_access"]

logger = logging.getLogger(__name__)


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


def _load_case(svc: Services, wanted: str) -> CaseRecords:
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
    return CaseRecords(recs, notes, names, list(addenda_rows), imports, audit_rows)


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
        manifest = [write_recording(svc, archive, case, rec) for rec in recs]
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
