"""Putting each written statement in the template section it belongs to.

A statement goes to the section whose guidance it is closest to in meaning
(all-MiniLM-L6-v2), with the question its reply answers counting too, among the sections
that allow its speaker; a statement naming a risk leans to the risks section; a sentence
that follows on from the one before it ("She went in 2019.") keeps that one's section;
and a section for some speakers' words left empty although they spoke takes the
statements of theirs nearly as close to it.
"""

from __future__ import annotations

import re
from typing import Any

from policies.templates import Template, TemplateSection
from policies.topics import Topic, match_topics
from summarise.grounding import embed, embed_fixed
from summarise.people import Person
from summarise.refusal import best_source
from summarise.text import split_sentences
from summarise.write import Written, _question_before, answer_only, asked_in, is_agreement
from transcribe.types import Transcript

__all__ = ["ASKS_WISHES", "WISH", "allowed", "claim", "place", "states_wish"]

# A statement naming a risk leans this much towards a risks section: enough that the
# risks said at a visit are found there, not scattered over the note in the order said.
_RISK_LEAN = 0.25
# How much less close to an empty section's guidance than to its own a statement may be
# and still be moved there.
_NEARLY = 0.1
# How much the question a reply answers counts, beside the statement, in placing it.
_QUESTION_WEIGHT = 0.5
# Flagged for checking, but facts of health rather than risks: they keep their own section.
_NOT_RISKS = {"medication", "carer-strain"}


# A wish or a feeling in the person's own words: what a section asking for them is for.
# Closeness in meaning to the section's guidance tells these apart from a disclosure
# too weakly ("I gave him my card number" came closer to "what matters to the person"
# than "I want to wash myself properly"), so the words count as well.
WISH = re.compile(
    r"\b(?:i|we)(?: just| really| still| only)? (?:want|wish|miss|hope|long)\b|"
    r"\b(?:i|we)(?:'d| would)(?: really| just)? (?:like|love|hate)\b|"
    r"\b(?:i|we) (?:don't|do not|never) want\b|\b(?:i'm|i am) not (?:going|moving|leaving)\b|"
    r"\b(?:i'm|i am|i feel|i get|i got)(?: so| really| a bit| very| quite)? "
    r"(?:scared|frightened|worried|lonely|happy|sad|low|fed up|embarrassed|ashamed|angry)\b|"
    r"\b(?:matters?|most important|means the world|not dignified)\b",
    re.IGNORECASE,
)
# A question asking for them: "What would you like…?", "What matters most to you?"
ASKS_WISHES = re.compile(
    r"\bwhat (?:would|do) you (?:like|want|wish|hope|miss)\b|\bwhat matters\b|"
    r"\b(?:what's|what is) (?:most )?important\b|"
    r"\bwhat (?:would|does) (?:a good day|help)\b|\bif you could\b",
    re.IGNORECASE,
)
# A wish said of someone in the note's words: "She said she wants to go back to the
# choir", "He does not want to move", "She loves the dementia café".
_WISH_REPORTED = re.compile(
    r"\b(?:wants?|wish(?:es)?|miss(?:es)?|hopes?|would (?:really |just )?(?:like|love)|"
    r"(?:does|did) not want|doesn't want|didn't want|is not (?:going|moving|leaving)|"
    r"looks? forward)\b|\b(?:matters?|important) to (?:him|her|them)\b|"
    # "She loves the café", not "No, love."
    r"\b(?:i|he|she|they|we)(?: really| still| just)? (?:loves?|enjoys?|likes?)\b",
    re.IGNORECASE,
)


def states_wish(text: str, question: str = "") -> bool:
    """Whether a statement says what someone wants, misses or cares about, in their own
    words or reported, or answers a question asking for it ("What matters most to you?").
    """
    said = answer_only(text)
    return bool(WISH.search(said) or _WISH_REPORTED.search(claim(said))
                or ASKS_WISHES.search(question))  # fmt: skip


def allowed(section: TemplateSection, template: Template, person: Person) -> bool:
    """Whether the template lets this person's words feed the section."""
    if not section.speakers:
        return True
    if person.role in section.speakers:
        return True
    if person.role in template.speaker_roles:
        return False
    section_professional = all(r in _PROFESSIONAL_SET for r in section.speakers)
    return section_professional == person.professional if person.role else False


_PROFESSIONAL_SET = {"social worker", "practitioner", "supervisor", "chair", "doctor"}


