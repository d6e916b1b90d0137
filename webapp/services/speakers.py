"""Naming the speakers of a note: in the transcript, the draft's wording and its baseline.

A speaker label ("SPEAKER_2", written "Speaker 2" in the draft, or a role such as "the
person") is given a name or role in review. The name goes into every statement that
spoke of the label, and into the AI's wording kept as the baseline, so naming a speaker
is never counted as editing what the AI wrote (in the manager's comparison and the
review figures).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from policies import BadInput
from webapp.context import Services
from webapp.services.auth import CurrentUser
from webapp.services.note_items import drafted_items
from webapp.services.note_wording import speaker_as_written
from webapp.services.notes import mutate_work
from webapp.text import clean

if TYPE_CHECKING:
    from summarise import Draft

__all__ = ["rename_in", "rename_speaker", "renamed_baseline", "with_speaker_names"]


def _speaker_pattern(label: str) -> re.Pattern[str]:
    """How a draft writes a speaker: "Speaker 2", a name, or "the person" for a role."""
    # The drafting package loads the transcription package, and with it PyAV, NumPy and
    # SciPy (over a second): the web app loads it only when a speaker is named.
    from summarise import ROLE_WORDS

    role = label.strip().lower().replace("_", " ")
    if role in ROLE_WORDS:
        return re.compile(rf"\b[Tt]he {re.escape(role)}\b")
    return re.compile(rf"\b{re.escape(speaker_as_written(label))}\b")


def with_speaker_names(text: str, speakers: dict[str, str]) -> str:
    """``text`` as drafted, with each renamed speaker's label replaced by their name."""
    for label, name in speakers.items():
        if name != label and name != speaker_as_written(label):
            text = _speaker_pattern(label).sub(name, text)
    return text


def renamed_baseline(draft: Draft, work: dict[str, Any]) -> dict[str, str]:
    """The AI's statements as drafted, with every speaker naming applied to them too.

    Naming a speaker changes the wording of the note but is not an edit of what the AI
    wrote: the manager's comparison and the review figures measure edits against this.
    A note renamed before the baseline was kept gets the speakers' final names put into
    the draft's wording instead.
    """
    kept = work.get("baseline")
    drafted = drafted_items(draft)
    if kept is not None:
        return {item_id: kept.get(item_id, item["text"]) for item_id, item in drafted.items()}
    speakers = work.get("speakers", {})
    return {
        item_id: with_speaker_names(item["text"], speakers) for item_id, item in drafted.items()
    }


def rename_in(texts: dict[str, str], old: str, name: str) -> dict[str, tuple[str, str]]:
    """Put ``name`` where ``texts`` say ``old``, in place.

    Returns:
        ``{id: (before, after)}`` of the texts changed.
    """
    pattern = _speaker_pattern(old)
    changed = {}
    for item_id, text in texts.items():
        new_text = pattern.sub(name, text)
        if new_text != text:
            changed[item_id] = (text, new_text)
            texts[item_id] = new_text
    return changed


def rename_speaker(
    svc: Services, user: CurrentUser, recording_id: str, label: str, name: str, version: int
) -> tuple[int, dict[str, str]]:
    """Give a speaker label a role or name, in the transcript and the draft's wording.

    The same renaming is applied to the AI's wording kept as the baseline
    (``work["baseline"]``), so naming a speaker never counts as editing the AI draft.

    Returns:
        The note's new version, and every statement's text after the renaming.
    """
    name = " ".join(clean(name).split())
    if not name or len(name) > 80:
        raise BadInput("A speaker's name must be 1 to 80 characters long.")

    def change(work: dict[str, Any], draft: Draft) -> tuple[Any, Any]:
        if label not in work["speakers"]:
            raise BadInput(f"This transcript has no speaker {label!r}; reload the page.")
        old = work["speakers"][label]
        baseline = renamed_baseline(draft, work)
        work["speakers"][label] = name
        current = {item_id: item["text"] for item_id, item in work["items"].items()}
        changed = rename_in(current, old, name)
        for item_id, (_, new_text) in changed.items():
            work["items"][item_id]["text"] = new_text
        rename_in(baseline, old, name)
        work["baseline"] = baseline
        texts.update(current)
        before = {"speaker": old, "items": {k: v[0] for k, v in changed.items()}}
        return before, {"speaker": name, "items": {k: v[1] for k, v in changed.items()}}

    texts: dict[str, str] = {}
    new_version = mutate_work(svc, user, recording_id, version, "speaker_rename", label, change)
    return new_version, texts
