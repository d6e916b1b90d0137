"""Putting the written statements into the template's sections, with actions and flags.

1. :func:`summarise.write.write_statements` writes up everything said, checked and cited.
2. Each statement goes to its section (:mod:`summarise.placing`): the one whose guidance
   it and the question it answers are closest to in meaning, among the sections that
   allow its speaker; a statement about a named risk leans to the risks section.
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
from dataclasses import dataclass, replace
from typing import Any

from policies.templates import Template, TemplateSection
from policies.topics import Topic, everyday_saying, load_ordinary, match_topics
from summarise.agreed import agreed_actions, citation, states_action
from summarise.grounding import (
    check_grounding,
    embed,
    embed_fixed,
    similarities,
    topics_by_meaning,
)
from summarise.judge import POSSIBLE_RISK, judged_risky
from summarise.people import TITLE, Cast, cast_of
from summarise.placing import ASKS_WISHES, WISH, allowed, place
from summarise.refusal import ALLOWED_NEW, overlap
from summarise.text import content_words, split_sentences
from summarise.types import Action, DraftSection, NoteDrafter, Progress, Statement
from summarise.worth import is_social_housekeeping
from summarise.write import Written, answer_only, write_statements
from transcribe.speakers import CHECK_SPEAKER
from transcribe.types import Segment, Transcript

__all__ = ["compose_sections"]

_EMPTY_NOTE = "Nothing was said about this in the recording."
_ANALYSIS_NOTE = "Nothing in the recording gives the practitioner's analysis; add your own here."
# Below this confidence, a name or number Whisper heard is flagged for checking.
_LOW_CONFIDENCE = 0.5
_RISK_TOPICS_EXCLUDED = {"names", "dates", "numbers", "addresses"}


def _quote(section: TemplateSection, template: Template, cast: Cast,
           segments: Sequence[Segment], embedder: Any) -> tuple[str, Segment] | None:  # fmt: skip
    """The person's own words that best answer what the section asks, exactly as said.

    A candidate is one sentence of theirs, or the opening of a reply ("Stopping here.
    This flat. I'm not going in a home."), since short sentences together often say what
    matters. A reply to a question close to the section's guidance ("What matters most
    to you, Stan?") counts for more. Quotes are never cut mid-sentence, never start in
    the middle of one, and are checked to be the transcript's own characters.
    """
    candidates: list[tuple[str, Segment, int]] = []  # (words, segment, index of segment)
    for index, segment in enumerate(segments):
        person = cast.person(segment.speaker)
        if person.professional or not allowed(section, template, person):
            continue
        sentences = [t.strip() for t in split_sentences(segment.text)]
        kept = [t for t in sentences if _quotable(t)]
        for raw in kept:
            if len(raw.split()) >= 6 or (len(raw.split()) >= 3 and WISH.search(raw)):
                candidates.append((raw, segment, index))
        opening: list[str] = []
        for raw in sentences:
            # After a trailing-off ("It's... it's not dignified") the words go on.
            going_on = bool(opening) and opening[-1].endswith("...") and raw[:1].islower()
            if not (_quotable(raw) or going_on) or len(" ".join([*opening, raw]).split()) > 45:
                break
            opening.append(raw)
        run = " ".join(opening)
        if len(opening) > 1 and len(run.split()) >= 6 and run in segment.text:
            candidates.append((run, segment, index))
    if not candidates:
        return None
    guide = embed_fixed(embedder, (f"{section.title}. {section.guidance}",))[0]
    vectors = embed(embedder, [c[0] for c in candidates])
    asked = {i: _question(segments, i) for _t, _s, i in candidates}
    questions = [q for q in dict.fromkeys(asked.values()) if q]
    weight: dict[str, float] = {}
    if questions:
        weight = dict(zip(questions, (embed(embedder, questions) @ guide).tolist(), strict=True))
    scores = [
        float(vector @ guide)
        + 0.5 * max(0.0, float(weight.get(asked[i], 0.0)))
        + (_WISH_WEIGHT if WISH.search(text) else 0.0)
        + (_ASKED_WEIGHT if ASKS_WISHES.search(asked[i]) else 0.0)
        for vector, (text, _s, i) in zip(vectors, candidates, strict=True)
    ]
    text, segment, _index = candidates[max(range(len(scores)), key=scores.__getitem__)]
    # A sentence of the opening of a reply is quoted with the rest of that opening:
    # "I don't want people fussing." says more after "Staying in my own home. And my
    # independence."
    run = next((t for t, s, _i in candidates if s is segment and text in t and t != text), "")
    return run or text, segment


# How much each counts, beside closeness in meaning (cosine, mostly 0 to 0.3 here): the
# answer to "What matters most to you?" is the surest.
_WISH_WEIGHT, _ASKED_WEIGHT = 0.15, 0.25


def _quotable(sentence: str) -> bool:
    """Whether a sentence can stand in a quote of what the person said."""
    return (
        bool(sentence)
        and sentence[0].isupper()
        and not sentence.endswith("?")
        and not is_social_housekeeping(sentence)
        and not re.match(r"^(?:i'll|i will|i'm going to)\b", sentence, re.IGNORECASE)
    )


def _question(segments: Sequence[Segment], index: int) -> str:
    """The question someone else asked just before ``segments[index]``, or ``""``."""
    if index == 0 or segments[index - 1].speaker == segments[index].speaker:
        return ""
    asked = [t for t in split_sentences(segments[index - 1].text) if t.rstrip().endswith("?")]
    return asked[-1].strip() if asked else ""


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
    present, written = _introductions(written, segments, cast)
    by_meaning, judged = _risk_readings(written, drafter, embedder, flag_topics, report)
    placed = place(written, template, prose, embedder, flag_topics, transcript,
                    long_visit_words, by_meaning)  # fmt: skip
    quotes, replaced = _section_quotes(prose, template, cast, segments, embedder, placed)
    report(0.9)
    actions = agreed_actions(segments, cast)
    pairs: list[tuple[str, str]] = []
    for section in prose:
        pairs.extend((w.text, " ".join(s.text for s in w.segments)) for w in placed[section.key])
    checks = _Checks(iter(similarities(embedder, pairs)), flag_topics, support_threshold,
                     by_meaning, judged, cast)  # fmt: skip
    sections: list[DraftSection] = []
    for section in template.sections:
        statements: list[Statement] = []
        items: list[Action] = []
        if section.style == "actions":
            items = [_action_item(action, segment, cast) for action, segment in actions]
        else:
            quoted = quotes.get(section.key)
            if quoted is not None:
                text, segment = quoted
                # The person's words, verbatim: supported by construction, but a risk in
                # them is flagged like any other, and as the statements it replaced were.
                named = tuple(f"high-stakes:{k}" for k in match_topics(text, flag_topics))
                gone = replaced.get(section.key, [])
                named += tuple(f"high-stakes:{k}" for w in gone for k in by_meaning[id(w)])
                if not named and any(id(w) in judged for w in gone):
                    named = (POSSIBLE_RISK,)
                named = tuple(dict.fromkeys(named))
                statements.append(Statement(f"{section.key}-q", text, (citation(segment),),
                                            1.0, named, quote=True))  # fmt: skip
            if present is not None and section is prose[0]:
                statements.append(replace(present, id=f"{section.key}-present"))
            statements += [_statement(f"{section.key}-{n}", w, checks)
                           for n, w in enumerate(placed[section.key], start=1)]  # fmt: skip
        note = ""
        if not statements and not items:
            note = _ANALYSIS_NOTE if section.key == "analysis" else _EMPTY_NOTE
        sections.append(DraftSection(section.key, section.title, section.style,
                                     tuple(statements), tuple(items), note))  # fmt: skip
    return sections, calls, accepted


# "Kirsty Webb, Lee's social worker in the learning disability team." or "It's Bethan
# Lloyd, the social worker from the community team.": a speaker's own name, then a role.
_TITLES = rf"(?:(?:{TITLE}|DI|Sergeant|Doctor)\.?\s+)?"


def _introduces(sentence: str, name: str) -> bool:
    """Whether the sentence is the speaker's own name followed by a role."""
    return bool(re.match(
        rf"^(?:(?:it's|it is|this is)\s+)?{_TITLES}{re.escape(name)}\s*,\s*[^.?!]{{3,120}}[.!]?$",
        sentence.strip(),
        re.IGNORECASE,
    ))  # fmt: skip


def _introductions(
    written: list[Written], segments: Sequence[Segment], cast: Cast
) -> tuple[Statement | None, list[Written]]:
    """Gather the speakers' introductions of themselves into one statement of who was there.

    Round the table at a meeting each person gives their name and role; written up one by
    one ("Kirsty Webb said: 'Kirsty Webb, Lee's social worker…'") they are scattered over
    the note and their words ("safeguarding lead", "exploitation team") read as risks.
    Where two or more people introduce themselves, one statement, first in the note,
    keeps each introduction as it was said, citing it; the statements written from the
    introductions are left out.
    """
    said: list[tuple[Segment, str]] = []
    only: set[int] = set()  # segments that say nothing but an introduction
    names: set[str] = set()
    for segment in segments:
        person = cast.person(segment.speaker)
        sentences = split_sentences(segment.text) if person.named else []
        intro = [t for t in sentences if _introduces(t, person.name)]
        if intro:
            said.append((segment, intro[0].strip().rstrip(".!")))
            names.add(person.name)
            rest = [t for t in sentences if t not in intro and not is_social_housekeeping(t)]
            if not rest:
                only.add(segment.id)
    if len(said) < 2:  # one person saying who they are is no round of introductions
        return None, written
    kept = [
        w for w in written
        if not ((w.by_model and w.segments[0].id in only)
                or any(_introduces(t, n) for t in _quoted(w.text) for n in names))
    ]  # fmt: skip
    text = "Introductions: " + "; ".join(words for _, words in said) + "."
    present = Statement(id="present", text=text,
                        citations=tuple(citation(segment) for segment, _ in said),
                        support=1.0, flags=())  # fmt: skip
    return present, kept


def _restates(written: Written, quote: str, segment: Segment) -> bool:
    """Whether a model's sentence only says again, from the same reply, what is quoted."""
    if written.segments[0].id != segment.id:
        return False
    own = content_words(written.text) - ALLOWED_NEW - content_words(written.speaker.name)
    return overlap(own, content_words(quote)) >= 0.7


def _within(text: str, quote: str) -> bool:
    """Whether all the words a statement quotes are inside ``quote``; the question a
    reply answers is not counted ('X asked: "What would you like?" Y said: "…"').
    """
    said = re.findall(r'"([^"]+)"', answer_only(text))
    return bool(said) and all(q.strip() in quote for q in said)


def _quoted(text: str) -> list[str]:
    """The words a statement quotes, sentence by sentence."""
    return [t for q in re.findall(r'"([^"]+)"', text) for t in split_sentences(q)]


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
            w for w in written
            if not by_meaning[id(w)] and not match_topics(w.text, flag_topics)
            and not everyday_saying(w.text)  # "I could murder a cup of tea" is asked no more
        ]  # fmt: skip
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
) -> tuple[dict[str, tuple[str, Segment] | None], dict[str, list[Written]]]:
    """The person's own words for each section that asks for them, quoted once.

    The same words are taken out of the statements placed elsewhere in the note; those
    taken out are returned by section, so that the quote keeps their flags.
    """
    quotes: dict[str, tuple[str, Segment] | None] = {}
    replaced: dict[str, list[Written]] = {}
    for section in prose:
        if section.quote:
            quoted = quotes[section.key] = _quote(section, template, cast, segments, embedder)
            if quoted is not None:
                raw = quoted[0].strip()
                for key in placed:
                    gone = [
                        w for w in placed[key]
                        if raw in w.text or _within(w.text, raw)
                        or (w.by_model and _restates(w, raw, quoted[1]))
                    ]  # fmt: skip
                    placed[key] = [w for w in placed[key] if w not in gone]
                    replaced.setdefault(section.key, []).extend(gone)
    return quotes, replaced