def place(
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
    vectors = embed(embedder, [claim(w.text) for w in written])
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
    purpose = next((s for s in prose if s.key == "purpose"), None)
    decisions = next((s for s in prose if s.key == "decisions"), None)
    for i in order:
        w = written[i]
        if decisions is not None and is_agreement(w.text):
            # 'Helen Price asked: "Are we agreed that the threshold is met?" Sam Oduya and
            # Karen Lloyd agreed.': what the meeting decided, whatever risk it names.
            placed[decisions.key].append(w)
            continue
        if purpose is not None and w.speaker.professional and _about_purpose(w):
            # "The reason I'm here is the call from the ambulance service": why the visit
            # happened belongs under its purpose, even when it names a risk.
            placed[purpose.key].append(w)
            continue
        row = scores[i].copy()
        if risky and is_risk[i]:
            for r in risky:
                row[r] += _RISK_LEAN
        ranked = sorted(range(len(prose)), key=lambda j: -float(row[j]))
        # "What matters to the person" holds what they want and care about; the rest of
        # what they said goes to the section it is about.
        wish = states_wish(w.text, asked[i])
        open_to = [prose[j] for j in ranked if _takes(prose[j], wish)]
        fitting = [
            s for s in open_to
            if allowed(s, template, w.speaker) and not (s.quote and w.speaker.professional)
        ] or open_to  # fmt: skip
        if not fitting:
            continue
        # A section's cap spreads statements over the note; on a visit of ordinary
        # length nothing said is left out because its best section is full.
        room = [s for s in fitting if len(placed[s.key]) < caps[s.key]]
        if room or steps == 1:
            placed[(room or fitting)[0].key].append(w)
    _fill_empty(placed, written, prose, scores, is_risk)
    where = _sections_of(placed)
    for i, leader in enumerate(leaders):
        # "She went in 2019." stays with the sentence it follows on from.
        if leader != i and id(written[leader]) in where:
            placed[where[id(written[leader])]].append(written[i])
    for key in placed:
        placed[key].sort(key=lambda w: (w.segments[0].id, written.index(w)))
    return placed


def _fill_empty(
    placed: dict[str, list[Written]],
    written: list[Written],
    prose: list[TemplateSection],
    scores: Any,
    is_risk: list[bool],
) -> None:
    """A section for some speakers' words ("Views of the parents and family") that is
    left empty although they spoke takes up to three of their statements from other
    sections: those nearly as close to its guidance as to their own section's. A
    statement naming a risk stays where it is."""
    where = _sections_of(placed)
    column = {s.key: n for n, s in enumerate(prose)}
    for j, section in enumerate(prose):
        if not section.speakers or placed[section.key] or section.quote:
            continue
        if section.key == _ANALYSIS:
            continue
        theirs = [i for i, w in enumerate(written)
                  if w.speaker.role in section.speakers and id(w) in where and not is_risk[i]
                  and len(placed[where[id(w)]]) > 1 and where[id(w)] in column
                  and scores[i][j] >= scores[i][column[where[id(w)]]] - _NEARLY]  # fmt: skip
        for i in sorted(theirs, key=lambda i: -float(scores[i][j]))[:3]:
            placed[where[id(written[i])]].remove(written[i])
            placed[section.key].append(written[i])
            where[id(written[i])] = section.key


# The practitioner's analysis is theirs to write: no one's words are placed there.
_ANALYSIS = "analysis"


def _takes(section: TemplateSection, wish: bool) -> bool:
    """Whether a section can take a statement at all: never the analysis, and a section
    for wishes only a statement of one."""
    return section.key != _ANALYSIS and (wish or not section.wishes)


def _sections_of(placed: dict[str, list[Written]]) -> dict[int, str]:
    """The section each placed statement is in, by ``id()`` of the statement."""
    return {id(w): key for key, ws in placed.items() for w in ws}


# A professional saying why the visit or meeting is happening.
_PURPOSE = re.compile(
    r"\b(?:the reason (?:i'm|i am|we're|we are) (?:here|visiting|meeting)|"
    r"(?:i'm|i am|we're|we are) here (?:today )?(?:to|because|about)\b|"
    r"asked us to (?:pop in|pop round|visit|come|see|call)|rang us|called us|"
    r"(?:we|i) (?:had|got|received) a (?:call|referral|report)\b|"
    r"this is (?:a|an|my|the|our) [\w' -]{0,40}(?:visit|assessment|meeting|review|discussion)\b|"
    r"the purpose of (?:the|this|today's) (?:visit|meeting))",
    re.IGNORECASE,
)


def _about_purpose(written: Written) -> bool:
    """Whether a statement says why the visit happened, in its words or in the sentence
    it was written from ("…came for a fire safety visit, and they asked us to pop in")."""
    if _PURPOSE.search(written.text):
        return True
    if not written.by_model:
        return False
    sentences = split_sentences(written.segments[0].text)
    return bool(sentences) and bool(_PURPOSE.search(best_source(written.text, sentences)))


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
        if _FOLLOWS_ON.match(claim(w.text)) and (is_risk[leaders[i - 1]] or not is_risk[i]):
            leaders[i] = leaders[i - 1]
    return leaders


def _questions_answered(written: list[Written], transcript: Transcript) -> list[str]:
    """The question just before each statement's reply, or ``""``."""
    segments = transcript.segments
    where = {s.id: i for i, s in enumerate(segments)}
    out = []
    for w in written:
        question = _question_before(segments, where.get(w.segments[0].id, 0))
        out.append(asked_in(question) if question is not None else "")
    return out


def claim(text: str) -> str:
    """A statement without its reporting frame ('Mrs Patel said: "')."""
    return re.sub(r'^[A-Z][\w\' ()-]{0,60}? said: "', "", text).rstrip('"')
