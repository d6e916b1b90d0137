"""How a note's change targets and speaker labels are written for people to read."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from summarise import Draft

__all__ = ["speaker_as_written", "target_words"]


def target_words(draft: Draft | None, target: str) -> str:
    """A change's target as people read it: "statement 2 in Observations", "Speaker 1".

    Args:
        draft: The note's draft (for its section titles), if known.
        target: A statement or action id, a section key or a speaker label.
    """
    titles = {s.key: s.title for s in draft.sections} if draft is not None else {}
    if target in titles:
        return f"\u201c{titles[target]}\u201d"
    for key in sorted(titles, key=len, reverse=True):
        rest = target[len(key) + 1 :] if target.startswith(key + "-") else ""
        if rest.startswith("action-") and rest[7:].isdigit():
            return f"action {int(rest[7:]) + 1} in \u201c{titles[key]}\u201d"
        if rest.isdigit():
            return f"statement {rest} in \u201c{titles[key]}\u201d"
        if rest.startswith("added-") and rest[6:].isdigit():
            return f"the practitioner's statement {rest[6:]} in \u201c{titles[key]}\u201d"
    return speaker_as_written(target)


def speaker_as_written(name: str) -> str:
    """How a draft names an unrenamed speaker label: "SPEAKER_2" is written "Speaker 2"."""
    found = re.fullmatch(r"speaker[_\s]*(\d+)", name.strip(), re.IGNORECASE)
    return f"Speaker {found.group(1)}" if found else name