@dataclass
class _Checks:
    """What checking a statement or an action needs, in the order the claims were paired."""

    sims: Iterator[float]
    flag_topics: tuple[Topic, ...]
    threshold: float
    by_meaning: dict[int, tuple[str, ...]]
    judged: set[int]
    cast: Cast


def _action_item(action: Action, segment: Segment, cast: Cast) -> Action:
    # An action is taken from the words it cites, so it is not checked for support; and
    # it is the response to a risk, flagged where the risk was said: "refer her to the
    # falls clinic" needs its owner and date checked, not a falls flag of its own. Only
    # an uncertain transcription of its words is flagged.
    running = cast.running_text
    what = _named_once(running(action.what), [p.name for p in cast.people.values() if p.named])
    return Action(running(action.who), what, action.by_when,
                  action.citations, _confidence_flags(action.what, [segment]))  # fmt: skip


def _named_once(text: str, names: list[str]) -> str:
    """An action that names someone more than once says "their" after the first time:
    "Ring Winifred Ashworth's GP and ask them to check Winifred Ashworth's weight" reads
    "…to check their weight"; "a carer's assessment of Priya Mehta's own", "of their own"."""
    for name in names:
        first = text.find(name)
        if first < 0:
            continue
        head, tail = text[: first + len(name)], text[first + len(name) :]
        text = head + re.sub(re.escape(name) + r"'s\b", "their", tail)
    return text


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
