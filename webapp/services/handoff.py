"""Handing a checked draft to the approver, and the approver handing it back.

The social worker sends the draft for approval once every flag is resolved and every
section marked reviewed, with an optional message; its status is then "Ready for
approval" instead of "Being checked". An approver can return it with a comment, which
the worker sees on the note, and it is being checked again. Each hand-off is a new
version of the note (so it cannot cross an edit unseen) and is audited. The status is
read from the unencrypted action of the latest hand-off version, so the lists of notes
never decrypt anything; the message and comment are sealed with the note's key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from policies import BadInput, InvalidTransition
from webapp import db
from webapp.context import Services
from webapp.dates import written_time
from webapp.services.access import get_recording
from webapp.services.auth import CurrentUser
from webapp.services.notes import blockers, mutate_work
from webapp.text import clean

if TYPE_CHECKING:
    from summarise import Draft

__all__ = [
    "CHECKING",
    "READY",
    "STATE_WORDS",
    "HandOff",
    "hand_off_of",
    "hand_off_states",
    "return_for_changes",
    "send_for_approval",
]

#: The draft is with the social worker (never sent, or returned).
CHECKING = "checking"
#: The social worker has sent it for approval.
READY = "ready"
#: Each status as people read it.
STATE_WORDS = {CHECKING: "Being checked", READY: "Ready for approval"}
MAX_MESSAGE = 2000
_SEND, _RETURN = "send_for_approval", "return_for_changes"


@dataclass(frozen=True)
class HandOff:
    """Where a draft stands between the worker and the approver.

    Attributes:
        state: :data:`CHECKING` or :data:`READY`.
        who: Who last sent or returned it (empty if never).
        at: When, as people read it in UK time.
        message: The sender's message, or the approver's comment on returning it.
        returned: True when the approver returned it (the comment is for the worker).
    """

    state: str
    who: str = ""
    at: str = ""
    message: str = ""
    returned: bool = False

    @property
    def words(self) -> str:
        """The status as people read it."""
        return STATE_WORDS[self.state]


def _message(text: str, what: str) -> str:
    text = clean(text).strip()
    if len(text) > MAX_MESSAGE:
        raise BadInput(f"A {what} can be at most {MAX_MESSAGE} characters long.", field=what)
    return text


def send_for_approval(
    svc: Services, user: CurrentUser, recording_id: str, message: str, expected_version: int
) -> int:
    """Send a checked draft for approval; return the note's new version.

    Raises:
        InvalidTransition: Flags are unresolved or sections unreviewed, or it is
            already waiting for approval.
        BadInput: The message is too long.
        Forbidden: The user may not edit this note.
    """
    message = _message(message, "message")

    def change(work: dict[str, Any], draft: Draft) -> tuple[Any, Any]:
        if work.get("handoff") == READY:
            raise InvalidTransition("This note is already waiting for approval.")
        problems = blockers(draft, work)
        if problems:
            raise InvalidTransition(
                "The note cannot be sent for approval yet. " + " ".join(problems)
            )
        work["handoff"] = READY
        return {"handoff": CHECKING}, {"handoff": READY, "message": message}

    return mutate_work(svc, user, recording_id, expected_version, _SEND, "", change)


def return_for_changes(
    svc: Services, user: CurrentUser, recording_id: str, comment: str, expected_version: int
) -> int:
    """Return a draft sent for approval to the social worker, saying why.

    Raises:
        BadInput: No comment, or one too long.
        InvalidTransition: The note is not waiting for approval.
        Forbidden: The user may not approve this note.
    """
    comment = _message(comment, "comment")
    if not comment:
        raise BadInput(
            "Say what needs changing, so the social worker knows what to do.", field="comment"
        )
    with svc.engine.connect() as conn:
        get_recording(svc, conn, user, recording_id, need="approve")
        conn.rollback()

    def change(work: dict[str, Any], _draft: Draft) -> tuple[Any, Any]:
        if work.get("handoff") != READY:
            raise InvalidTransition(
                "Only a note sent for approval can be returned; this one is being checked."
            )
        work["handoff"] = CHECKING
        return {"handoff": READY}, {"handoff": CHECKING, "comment": comment}

    return mutate_work(svc, user, recording_id, expected_version, _RETURN, "", change)


def hand_off_states(conn: sa.Connection, note_ids: list[str]) -> dict[str, str]:
    """Each note's hand-off status (:data:`CHECKING` or :data:`READY`), decrypting nothing."""
    states = dict.fromkeys(note_ids, CHECKING)
    if not note_ids:
        return states
    v = db.note_versions.c
    rows = conn.execute(
        sa.select(v.note_id, v.action)
        .where(v.note_id.in_(note_ids), v.action.in_((_SEND, _RETURN)))
        .order_by(v.version)
    ).all()
    for note_id, action in rows:  # the latest wins
        states[note_id] = READY if action == _SEND else CHECKING
    return states


def hand_off_of(svc: Services, recording: Any, note_id: str) -> HandOff:
    """The latest hand-off of a note the caller may already read, with its message."""
    v = db.note_versions.c
    with svc.engine.connect() as conn:
        row = conn.execute(
            sa.select(db.note_versions, db.users.c.display_name)
            .join(db.users, db.users.c.id == v.actor_id)
            .where(v.note_id == note_id, v.action.in_((_SEND, _RETURN)))
            .order_by(v.version.desc())
            .limit(1)
        ).one_or_none()
    if row is None:
        return HandOff(state=CHECKING)
    key = svc.vault.data_key(recording.id, recording.wrapped_key)
    after = svc.vault.open_json(key, "note_version", row.id, "after", row.after_enc)
    returned = row.action == _RETURN
    return HandOff(
        state=CHECKING if returned else READY,
        who=row.display_name,
        at=written_time(db.as_utc(row.at)),
        message=str(after.get("comment" if returned else "message", "")),
        returned=returned,
    )
