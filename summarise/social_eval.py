"""Scoring drafts of scripted social-care conversations against what they must hold.

Each script lists the key facts a good note contains, the risks it must flag, the
actions agreed (owner, what, by when) and, optionally, things a faithful note must
not claim (a risk the person denied). A draft is scored on all of these, on how many
of its statements are flagged, and on whether it states anything the conversation
did not: a number or name nobody said, or a denied risk stated as present.
"""

from __future__ import annotations

import json
import re
import resource
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policies.errors import BadInput
from policies.templates import Template
from summarise.draft import DraftOptions, draft_note
from summarise.grounding import critical_terms
from summarise.render import render_text
from summarise.text import CARDINALS, COMPOUND_NUMBER, ORDINALS, _stem, content_words
from summarise.turns import transcript_from_turns
from summarise.types import Draft, NoteDrafter
from summarise.write import answer_only

__all__ = ["SocialScore", "read_scripts", "score_social", "evaluate_social"]

_NEGATION = re.compile(
    r"\b(?:no|not|never|denied|denies|without|nothing|none|nobody|no one|n't)\b", re.I
)


@dataclass(frozen=True)
class SocialScore:
    """How one draft of a scripted conversation measures up.

    Attributes:
        id: The script's id.
        template: Template drafted with.
        key_facts: Share of key facts covered (0 to 1).
        missed_facts: The key facts not covered.
        must_flag: Share of must-flag items found in a flagged statement.
        missed_flags: The must-flag items not flagged.
        actions: Share of agreed actions found with the right owner.
        actions_dated: Share found with the right owner and, where one was said, the date.
        missed_actions: The agreed actions not found with their owner.
        statements: Statements and actions in the draft.
        flagged: Share of them carrying any flag.
        unsupported: Share flagged ``"unsupported"``.
        invented: Things stated that the conversation did not say (numbers, names,
            denied risks stated as present).
        seconds: Time to draft.
        note: The draft as plain text.
    """

    id: str
    template: str
    key_facts: float
    missed_facts: tuple[str, ...]
    must_flag: float
    missed_flags: tuple[str, ...]
    actions: float
    actions_dated: float
    missed_actions: tuple[str, ...]
    statements: int
    flagged: float
    unsupported: float
    invented: tuple[str, ...]
    seconds: float
    note: str


