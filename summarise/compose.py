"""Putting the written statements into the template's sections, with actions and flags.

1. :func:`summarise.write.write_statements` writes up everything said, checked and cited.
2. Each statement goes to the section whose guidance it is closest to in meaning
   (all-MiniLM-L6-v2), among the sections that allow its speaker; a statement about a
   named risk leans to the risks section.
3. Agreed actions (:mod:`summarise.agreed`) come from the sentences that state them, one a clause:
   the owner is the speaker ("I'll"), the person spoken to ("you'll"), both ("we'll") or
   whoever is named; by when is the time said, if any.
4. A section asking for the person's words gets a verbatim quote.
5. Every statement and action is checked against its cited segments by the grounding
   check, and flagged only for what a practitioner must check: unsupported content, a
   named risk category, or a name or number the transcription was unsure of.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from policies.templates import Template, TemplateSection
from policies.topics import Topic, load_ordinary, match_topics
from summarise.agreed import agreed_actions, citation, states_action
from summarise.grounding import (
    check_grounding,
    embed,
    embed_fixed,
    similarities,
    topics_by_meaning,
)
from summarise.judge import POSSIBLE_RISK, judged_risky
from summarise.people import Cast, Person, cast_of
from summarise.text import split_sentences
from summarise.types import Action, DraftSection, NoteDrafter, Progress, Statement
from summarise.worth import is_social_housekeeping
from summarise.write import Written, write_statements
from transcribe.speakers import CHECK_SPEAKER
from transcribe.types import Segment, Transcript

__all__ = ["compose_sections"]

_EMPTY_NOTE = "Nothing was said about this in the recording."
_ANALYSIS_NOTE = "Nothing in the recording gives the practitioner's analysis; add your own here."
# A statement naming a risk leans this much towards a risks section.
_RISK_LEAN = 0.12
# How much the question a reply answers counts, beside the statement, in placing it.
_QUESTION_WEIGHT = 0.5
# Below this confidence, a name or number Whisper heard is flagged for checking.
_LOW_CONFIDENCE = 0.5
_RISK_TOPICS_EXCLUDED = {"names", "dates", "numbers", "addresses"}
# Flagged for checking, but facts of health rather than risks: they keep their own section.
_NOT_RISKS = {"medication", "carer-strain"}


def _allowed(section: TemplateSection, template: Template, person: Person) -> bool:
    if not section.speakers:
        return True
    if person.role in section.speakers:
        return True
    if person.role in template.speaker_roles:
        return False
    section_professional = all(r in _PROFESSIONAL_SET for r in section.speakers)
    return section_professional == person.professional if person.role else False


_PROFESSIONAL_SET = {"social worker", "practitioner", "supervisor", "chair", "doctor"}


def _quote(section: TemplateSection, template: Template, cast: Cast,
           segments: Sequence[Segment], embedder: Any) -> tuple[str, Segment] | None:  # fmt: skip
    candidates: list[tuple[str, Segment]] = []
    for segment in segments:
        person = cast.person(segment.speaker)
        if person.professional or not _allowed(section, template, person):
            continue
        for raw in split_sentences(segment.text):
            if len(raw.split()) >= 6 and not raw.endswith("?") and not is_social_housekeeping(raw):
                candidates.append((raw, segment))
    if not candidates:
        return None
    guide = embed_fixed(embedder, (f"{section.title}. {section.guidance}",))
    vectors = embed(embedder, [c[0] for c in candidates])
    best = int((vectors @ guide[0]).argmax())
    return candidates[best]


def _confidence_flags(text: str, segments: Sequence[Segment]) -> tuple[str, ...]:
    """Flag a name or number in the statement that Whisper was unsure it heard."""
    said = {w.lower() for w in re.findall(r"[A-Za-z0-9'£]+", text)}
    for segment in segments:
        for word in segment.words:
            token = word.text.strip(" ,.?!").lower()
            if not token or token not in said or word.probability >= _LOW_CONFIDENCE:
                continue
            raw = word.text.strip(" ,.?!")
            if any(c.isdigit() for c in raw) or raw[:1].isupper() or token in _NUMBER_WORDS:
                return ("check-transcription",)
    return ()


_NUMBER_WORDS = {
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "fifteen", "twenty", "thirty", "forty", "fifty", "sixty",
    "seventy", "eighty", "ninety", "hundred", "thousand", "pounds",
}  # fmt: skip


def compose_sections(
    transcript: Transcript,
    template: Template,
    drafter: NoteDrafter | None,
    report: Progress,
    *,
    topics: tuple[Topic, ...],
    embedder: Any,
    participants: Sequence[dict[str, str]] | None,
    long_visit_words: int,
    support_threshold: float,
) -> tuple[list[DraftSection], int, int]:
    """Draft every section of the template from the transcript.

    Returns:
        The sections, the model calls made and the model's sentences accepted.
    """
    cast = cast_of(transcript, participants, template.person)
    segments = transcript.segments
    written, calls, accepted = write_statements(
        segments,
        cast,
        drafter,
        states_action,
        lambda f: report(0.05 + 0.8 * f),
    )
    flag_topics = tuple(t for t in topics if t.key not in _RISK_TOPICS_EXCLUDED)
    prose = [s for s in template.sections if s.style != "actions"]
    by_meaning, judged = _risk_readings(written, drafter, embedder, flag_topics, report)
    placed = _place(written, template, prose, embedder, flag_topics, transcript,
                    long_visit_words, by_meaning)  # fmt: skip
    quotes = _section_quotes(prose, template, cast, segments, embedder, placed)
    report(0.9)
    actions = agreed_actions(segments, cast)
    pairs: list[tuple[str, str]] = []
    for section in prose:
        pairs.extend((w.text, " ".join(s.text for s in w.segments)) for w in placed[section.key])
    pairs.extend((f"{a.who} will {a.what}", seg.text) for a, seg in actions)
    checks = _Checks(iter(similarities(embedder, pairs)), flag_topics, support_threshold,
                     by_meaning, judged, cast)  # fmt: skip
    sections: list[DraftSection] = []
    for section in template.sections:
        statements: list[Statement] = []
        items: list[Action] = []
        if section.style == "actions":
            items = [_action_item(action, segment, checks) for action, segment in actions]
        else:
            quoted = quotes.get(section.key)
            if quoted is not None:
                text, segment = quoted
                statements.append(Statement(f"{section.key}-q", text, (citation(segment),),
                                            1.0, (), quote=True))  # fmt: skip
            statements += [_statement(f"{section.key}-{n}", w, checks)
                           for n, w in enumerate(placed[section.key], start=1)]  # fmt: skip
        note = ""
        if not statements and not items:
            note = _ANALYSIS_NOTE if section.key == "analysis" else _EMPTY_NOTE
        sections.append(DraftSection(section.key, section.title, section.style,
                                     tuple(statements), tuple(items), note))  # fmt: skip
    return sections, calls, accepted


def _risk_readings(
    written: list[Written],
    drafter: NoteDrafter | None,
    embedder: Any,
    flag_topics: tuple[Topic, ...],
    report: Progress,
) -> tuple[dict[int, tuple[str, ...]], set[int]]:
    """The risks each statement names by meaning, and the statements the model judged risky.

    Keyed by ``id()`` of the written statement.
    """
    # Risks said in everyday words, by meaning: flagged, and leaning to the risks section.
    meaning = topics_by_meaning(embedder, [w.text for w in written], flag_topics, load_ordinary())
    by_meaning = {id(w): keys for w, keys in zip(written, meaning, strict=True)}
    judged: set[int] = set()
    if drafter is not None:
        # Nothing matched by term or example: the model is asked whether it points to a
        # risk at all. A "yes" is a flag to check, named as the model's judgement; it does
        # not move the statement, nor name a risk the words did not.
        unmatched = [
            w for w in written if not by_meaning[id(w)] and not match_topics(w.text, flag_topics)
        ]
        answers = judged_risky(drafter, [w.text for w in unmatched],
                               lambda f: report(0.85 + 0.04 * f))  # fmt: skip
        judged = {id(w) for w, yes in zip(unmatched, answers, strict=True) if yes}
    return by_meaning, judged


def _section_quotes(
    prose: list[TemplateSection],
    template: Template,
    cast: Cast,
    segments: tuple[Segment, ...],
    embedder: Any,
    placed: dict[str, list[Written]],
) -> dict[str, tuple[str, Segment] | None]:
    """The person's own words for each section that asks for them, quoted once.

    The same words are taken out of the statements placed elsewhere in the note.
    """
    quotes: dict[str, tuple[str, Segment] | None] = {}
    for section in prose:
        if section.quote:
            quoted = quotes[section.key] = _quote(section, template, cast, segments, embedder)
            if quoted is not None:
                raw = quoted[0].strip()
                for key in placed:
                    placed[key] = [w for w in placed[key] if w.by_model or raw not in w.text]
    return quotes


@dataclass
class _Checks:
    """What checking a statement or an action needs, in the order the claims were paired."""

    sims: Iterator[float]
    flag_topics: tuple[Topic, ...]
    threshold: float
    by_meaning: dict[int, tuple[str, ...]]
    judged: set[int]
    cast: Cast


def _action_item(action: Action, segment: Segment, checks: _Checks) -> Action:
    check = check_grounding(f"{action.who} will {action.what}", [segment.text],
                            topics=checks.flag_topics, similarity=next(checks.sims),
                            threshold=checks.threshold)  # fmt: skip
    flags = tuple(f for f in check.flags if f != "unsupported")
    running = checks.cast.running_text
    return Action(running(action.who), running(action.what), action.by_when,
                  action.citations,
                  flags + _confidence_flags(action.what, [segment]))  # fmt: skip


def _statement(statement_id: str, w: Written, checks: _Checks) -> Statement:
    # Who said the cited words is part of the citation: "Linda Hughes started
    # turning it off" names no one the transcript's words do not.
    sources = [s.text for s in w.segments] + [
        checks.cast.person(s.speaker).name for s in w.segments
    ]
    check = check_grounding(w.text, sources, topics=checks.flag_topics,
                            similarity=next(checks.sims), threshold=checks.threshold)  # fmt: skip
    flags = check.flags
    if not w.by_model:  # the speaker's own words: supported by construction
        flags = tuple(f for f in flags if f != "unsupported")
    if not any(f.startswith("high-stakes:") for f in flags):
        # By meaning only where no term named a risk: a fallback for everyday words, not a
        # second opinion on a named one; the model's judgement only where neither did.
        flags += tuple(f"high-stakes:{k}" for k in checks.by_meaning[id(w)])
        if not checks.by_meaning[id(w)] and id(w) in checks.judged:
            flags += (POSSIBLE_RISK,)
    flags += _confidence_flags(w.text, w.segments)
    if any(CHECK_SPEAKER in seg.flags for seg in w.segments):
        flags += (CHECK_SPEAKER,)  # who said it was uncertain in the audio
    return Statement(
        id=statement_id,
        text=checks.cast.running_text(w.text),
        citations=tuple(citation(s) for s in w.segments),
        support=1.0 if not w.by_model else check.support,
        flags=tuple(dict.fromkeys(flags)),
    )


def _place(
    written: list[Written],
    template: Template,
    prose: list[TemplateSection],
    embedder: Any,
    topics: tuple[Topic, ...],
    transcript: Transcript,
    long_visit_words: int,
    by_meaning: dict[int, tuple[str, ...]],
) -> dict[str, list[Written]]:
    """Give each statement its section, best match first, within each section's cap."""

    placed: dict[str, list[Written]] = {s.key: [] for s in template.sections}
    if not written or not prose:
        return placed
    guidance = embed_fixed(embedder, tuple(f"{s.title}. {s.guidance}" for s in prose))
    vectors = embed(embedder, [_claim(w.text) for w in written])
    scores = vectors @ guidance.T
    # The question a reply answers says what it is about ("How is all this affecting
    # you?"): its closeness to each section adds to that of the statement itself.
    asked = _questions_answered(written, transcript)
    if any(asked):
        questions = embed(embedder, [q or "." for q in asked]) @ guidance.T
        for i, q in enumerate(asked):
            if q:
                scores[i] += _QUESTION_WEIGHT * questions[i]
    words = sum(len(s.text.split()) for s in transcript.segments)
    steps = 1 + words // long_visit_words
    caps = {s.key: 2 * s.max_statements * min(steps, 4) for s in prose}
    risky = [i for i, s in enumerate(prose) if "risk" in s.key or "safeguard" in s.key]
    is_risk = [bool(set(match_topics(w.text, topics) + by_meaning.get(id(w), ())) - _NOT_RISKS)
               for w in written]  # fmt: skip
    leaders = _leaders(written, is_risk)
    order = sorted((i for i in range(len(written)) if leaders[i] == i),
                   key=lambda i: -float(scores[i].max()))  # fmt: skip
    for i in order:
        w = written[i]
        row = scores[i].copy()
        if risky and is_risk[i]:
            for r in risky:
                row[r] += _RISK_LEAN
        ranked = sorted(range(len(prose)), key=lambda j: -float(row[j]))
        fitting = [
            prose[j] for j in ranked
            if _allowed(prose[j], template, w.speaker)
            and not (prose[j].quote and w.speaker.professional)
            and prose[j].key != "analysis"  # the practitioner's analysis is theirs to write
        ] or [prose[j] for j in ranked if prose[j].key != "analysis"]  # fmt: skip
        if not fitting:
            continue
        # A section's cap spreads statements over the note; on a visit of ordinary
        # length nothing said is left out because its best section is full.
        room = [s for s in fitting if len(placed[s.key]) < caps[s.key]]
        if room or steps == 1:
            placed[(room or fitting)[0].key].append(w)
    for i, leader in enumerate(leaders):
        if leader != i:  # "She went in 2019." stays with the sentence it follows on from
            home = next((k for k, ws in placed.items() if written[leader] in ws), None)
            if home is not None:
                placed[home].append(written[i])
    for key in placed:
        placed[key].sort(key=lambda w: (w.segments[0].id, written.index(w)))
    return placed


