"""Reviewing a draft note: edits, flag resolutions, sections reviewed, speakers, approval.

The reviewer's working state (each statement's current text and resolution, the
sections marked reviewed, speaker names) is one encrypted JSON value on the note.
Every change is a new version: the UPDATE only succeeds if the note is still at the
version the reviewer saw, so of two racing changes exactly one wins and the other is
told, with its text kept in the page.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from policies import BadInput, Conflict, InvalidTransition, NotFound
from webapp import db
from webapp.context import Services
from webapp.services.access import get_recording
from webapp.services.audit_trail import record
from webapp.services.auth import CurrentUser
from webapp.services.exports import NoteMeta
from webapp.services.note_items import (
    drafted_items,
    initial_work,
    item_id_for_action,
    written_by_practitioner,
)
from webapp.services.sealed_notes import open_draft, open_transcript
from webapp.services.visit_language import language_heading
from webapp.text import clean

if TYPE_CHECKING:
    from summarise import Draft
    from transcribe import Transcript

__all__ = [
    "LoadedNote",
    "blockers",
    "change_item",
    "initial_work",
    "item_id_for_action",
    "load_note",
    "mark_section_reviewed",
    "mutate_work",
    "note_meta",
    "update_item",
    "update_open_note",
]

logger = logging.getLogger(__name__)

MAX_TEXT = 5000
_ITEM_ACTIONS = ("confirm", "edit", "delete", "restore")


def note_meta(svc: Services, key: bytes, rec: Any) -> NoteMeta:
    """The heading details of a recording's note (case reference decrypted)."""
    return NoteMeta(
        case_reference=svc.vault.open_text(
            key, "recording", rec.id, "case_reference", rec.case_ref_enc
        ),
        visit_type=rec.visit_type,
        visit_date=rec.visit_date,
        template_title=getattr(svc.templates.get(rec.visit_type), "title", rec.visit_type),
        language=language_heading(svc, key, rec),
    )


@dataclass(frozen=True)
class LoadedNote:
    """A note decrypted for one request.

    Attributes:
        recording: The recording row.
        note: The note row.
        meta: Case reference, visit type and date, for headings and exports.
        transcript: The transcript.
        draft: The draft.
        work: The working state.
        addenda: ``(author name, ISO time, text)`` for each addendum.
    """

    recording: Any
    note: Any
    meta: NoteMeta
    transcript: Transcript
    draft: Draft
    work: dict[str, Any]
    addenda: tuple[tuple[str, str, str], ...]

    def blockers(self) -> list[str]:
        """Why the note cannot be approved yet (empty when it can)."""
        return blockers(self.draft, self.work)


def blockers(draft: Draft, work: dict[str, Any]) -> list[str]:
    problems = []
    open_flags = sum(1 for i in work["items"].values() if i["status"] == "open")
    if open_flags:
        problems.append(
            (
                "1 flagged statement still needs checking"
                if open_flags == 1
                else f"{open_flags} flagged statements still need checking"
            )
            + ": confirm each against the audio, edit it or delete it."
        )
    unreviewed = [s.title for s in draft.sections if s.key not in work["reviewed"]]
    if unreviewed:
        problems.append("Sections not yet marked reviewed: " + ", ".join(unreviewed) + ".")
    return problems


def note_row(conn: sa.Connection, recording_id: str, lock: bool = False) -> Any:
    query = sa.select(db.notes).where(db.notes.c.recording_id == recording_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).one_or_none()
    if row is None:
        raise NotFound("This recording has no draft yet; wait for processing to finish.")
    return row


def addenda_rows(conn: sa.Connection, note_id: str) -> list[Any]:
    """A note's addenda, oldest first, each with its author's ``display_name``."""
    a = db.addenda
    query = (
        sa.select(a, db.users.c.display_name)
        .join(db.users, db.users.c.id == a.c.author_id)
        .where(a.c.note_id == note_id)
        .order_by(a.c.at)
    )
    return list(conn.execute(query).all())


