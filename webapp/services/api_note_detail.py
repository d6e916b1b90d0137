"""One approved note, whole, for a case-management system.

Its heading (case, visit, who was present, author, approver), its sections and their
statements as approved, its actions and addenda, the approved text exactly as it was
hashed, and the approval and import details. Nothing of the transcript, the audio or
the draft's working state goes out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from webapp import db
from webapp.context import Services
from webapp.services.api_auth import ApiCaller
from webapp.services.api_notes import import_record, visible_note, when
from webapp.services.audit_trail import record
from webapp.services.exports import ApprovalInfo, NoteMeta, note_json
from webapp.services.note_items import section_item_ids, written_by_practitioner
from webapp.services.notes import addenda_rows
from webapp.services.sealed_notes import cleaned_draft, open_draft
from webapp.services.visit_language import (
    VisitLanguage,
    api_language,
    heading_rows,
    recorded_language,
)
from webapp.text import clean_line, clean_tree

if TYPE_CHECKING:
    from summarise import Draft

__all__ = ["approved_note"]


def _read_note(
    svc: Services, caller: ApiCaller, note_id: str, endpoint: str
) -> tuple[Any, bytes, dict[str, str], list[Any], Any]:
    """Read the note, its people's names, addenda and import, and audit the fetch.

    Returns:
        The note's row, its data key, the names of its author and approver, its
        addenda's rows and its import record.

    Raises:
        NotFound: No approved note with this id in the token's teams.
    """
    with svc.engine.begin() as conn:
        row = visible_note(conn, caller, note_id)
        key = svc.vault.data_key(row.recording_id, row.wrapped_key)
        names = dict(
            conn.execute(
                sa.select(db.users.c.id, db.users.c.display_name).where(
                    db.users.c.id.in_([row.owner_id, row.approved_by])
                )
            ).all()
        )
        addendum_rows = addenda_rows(conn, row.id)
        imported = import_record(svc, key, conn, row.id)
        record(
            conn,
            None,
            caller.actor,
            "api_note_fetch",
            "note",
            row.id,
            {"token": caller.token_id, "endpoint": endpoint},
        )
    return row, key, names, addendum_rows, imported


def _note_meta(
    svc: Services, key: bytes, row: Any, spoken: tuple[VisitLanguage, str | None]
) -> NoteMeta:
    """The note's heading: case, visit and the language spoken."""
    return NoteMeta(
        case_reference=svc.vault.open_text(
            key, "recording", row.recording_id, "case_reference", row.case_ref_enc
        ),
        visit_type=row.visit_type,
        visit_date=row.visit_date,
        template_title=getattr(svc.templates.get(row.visit_type), "title", row.visit_type),
        language=tuple(heading_rows(*spoken)),
    )


def _addenda(svc: Services, key: bytes, rows: list[Any]) -> list[tuple[str, str, str]]:
    """Each addendum as ``(author, when, text)``."""
    return [
        (
            r.display_name,
            when(r.at) or "",
            svc.vault.open_text(key, "addendum", r.id, "text", r.text_enc),
        )
        for r in rows
    ]


def approved_note(svc: Services, caller: ApiCaller, note_id: str, endpoint: str) -> dict[str, Any]:
    """One approved note of the token's teams, whole: heading, sections, actions, hash.

    Args:
        svc: The app's services.
        caller: The accepted token.
        note_id: The note's id.
        endpoint: The route called, for the audit trail.

    Raises:
        NotFound: No approved note with this id in the token's teams.
    """
    vault = svc.vault
    row, key, names, addendum_rows, imported = _read_note(svc, caller, note_id, endpoint)
    recording_id = row.recording_id
    spoken = recorded_language(svc, key, recording_id)
    meta = _note_meta(svc, key, row, spoken)
    draft = open_draft(vault, key, row.id, row.draft_enc)
    work = vault.open_json(key, "note", row.id, "work", row.work_enc)
    text = vault.open_text(key, "note", row.id, "approved_text", row.approved_text_enc)
    participants = vault.open_json(
        key, "recording", recording_id, "participants", row.participants_enc
    )
    addenda = _addenda(svc, key, addendum_rows)
    author, approver = names.get(row.owner_id, ""), names.get(row.approved_by, "")
    exported = note_json(
        meta,
        draft,
        work,
        ApprovalInfo(
            author=author,
            approver=approver,
            approved_at=when(row.approved_at) or "",
            sha256=row.approved_sha256,
            policy_version=row.policy_version or "unrecorded",
        ),
        addenda,
    )
    return {
        "schema": "carenotes.api.note/1",
        "id": row.id,
        "team": row.team,
        "heading": {
            "case_reference": exported["case_reference"],
            "visit_type": exported["note_type"],
            "visit_type_title": exported["note_title"],
            "visit_date": exported["visit_date"],
            "present": [_present(p) for p in participants],
            **api_language(*spoken),
            "author": author,
            "approver": approver,
            "approved_at": when(row.approved_at),
        },
        "sections": _sections(cleaned_draft(draft), clean_tree(work)),
        "actions": exported["actions"],
        "addenda": exported["addenda"],
        "significant_event_topics": exported["significant_event_topics"],
        "text": text,
        "text_sha256": row.approved_sha256,
        "approval": {
            "approved_by": approver,
            "approved_at": when(row.approved_at),
            "sha256": row.approved_sha256,
            "hash_algorithm": "SHA-256 of the UTF-8 bytes of 'text'",
            "policy_version": row.policy_version or "unrecorded",
        },
        "import": imported,
    }


def _present(person: dict[str, Any]) -> dict[str, Any]:
    consent = person.get("consent") or {}
    return {
        "name": clean_line(str(person.get("name", ""))),
        "role": clean_line(str(person.get("role", ""))),
        "consent": {
            "given": bool(consent.get("given", False)),
            "method": clean_line(str(consent.get("method", ""))) or None,
            "given_by": clean_line(str(consent.get("given_by", ""))) or None,
        },
    }


def _sections(draft: Draft, work: dict[str, Any]) -> list[dict[str, Any]]:
    """Each section's kept statements in the reviewer's order, with review edits applied.

    The AI's actions are apart (``actions``); a statement the practitioner wrote is
    ``"written_by": "practitioner"`` (the AI's are ``"ai"``).
    """
    sections = []
    for section in draft.sections:
        drafted = {statement.id for statement in section.statements}
        statements = []
        for item_id in section_item_ids(work, section.key):
            item = work["items"][item_id]
            own = written_by_practitioner(item)
            if item_id not in drafted and not own:
                continue
            if item["status"] == "deleted" or not item["text"].strip():
                continue
            statements.append(
                {"id": item_id, "text": item["text"], "written_by": "practitioner" if own else "ai"}
            )
        sections.append(
            {
                "key": section.key,
                "title": section.title,
                "style": section.style,
                "statements": statements,
            }
        )
    return sections