# A sentence that leans on the one before it: "She went in 2019.", "It was the pneumonia."
_FOLLOWS_ON = re.compile(r"^(?:he|she|they|it|that|this|these|those|there|his|her|their|"
                         r"its|then|also|but|and|so)\b", re.IGNORECASE)  # fmt: skip


def _leaders(written: list[Written], is_risk: list[bool]) -> list[int]:
    """For each statement, the statement whose section it takes: itself, or, for one
    that follows on from the statement before it from the same reply, that statement's
    leader. A risk does not follow a statement that names none: it finds its own section."""
    leaders = list(range(len(written)))
    for i in range(1, len(written)):
        w, before = written[i], written[i - 1]
        if w.speaker != before.speaker or w.segments[0].id != before.segments[0].id:
            continue
        if _FOLLOWS_ON.match(_claim(w.text)) and (is_risk[leaders[i - 1]] or not is_risk[i]):
            leaders[i] = leaders[i - 1]
    return leaders


def _questions_answered(written: list[Written], transcript: Transcript) -> list[str]:
    """The question just before each statement's reply, or ``""``."""
    segments = transcript.segments
    where = {s.id: i for i, s in enumerate(segments)}
    out = []
    for w in written:
        i = where.get(w.segments[0].id, 0)
        before = segments[i - 1] if i > 0 else None
        is_question = before is not None and before.text.rstrip().endswith("?")
        asked = is_question and before is not None and before.speaker != w.speaker.label
        out.append(split_sentences(before.text)[-1] if asked and before is not None else "")
    return out


def _claim(text: str) -> str:
    return re.sub(r'^[A-Z][\w\' ()-]{0,60}? said: "', "", text).rstrip('"')