def load_note(
    svc: Services, user: CurrentUser, recording_id: str, audit_action: str | None = "view"
) -> LoadedNote:
    """Decrypt a note for someone allowed to read it, recording the view in the audit log.

    Raises:
        NotFound: No such note, or not visible to the user.
    """
    vault = svc.vault
    with svc.engine.begin() as conn:
        rec = get_recording(svc, conn, user, recording_id)
        note = note_row(conn, recording_id)
        key = vault.data_key(rec.id, rec.wrapped_key)
        rows = addenda_rows(conn, note.id)
        if audit_action:
            record(conn, user.id, user.username, audit_action, "note", note.id)
    addenda = tuple(
        (
            r.display_name,
            db.as_utc(r.at).isoformat(timespec="minutes"),  # type: ignore[union-attr]
            vault.open_text(key, "addendum", r.id, "text", r.text_enc),
        )
        for r in rows
    )
    meta = note_meta(svc, key, rec)
    return LoadedNote(
        recording=rec,
        note=note,
        meta=meta,
        transcript=open_transcript(vault, key, "note", note.id, note.transcript_enc),
        draft=open_draft(vault, key, note.id, note.draft_enc),
        work=vault.open_json(key, "note", note.id, "work", note.work_enc),
        addenda=addenda,
    )


def stale_error(conn: sa.Connection, note: Any, expected: int) -> Exception:
    if note.state == "approved":
        who = conn.execute(
            sa.select(db.users.c.display_name).where(db.users.c.id == note.approved_by)
        ).scalar()
        return InvalidTransition(
            f"This note was approved by {who} and is now locked, so your change was not "
            "saved. Your text is still in the box: copy it into an addendum if it is needed."
        )
    return Conflict(
        f"Someone else changed this note while you were working (it is now at version "
        f"{note.version}, you had version {expected}). Your change was not saved but is "
        "still in the box: reload the page to see their change, then apply yours again."
    )


def update_open_note(
    conn: sa.Connection, recording_id: str, note_id: str, expected_version: int, **values: Any
) -> None:
    """Change a note still being reviewed, if it is at the version the user saw.

    One conditional UPDATE (the note is a draft at ``expected_version``), so of two
    changes made from the same version exactly one succeeds.

    Args:
        conn: A connection in the caller's transaction.
        recording_id: The note's recording.
        note_id: The note.
        expected_version: The version the user's change was made on.
        **values: The columns to set.

    Raises:
        Conflict: Someone else changed the note first (see :func:`stale_error`).
        InvalidTransition: The note is no longer a draft.
    """
    updated = conn.execute(
        sa.update(db.notes)
        .where(
            db.notes.c.id == note_id,
            db.notes.c.version == expected_version,
            db.notes.c.state == "draft",
        )
        .values(**values)
    )
    if updated.rowcount != 1:
        raise stale_error(conn, note_row(conn, recording_id), expected_version)


def mutate_work(
    svc: Services,
    user: CurrentUser,
    recording_id: str,
    expected_version: int,
    action: str,
    target: str | Callable[[], str],
    change: Callable[[dict[str, Any], Draft], tuple[Any, Any]],
) -> int:
    """Apply ``change`` to the working state as a new version, saved and audited.

    ``target`` names what changed; a callable is asked after ``change`` has run (an
    added statement's id is known only then).
    """
    vault = svc.vault
    with svc.engine.begin() as conn:
        rec = get_recording(svc, conn, user, recording_id, need="edit")
        note = note_row(conn, recording_id, lock=True)
        if note.state != "draft" or note.version != expected_version:
            raise stale_error(conn, note, expected_version)
        key = vault.data_key(rec.id, rec.wrapped_key)
        work = vault.open_json(key, "note", note.id, "work", note.work_enc)
        draft = open_draft(vault, key, note.id, note.draft_enc)
        before, after = change(work, draft)
        target = target() if callable(target) else target
        new_version = note.version + 1
        now = db.utcnow()
        update_open_note(
            conn,
            recording_id,
            note.id,
            expected_version,
            work_enc=vault.seal(key, "note", note.id, "work", work),
            version=new_version,
            updated_at=now,
        )
        version_id = uuid.uuid4().hex
        conn.execute(
            sa.insert(db.note_versions).values(
                id=version_id,
                note_id=note.id,
                version=new_version,
                action=action,
                target=target,
                actor_id=user.id,
                at=now,
                before_enc=vault.seal(key, "note_version", version_id, "before", before),
                after_enc=vault.seal(key, "note_version", version_id, "after", after),
            )
        )
        record(
            conn,
            user.id,
            user.username,
            action,
            "note",
            note.id,
            {"target": target, "version": new_version},
        )
    return new_version