def _nth(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _digits(text: str) -> str:
    """Numbers said in words written as figures: a transcript writes "84" and "20th"
    where a script has "eighty-four" and "twentieth", and both say the same fact."""

    def compound(m: re.Match[str]) -> str:
        if m[2] in ORDINALS:
            return _nth(CARDINALS[m[1]] + ORDINALS[m[2]])
        return str(CARDINALS[m[1]] + CARDINALS[m[2]])

    def word(m: re.Match[str]) -> str:
        if m[0] in ORDINALS:
            return _nth(ORDINALS[m[0]])
        return str(CARDINALS[m[0]]) if m[0] in CARDINALS else m[0]

    return re.sub(r"\b[a-z]+\b", word, COMPOUND_NUMBER.sub(compound, text))


def _tokens(text: str) -> set[str]:
    plain = _digits(text.lower())
    return {_stem(w) for w in re.findall(r"[a-z0-9£']+", plain.replace("-", " "))}


def _covered(phrase: str, tokens: set[str]) -> bool:
    wanted = _tokens(phrase)
    return bool(wanted) and wanted <= tokens


def read_scripts(paths: Iterable[str | Path]) -> list[dict[str, Any]]:
    """Read scripted conversations from files or folders of ``*.json`` files.

    Raises:
        BadInput: A file is missing, unreadable or lacks a required field.
    """
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files.extend(sorted(path.glob("*.json")))
        elif path.is_file():
            files.append(path)
        else:
            raise BadInput(f"{path}: no such file or folder.")
    scripts = []
    for file in files:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BadInput(f"{file}: not a readable JSON script ({exc}).") from exc
        for field in ("id", "template", "turns", "key_facts", "must_flag", "actions"):
            if field not in data:
                raise BadInput(f'{file}: field "{field}" is missing.')
        scripts.append(data)
    if not scripts:
        raise BadInput("no scripts found; give JSON script files or folders of them.")
    return scripts


def _roles_of(who: str, participants: list[dict[str, str]]) -> set[str]:
    roles = set()
    lowered = who.lower()
    for p in participants:
        name = (p.get("name") or "").lower()
        if name and name in lowered:
            roles.add((p.get("role") or "").lower())
    for role in ("social worker", "carer", "person", "parent", "child", "family member",
                 "supervisor", "practitioner", "other professional", "chair", "police",
                 "health", "education", "housing"):  # fmt: skip
        if role in lowered:
            roles.add(role)
    return roles


def score_social(script: dict[str, Any], draft: Draft, seconds: float = 0.0) -> SocialScore:
    """Score one draft against its script.

    Args:
        script: The script, as read by :func:`read_scripts`.
        draft: The draft made from its turns.
        seconds: How long drafting took.
    """
    note = render_text(draft)
    tokens = _tokens(note)
    facts = [f for f in script["key_facts"] if not _covered(f, tokens)]
    items: list[tuple[str, tuple[str, ...]]] = []
    for section in draft.sections:
        items.extend((s.text, s.flags) for s in section.statements)
        items.extend((f"{a.who} will {a.what} {a.by_when or ''}", a.flags) for a in section.actions)
    flags_missed = [
        m for m in script["must_flag"]
        if not any(f and _covered(m, _tokens(text)) for text, f in items)
    ]  # fmt: skip
    participants = script.get("participants") or []
    actions = [a for s in draft.sections for a in s.actions]
    found = dated = 0
    missed_actions = []
    for owner, what, when in script["actions"]:
        want = content_words(what)
        match = None
        for action in actions:
            if owner.lower() not in _roles_of(action.who, participants):
                continue
            have = content_words(action.what)
            if len(want & have) >= 0.5 * max(1, len(want)):
                match = action
                break
        if match is None:
            missed_actions.append(f"{owner}: {what}")
            continue
        found += 1
        said = _tokens(f"{match.what} {match.by_when or ''}")
        if not when or _covered(when, said):
            dated += 1
    total = max(1, len(items))
    spoken = " ".join(t["text"] for t in script["turns"])
    invented = _invented(note, spoken, script.get("must_not_claim") or [], draft)
    n_actions = max(1, len(script["actions"]))
    return SocialScore(
        id=script["id"],
        template=script["template"],
        key_facts=1 - len(facts) / max(1, len(script["key_facts"])),
        missed_facts=tuple(facts),
        must_flag=1 - len(flags_missed) / max(1, len(script["must_flag"])),
        missed_flags=tuple(flags_missed),
        actions=found / n_actions if script["actions"] else 1.0,
        actions_dated=dated / n_actions if script["actions"] else 1.0,
        missed_actions=tuple(missed_actions),
        statements=len(items),
        flagged=sum(1 for _, f in items if f) / total,
        unsupported=sum(1 for _, f in items if "unsupported" in f) / total,
        invented=tuple(invented),
        seconds=round(seconds, 1),
        note=note,
    )


def _invented(note: str, spoken: str, must_not: list[str], draft: Draft) -> list[str]:
    found: list[str] = []
    said = critical_terms(spoken)
    # Hyphenated words whole as well as in parts: "Roll-ups", "Fifty-three" were said.
    said_words = set(re.findall(r"[a-z0-9']+(?:-[a-z0-9']+)*", spoken.lower()))
    said_words |= set(re.findall(r"[a-z0-9']+", spoken.lower()))
    for section in draft.sections:
        for s in section.statements:
            ours = critical_terms(s.text)
            found.extend(f"number {n} in “{s.text}”" for n in ours["number"] - said["number"])
            found.extend(
                f"name {n} in “{s.text}”" for n in ours["name"]
                if n not in said["name"] and n not in said_words
            )  # fmt: skip
            # A question asked is no claim: 'X asked: "…hurt Geoff…?" Y said: "…"'.
            stated = answer_only(s.text)
            for claim in must_not:
                if _covered(claim, _tokens(stated)) and not _NEGATION.search(stated):
                    found.append(f"denied “{claim}” stated in “{s.text}”")
    return found


def evaluate_social(
    scripts: list[dict[str, Any]],
    templates: dict[str, Template],
    drafter: NoteDrafter,
    *,
    options: DraftOptions | None = None,
    on_item: Callable[[SocialScore], None] | None = None,
) -> tuple[list[SocialScore], float]:
    """Draft and score every script; return the scores and peak memory in MiB."""
    scores = []
    for script in scripts:
        template = templates.get(script["template"])
        if template is None:
            raise BadInput(f"{script['id']}: template '{script['template']}' is not known.")
        transcript = transcript_from_turns(script["turns"], source=script["id"])
        started = time.perf_counter()
        draft = draft_note(transcript, template, drafter, options=options,
                           participants=script.get("participants") or [])  # fmt: skip
        score = score_social(script, draft, time.perf_counter() - started)
        scores.append(score)
        if on_item:
            on_item(score)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return scores, peak / (1024 * 1024 if sys.platform == "darwin" else 1024)
