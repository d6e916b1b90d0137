"""An approved note's actions and significant-event topics, for the exported record.

Read from the approved working state: deleted items are left out, and an action edited
in review has its owner, what is to be done and its due date read back from its text.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from webapp.services.note_items import section_item_ids, written_by_practitioner

if TYPE_CHECKING:
    from summarise import Action, Draft, Statement

__all__ = ["note_actions", "significant_topics"]

_ACTION = re.compile(r"^(?P<who>[^:]{1,120}):\s*(?P<what>.+?)(?:\s+\(by (?P<when>[^)]+)\))?$", re.S)


def _action_parts(text: str) -> tuple[str | None, str, str | None]:
    """Owner, action and due date read back from an action's text."""
    found = _ACTION.match(text.strip())
    if found:
        return found["who"].strip(), found["what"].strip(), found["when"]
    return None, text.strip(), None


def note_actions(draft: Draft, work: dict[str, Any]) -> list[dict[str, Any]]:
    """The note's kept actions, each with its owner, what is to be done and when by.

    An action edited in review, or written by the practitioner in an actions section,
    has its parts read back from its text.
    """
    actions = []
    for section in draft.sections:
        drafted = {
            f"{section.key}-action-{index}": action for index, action in enumerate(section.actions)
        }
        for item_id in section_item_ids(work, section.key):
            item = work["items"][item_id]
            if item["status"] == "deleted" or not item["text"].strip():
                continue
            if item_id in drafted:
                action = drafted[item_id]
                owner: str | None = action.who
                what, due = action.what, action.by_when
                as_drafted = f"{owner}: {what}" + (f" (by {due})" if due else "")
                if item["text"] != as_drafted:  # edited in review: read the parts back
                    owner, what, due = _action_parts(item["text"])
                actions.append({"owner": owner, "action": what, "due": due, "text": item["text"]})
            elif section.style == "actions" and written_by_practitioner(item):
                owner, what, due = _action_parts(item["text"])
                actions.append(
                    {
                        "owner": owner,
                        "action": what,
                        "due": due,
                        "text": item["text"],
                        "written_by": "practitioner",
                    }
                )
    return actions


def significant_topics(draft: Draft, work: dict[str, Any]) -> list[str]:
    """The high-stakes topics flagged on statements and actions kept in the note."""
    topics: set[str] = set()
    for section in draft.sections:
        entries: list[tuple[str, Statement | Action]] = [(st.id, st) for st in section.statements]
        entries += [(f"{section.key}-action-{i}", a) for i, a in enumerate(section.actions)]
        for item_id, entry in entries:
            item = work["items"].get(item_id)
            if item is None or item["status"] == "deleted":
                continue
            for flag in entry.flags:
                if flag.startswith("high-stakes:"):
                    topics.add(flag.split(":", 1)[1])
    return sorted(topics)