def update_item(
    svc: Services,
    user: CurrentUser,
    recording_id: str,
    item_id: str,
    action: str,
    expected_version: int,
    text: str = "",
) -> int:
    """Confirm, edit, delete or restore one statement or action; return the note's new version.

    See :func:`change_item`, which also says the statement's status afterwards.
    """
    return change_item(svc, user, recording_id, item_id, action, expected_version, text)[0]


def change_item(
    svc: Services,
    user: CurrentUser,
    recording_id: str,
    item_id: str,
    action: str,
    expected_version: int,
    text: str = "",
) -> tuple[int, str]:
    """Confirm, edit, delete or restore one statement or action.

    A restored statement goes back to how it stood before it was deleted (a flagged
    one still unresolved needs checking again). A practitioner's own statement stays
    marked as theirs when edited.

    Raises:
        BadInput: Unknown action or item, an empty or over-long text, or restoring a
            statement that is not deleted.
        Conflict: The note changed since ``expected_version``.
        InvalidTransition: The note is approved.

    Returns:
        The note's new version and the statement's status after the change.
    """
    if action not in _ITEM_ACTIONS:
        raise BadInput(f"Unknown action {action!r}; use confirm, edit, delete or restore.")
    text = clean(text).strip()
    if action == "edit" and not text:
        raise BadInput("An edited statement cannot be empty; delete it instead.")
    if len(text) > MAX_TEXT:
        raise BadInput(f"A statement can be at most {MAX_TEXT} characters long.")

    def change(work: dict[str, Any], draft: Draft) -> tuple[Any, Any]:
        item = work["items"].get(item_id)
        if item is None:
            raise BadInput(f"This note has no statement {item_id!r}; reload the page.")
        before = {"text": item["text"], "status": item["status"]}
        if action == "edit":
            item["text"] = text
            item["status"] = "added" if written_by_practitioner(item) else "edited"
        elif action == "delete":
            if item["status"] != "deleted":
                item["before_delete"] = item["status"]
            item["status"] = "deleted"
        elif action == "restore":
            if item["status"] != "deleted":
                raise BadInput("This statement is not deleted, so there is nothing to restore.")
            item["status"] = item.pop("before_delete", None) or _status_as_drafted(
                item_id, item, draft
            )
        else:
            item["status"] = "confirmed"
        status.append(item["status"])
        return before, {"text": item["text"], "status": item["status"]}

    status: list[str] = []
    audit_action = {"edit": "edit", "restore": "restore"}.get(action, "flag_resolve")
    version = mutate_work(svc, user, recording_id, expected_version, audit_action, item_id, change)
    return version, status[-1]


def _status_as_drafted(item_id: str, item: dict[str, Any], draft: Draft) -> str:
    """The status of a statement deleted before deletions kept what they replaced."""
    if written_by_practitioner(item):
        return "added"
    if item["flagged"]:
        return "open"
    drafted = drafted_items(draft).get(item_id, {})
    return "ok" if drafted.get("text") == item["text"] else "edited"


def mark_section_reviewed(
    svc: Services, user: CurrentUser, recording_id: str, section_key: str, expected_version: int
) -> int:
    """Mark a section as looked at; return the note's new version."""

    def change(work: dict[str, Any], draft: Draft) -> tuple[Any, Any]:
        if section_key not in {s.key for s in draft.sections}:
            raise BadInput(f"This note has no section {section_key!r}; reload the page.")
        before = sorted(work["reviewed"])
        if section_key not in work["reviewed"]:
            work["reviewed"].append(section_key)
        return before, sorted(work["reviewed"])

    return mutate_work(
        svc, user, recording_id, expected_version, "section_reviewed", section_key, change
    )
