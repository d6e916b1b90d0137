"""An approved note as a file to save: plain text, Word, PDF or JSON, each named by
case reference, visit type and date, with the heading a reader checks (who wrote and
who approved it, when, and the approved text's hash). Every download is audited."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from policies import BadInput, InvalidTransition
from webapp import db
from webapp.context import Services
from webapp.dates import written_time, zone_name
from webapp.services.audit_trail import record
from webapp.services.auth import CurrentUser
from webapp.services.export_details import (
    ExportHeading,
    export_filename,
    present_from,
    visit_type_words,
)
from webapp.services.exports import ApprovalInfo, note_json, render_docx, render_pdf, render_text
from webapp.services.notes import LoadedNote, load_note
from webapp.services.recordings import participants_of

__all__ = ["NoteFile", "approval_line", "note_file"]

#: Each format's media type.
_MIMETYPES = {
    "txt": "text/plain; charset=utf-8",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
    "json": "application/json",
}


@dataclass(frozen=True)
class NoteFile:
    """An approved note as a file.

    Attributes:
        body: The file's content.
        mimetype: Its media type.
        filename: What to save it as.
    """

    body: str | bytes
    mimetype: str
    filename: str


def _export_heading(svc: Services, loaded: LoadedNote) -> ExportHeading:
    """The heading of an approved note's export: case, visit, people, approval, hash."""
    wanted = [loaded.recording.owner_id, loaded.note.approved_by]
    with svc.engine.connect() as conn:
        names = dict(
            conn.execute(
                sa.select(db.users.c.id, db.users.c.display_name).where(db.users.c.id.in_(wanted))
            ).all()
        )
    at = db.as_utc(loaded.note.approved_at)
    return ExportHeading(
        case_reference=loaded.meta.case_reference,
        visit_type=visit_type_words(loaded.meta.visit_type),
        visit_date=loaded.meta.visit_date,
        present=present_from(participants_of(svc, loaded.recording)),
        language=loaded.meta.language,
        author=names.get(loaded.recording.owner_id, ""),
        approver=names.get(loaded.note.approved_by, ""),
        approved_at=at.isoformat(timespec="seconds") if at else "",
        sha256=loaded.note.approved_sha256,
    )


def approval_line(svc: Services, loaded: LoadedNote, hashed: str = "the approved text") -> str:
    """Who approved the note and when, and the hash of ``hashed``, in one sentence."""
    heading = _export_heading(svc, loaded)
    when = f"{written_time(heading.approved_at)} ({zone_name()})"
    return f"Approved by {heading.approver} on {when}. SHA-256 of {hashed}: {heading.sha256}"


def _written(addenda: Iterable[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Addenda with their times as people read them (the JSON export keeps ISO UTC)."""
    return [(author, f"{written_time(at)} ({zone_name()})", text) for author, at, text in addenda]


def _approved(svc: Services, user: CurrentUser, recording_id: str, fmt: str) -> LoadedNote:
    """The approved note, its download written to the audit trail."""
    loaded = load_note(svc, user, recording_id, audit_action=None)
    if loaded.note.state != "approved":
        raise InvalidTransition("Only an approved note can be downloaded; approve it first.")
    with svc.engine.begin() as conn:
        record(conn, user.id, user.username, "download", "note", loaded.note.id, {"format": fmt})
    return loaded


def _body(svc: Services, loaded: LoadedNote, fmt: str, dumps: Callable[[Any], str]) -> str | bytes:
    """The approved note's content in the format ``fmt``."""
    meta, draft, work = loaded.meta, loaded.draft, loaded.work
    if fmt == "txt":
        approval = approval_line(
            svc, loaded, "the note above (everything before this line's blank line)"
        )
        return render_text(meta, draft, work, _written(loaded.addenda), approval)
    heading = _export_heading(svc, loaded)
    if fmt == "docx":
        return render_docx(meta, draft, work, heading.rows(), _written(loaded.addenda))
    if fmt == "pdf":
        return render_pdf(meta, draft, work, heading.rows(), _written(loaded.addenda))
    info = ApprovalInfo(
        author=heading.author,
        approver=heading.approver,
        approved_at=heading.approved_at,
        sha256=heading.sha256,
        policy_version=loaded.note.policy_version or "unrecorded",
    )
    return dumps(note_json(meta, draft, work, info, loaded.addenda))


def note_file(
    svc: Services,
    user: CurrentUser,
    recording_id: str,
    fmt: str,
    dumps: Callable[[Any], str] = json.dumps,
) -> NoteFile:
    """An approved note as a file in the format ``fmt``; the download is audited.

    Args:
        svc: The app's services.
        user: Who is downloading it.
        recording_id: The note's recording.
        fmt: ``txt``, ``docx``, ``pdf`` or ``json``.
        dumps: How the JSON export is written out.

    Raises:
        BadInput: ``fmt`` is none of those.
        InvalidTransition: The note is not approved.
    """
    if fmt not in _MIMETYPES:
        raise BadInput("Choose a plain text, Word, PDF or JSON download.")
    loaded = _approved(svc, user, recording_id, fmt)
    body = _body(svc, loaded, fmt, dumps)
    return NoteFile(body, _MIMETYPES[fmt], export_filename(loaded.meta, fmt))
