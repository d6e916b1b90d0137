"""The statements of a note's sections, in the reviewer's order, and who wrote each.

A note's working state keeps every statement (the AI's and any the practitioner
added) in ``work["items"]``. A section's statements are shown in the order the
drafter wrote them, followed by any the practitioner added, until the practitioner
moves one: from then on ``work["order"][section_key]`` holds the section's order.
A fresh draft's working state (:func:`initial_work`) has every item as drafted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from summarise import Action, Draft
    from transcribe import Transcript

__all__ = [
    "PRACTITIONER",
    "PRACTITIONER_MARK",
    "drafted_items",
    "initial_work",
    "item_id_for_action",
    "marked_text",
    "section_item_ids",
    "written_by_practitioner",
]

#: ``item["author"]`` of a statement the practitioner wrote (the AI's have none).
PRACTITIONER = "practitioner"
#: Put before a practitioner's own statement wherever the note is read as text.
PRACTITIONER_MARK = "[Written by the practitioner]"


def section_item_ids(work: dict[str, Any], section_key: str) -> list[str]:
    """The ids of a section's statements and actions, in the order the reviewer left them."""
    own = [item_id for item_id, item in work["items"].items() if item["section"] == section_key]
    chosen = work.get("order", {}).get(section_key)
    if not chosen:
        return own
    ordered = [item_id for item_id in chosen if item_id in work["items"]]
    return ordered + [item_id for item_id in own if item_id not in ordered]


def written_by_practitioner(item: dict[str, Any]) -> bool:
    """Whether a statement was written by the practitioner rather than drafted by the AI."""
    return item.get("author") == PRACTITIONER


def marked_text(item: dict[str, Any]) -> str:
    """A statement's text as exports show it: a practitioner's own marked as such."""
    if written_by_practitioner(item):
        return f"{PRACTITIONER_MARK} {item['text']}"
    return str(item["text"])


def item_id_for_action(section_key: str, index: int) -> str:
    """The stable id of the ``index``-th action of a section."""
    return f"{section_key}-action-{index}"


def _action_text(action: Action) -> str:
    text = f"{action.who}: {action.what}"
    return f"{text} (by {action.by_when})" if action.by_when else text


def drafted_items(draft: Draft) -> dict[str, dict[str, Any]]:
    """Every statement and action of a draft as the working state first holds it."""
    items: dict[str, dict[str, Any]] = {}
    for section in draft.sections:
        for st in section.statements:
            items[st.id] = {
                "section": section.key,
                "text": st.text,
                "status": "open" if st.flags else "ok",
                "flagged": bool(st.flags),
            }
        for i, action in enumerate(section.actions):
            items[item_id_for_action(section.key, i)] = {
                "section": section.key,
                "text": _action_text(action),
                "status": "open" if action.flags else "ok",
                "flagged": bool(action.flags),
            }
    return items


def initial_work(draft: Draft, transcript: Transcript) -> dict[str, Any]:
    """The working state of a fresh draft: every item as drafted, nothing reviewed."""
    speakers = {}
    for seg in transcript.segments:
        label = seg.speaker
        if label and label not in speakers:
            speakers[label] = label
    return {"items": drafted_items(draft), "reviewed": [], "speakers": speakers}
