"""The change history of a note: who changed what, when, with the text before and after."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from webapp import db
from webapp.context import Services
from webapp.dates import written_time
from webapp.services.note_wording import target_words

if TYPE_CHECKING:
    from summarise import Draft

__all__ = ["Change", "note_history"]

_ACTION_WORDS = {
    "edit": "edited",
    "flag_resolve": "resolved a flag on",
    "section_reviewed": "marked reviewed",
    "speaker_rename": "renamed speaker",
    "add": "added",
    "restore": "restored",
    "reorder": "moved",
    "send_for_approval": "sent the note for approval",
    "return_for_changes": "returned the note for changes",
}


@dataclass(frozen=True)
class Change:
    """One saved change.

    Attributes:
        version: The note version the change produced.
        at: When, as people write it in UK time (``1 December 2026 at 14:05``).
        who: The person's display name.
        what: The change in words, e.g. ``"edited"``.
        target: The statement, section or speaker changed.
        before: Text or state before (decrypted).
        after: Text or state after (decrypted).
    """

    version: int
    at: str
    who: str
    what: str
    target: str
    before: str
    after: str


def _describe(value: Any) -> str:
    if isinstance(value, dict) and value.get("status") == "none":
        return "(none)"
    if isinstance(value, dict) and value.get("author") == "practitioner":
        return f"{value['text']} [written by the practitioner]"
    if isinstance(value, dict) and "handoff" in value:
        said = value.get("message") or value.get("comment") or ""
        words = {"ready": "ready for approval", "checking": "being checked"}[value["handoff"]]
        return f"{words}: {said}" if said else words
    if isinstance(value, dict) and "order" in value:
        return "order: " + ", ".join(str(v) for v in value["order"])
    if isinstance(value, dict) and "text" in value:
        return f"{value['text']} [{value.get('status', '')}]"
    if isinstance(value, dict) and "speaker" in value:
        return str(value["speaker"])
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)


def note_history(
    svc: Services, recording: Any, note_id: str, draft: Draft | None = None
) -> list[Change]:
    """Decrypt the changes of a note the caller has already been allowed to read.

    Args:
        svc: The app's services.
        recording: The recording row (its data key decrypts the changes).
        note_id: The note's id.
        draft: The note's draft, to name sections and statements by their titles.

    Returns:
        The changes, newest first.
    """
    with svc.engine.connect() as conn:
        rows = conn.execute(
            sa.select(db.note_versions, db.users.c.display_name)
            .join(db.users, db.users.c.id == db.note_versions.c.actor_id)
            .where(db.note_versions.c.note_id == note_id)
            .order_by(db.note_versions.c.version.desc())
        ).all()
    key = svc.vault.data_key(recording.id, recording.wrapped_key)
    vault = svc.vault
    changes = []
    for row in rows:
        at = db.as_utc(row.at)
        changes.append(
            Change(
                version=row.version,
                at=written_time(at),
                who=row.display_name,
                what=_ACTION_WORDS.get(row.action, row.action),
                target=target_words(draft, row.target or ""),
                before=_describe(
                    vault.open_json(key, "note_version", row.id, "before", row.before_enc)
                ),
                after=_describe(
                    vault.open_json(key, "note_version", row.id, "after", row.after_enc)
                ),
            )
        )
    return changes
