"""The practitioner's own statements and the order of a section's statements.

A statement the practitioner adds is kept beside the AI's, marked as theirs
(``author = "practitioner"``), so the page, every export and the manager's comparison
with the AI draft say who wrote it. Moving a statement saves the section's order.
Each change is a new version of the note, audited like every other edit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from policies import BadInput
from webapp.context import Services
from webapp.services.auth import CurrentUser
from webapp.services.note_items import PRACTITIONER, section_item_ids, written_by_practitioner
from webapp.services.notes import MAX_TEXT, mutate_work
from webapp.text import clean

if TYPE_CHECKING:
    from summarise import Draft

__all__ = ["MAX_ADDED", "add_statement", "move_item"]

#: Most statements a practitioner may add to one note.
MAX_ADDED = 200
_MOVES = ("up", "down")


def add_statement(
    svc: Services,
    user: CurrentUser,
    recording_id: str,
    section_key: str,
    text: str,
    expected_version: int,
) -> tuple[int, str]:
    """Add the practitioner's own statement at the end of a section.

    It is marked as written by the practitioner, not the AI, on the page, in every
    export and in the manager's comparison with the AI draft.

    Returns:
        The note's new version and the new statement's id.

    Raises:
        BadInput: No such section, or an empty or over-long text.
    """
    text = clean(text).strip()
    if not text:
        raise BadInput("Type the statement to add first.")
    if len(text) > MAX_TEXT:
        raise BadInput(f"A statement can be at most {MAX_TEXT} characters long.")
    new_id = ""

    def change(work: dict[str, Any], draft: Draft) -> tuple[Any, Any]:
        nonlocal new_id
        if section_key not in {s.key for s in draft.sections}:
            raise BadInput(f"This note has no section {section_key!r}; reload the page.")
        added = [i for i in work["items"].values() if written_by_practitioner(i)]
        if len(added) >= MAX_ADDED:
            raise BadInput(f"A note can have at most {MAX_ADDED} statements added in review.")
        number = 1 + sum(1 for i in added if i["section"] == section_key)
        new_id = f"{section_key}-added-{number}"
        while new_id in work["items"]:
            number += 1
            new_id = f"{section_key}-added-{number}"
        item = {
            "section": section_key,
            "text": text,
            "status": "added",
            "flagged": False,
            "author": PRACTITIONER,
        }
        work["items"][new_id] = item
        if section_key in work.get("order", {}):
            work["order"][section_key].append(new_id)
        return {"text": "", "status": "none"}, dict(item)

    version = mutate_work(svc, user, recording_id, expected_version, "add", lambda: new_id, change)
    return version, new_id


def move_item(
    svc: Services,
    user: CurrentUser,
    recording_id: str,
    item_id: str,
    direction: str,
    expected_version: int,
) -> int:
    """Move a statement one place up or down within its section; return the new version.

    Raises:
        BadInput: Unknown statement or direction, or it is already first (or last).
    """
    if direction not in _MOVES:
        raise BadInput(f"Unknown move {direction!r}; use up or down.")

    def change(work: dict[str, Any], _draft: Draft) -> tuple[Any, Any]:
        item = work["items"].get(item_id)
        if item is None:
            raise BadInput(f"This note has no statement {item_id!r}; reload the page.")
        order = section_item_ids(work, item["section"])
        at = order.index(item_id)
        to = at - 1 if direction == "up" else at + 1
        if not 0 <= to < len(order):
            raise BadInput(
                "This statement is already the first in its section."
                if direction == "up"
                else "This statement is already the last in its section."
            )
        before = list(order)
        order[at], order[to] = order[to], order[at]
        work.setdefault("order", {})[item["section"]] = order
        return (
            {"section": item["section"], "order": before},
            {"section": item["section"], "order": list(order)},
        )

    return mutate_work(svc, user, recording_id, expected_version, "reorder", item_id, change)
