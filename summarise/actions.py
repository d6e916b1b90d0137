"""Finding agreed actions in what was said: who will do what, by when."""

from __future__ import annotations

import re
from dataclasses import dataclass

from summarise.text import british_spelling, third_person

__all__ = ["ActionParts", "action_clauses", "extract_action", "is_action"]

_CUE = re.compile(
    r"\b(?:i'll|i will|we'll|we will|you'll|you will|i'm going to|we're going to|"
    r"i'd like to|i would like to|i want to|"
    r"you're going to|i am going to|we are going to|going to (?:order|refer|schedule|"
    r"send|call|book|arrange|start|increase|decrease|prescribe|check|see|ring|visit|"
    r"contact)|let's|let us|i want you to|i'd like you to|i would like you to|"
    r"we need to|you need to|i need to|i'll be|agreed to|plan is to|follow up|follow-up|"
    r"refer|referral|schedule|book|arrange|come back|see you (?:in|next|back))\b",
    re.IGNORECASE,
)
_ORDINALS = (
    r"first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|"
    r"thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|"
    r"twentieth|twenty-\w+|thirtieth|thirty-first"
)
_WHEN = re.compile(
    r"\b(?:(?:by|on|before|until|next|this|within|in|after|for)\s+(?:the\s+)?"
    r"(?:(?:a|one|two|three|four|five|six|seven|eight|nine|ten|twelve|a couple of|a few|"
    r"\d+)\s+(?:days?|weeks?|months?|years?)|monday|tuesday|wednesday|thursday|friday|"
    r"saturday|sunday|week|month|year|weekend|end of (?:the )?(?:week|month)|"
    r"january|february|march|april|may|june|july|august|september|october|november|"
    r"december|\d{1,2}(?:st|nd|rd|th)?(?:\s+\w+)?|(?:" + _ORDINALS + r")(?: of (?:next|this) "
    r"month| of \w+)?)|tomorrow|today|tonight|"
    r"later today|next time|(?:at )?(?:the|my|our) next visit|"
    r"when (?:i|we) (?:come|get) back|(?:once|twice) (?:a|per) (?:day|week|month))\b",
    re.IGNORECASE,
)
_WHO = [
    (re.compile(r"^(?:i'll|i will|i'm going to|i am going to|i'd like to|i want to|i need to)\b",
                re.IGNORECASE), "speaker"),
    (re.compile(r"^(?:we'll|we will|we're going to|we are going to|let's|let us|we need to)\b",
                re.IGNORECASE), "both"),
    (re.compile(r"^(?:you'll|you will|you're going to|you are going to|you need to|"
                r"i want you to|i'd like you to|i would like you to)\b", re.IGNORECASE),
     "other"),
]  # fmt: skip


@dataclass(frozen=True)
class ActionParts:
    """An action pulled out of one utterance.

    Attributes:
        who: Who will do it.
        what: What will be done, in the speaker's words with the subject removed.
        by_when: When by, as said, or ``None``.
    """

    who: str
    what: str
    by_when: str | None


_CLAUSE_BREAK = re.compile(
    r"(?:,|;)?\s+(?:and|then|also)\s+(?=(?:i'll|i will|we'll|we will|you'll|you will|"
    r"i'm going to|we're going to)\b)|;\s+",
    re.IGNORECASE,
)
_FILLER_LEAD = re.compile(r"^(?:also|just|then|as well|too|definitely|probably)\s+", re.I)


def action_clauses(sentence: str) -> list[str]:
    """Split a sentence that states several actions into one clause per action.

    "I'll give you the number today, and we'll write a plan together" becomes two.
    """
    parts = [p.strip(" ,") for p in _CLAUSE_BREAK.split(sentence) if p and p.strip(" ,")]
    return [p for p in parts if is_action(p)] or [sentence]


def is_action(text: str) -> bool:
    """Return whether an utterance sounds like an agreed action or plan."""
    return _CUE.search(text) is not None


def extract_action(text: str, speaker: str, other: str) -> ActionParts | None:
    """Split an utterance into who / what / by when.

    Args:
        text: The cleaned utterance.
        speaker: How the note names the speaker ("The doctor").
        other: How the note names the person spoken to ("the patient").

    Returns:
        The parts, or ``None`` if no action is found.
    """
    match = _CUE.search(text)
    if match is None:
        return None
    clause = text[match.start() :]
    # Keep the clause's own subject when it starts just before the cue ("i'll", "you'll").
    who = "Not stated"
    what = clause
    for pattern, role in _WHO:
        found = pattern.match(clause)
        if found:
            who = {"speaker": speaker, "both": f"{speaker} and {other}", "other": other}[role]
            what = clause[found.end() :]
            break
    what = re.split(r"(?<=[.?!])\s", what.strip())[0].strip(" ,.?!")
    what = _FILLER_LEAD.sub("", what)
    when = _WHEN.search(what)
    by_when = when.group(0) if when else None
    what = third_person(what, other)
    if len(what.split()) < 2:
        return None
    what = british_spelling(what[0].upper() + what[1:])
    return ActionParts(who=who[0].upper() + who[1:], what=what, by_when=by_when)
