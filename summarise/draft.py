"""Drafting a case note from a transcript, section by section, every statement cited.

How a draft is made, in bounded memory whatever the length of the visit:

1. Each segment is cleaned (fillers, stutters) and cut into sentence-sized units.
2. Units are embedded with all-MiniLM-L6-v2, one window of segments at a time, and
   each unit goes to the template section whose guidance it is closest to. Each
   section keeps only its best few units (near-duplicates dropped).
3. Each kept unit becomes a statement: a faithful extractive sentence in reported
   speech ("The patient said that ..."), which the language model may rewrite in
   the third person when its rewrite passes validation. Action sections get
   who / what / by when. Sections asking for the person's words get a verbatim quote.
4. Every statement is checked against its cited segments by the grounding check.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from policies.errors import BadInput
from policies.templates import Template, TemplateSection
from policies.topics import Topic, load_topics
from summarise.actions import extract_action, is_action
from summarise.compose import compose_sections
from summarise.grounding import (
    SUPPORT_THRESHOLD,
    check_grounding,
    embed,
    embed_fixed,
    similarities,
)
from summarise.judge import JUDGE_PROMPT_VERSION
from summarise.model import load_embedder
from summarise.rewrite import PROMPT_VERSION, rewrite_statement
from summarise.select import Selector, Unit, units_of
from summarise.text import (
    author_statement,
    reported_speech,
    speaker_label,
    split_sentences,
)
from summarise.types import (
    Action,
    Citation,
    Draft,
    DraftSection,
    NoteDrafter,
    Progress,
    Statement,
)
from summarise.write import WRITE_PROMPT_VERSION
from transcribe.types import Segment, Transcript

__all__ = ["DraftOptions", "draft_note"]

logger = logging.getLogger(__name__)

_EMPTY_NOTE = "Nothing was said about this in the recording."
# Share of the progress bar for choosing sentences, before the model's rewrites.
_SELECTION_SHARE = 0.15


@dataclass(frozen=True)
class DraftOptions:
    """How a draft is made.

    Attributes:
        window_segments: Segments embedded at a time; bounds memory on long visits.
        min_words: Units shorter than this (after cleaning) are not used.
        max_unit_words: Longer sentences are cut into units of at most this many words.
        min_similarity: A unit closer than this to no section's guidance is left out.
        dedupe_similarity: Units at least this similar to one already kept are dropped.
        max_model_calls: Most rewrite calls to the language model per draft; the rest
            of the statements stay extractive. 0 turns the model off.
        max_rewrite_words: Only utterances up to this many words are given to the
            model to rewrite.
        long_visit_words: Per-section caps grow by one step for every this many words.
        support_threshold: Grounding support below this is flagged ``"unsupported"``.
        device: Device for the embedding model (``"auto"``, ``"cpu"``, ``"cuda"``).
        mode: ``"write"``: the language model writes up everything said, each sentence
            checked; ``"extractive"``: chosen sentences in reported speech, with narrow
            rewrites (for the smallest machines and models).
    """

    window_segments: int = 200
    min_words: int = 4
    max_unit_words: int = 40
    min_similarity: float = 0.05
    dedupe_similarity: float = 0.9
    max_model_calls: int = 12
    max_rewrite_words: int = 25
    long_visit_words: int = 5000
    support_threshold: float = SUPPORT_THRESHOLD
    device: str = "auto"
    mode: str = "write"


_PROFESSIONALS = {
    "doctor", "nurse", "clinician", "gp", "social worker", "practitioner", "supervisor",
    "chair", "police", "health", "education", "other professional", "interviewer",
}  # fmt: skip


def _role(speaker: str | None) -> str:
    return (speaker or "").strip().lower().replace("_", " ")


def _allowed(section: TemplateSection, template: Template, speaker: str | None) -> bool:
    if not section.speakers:
        return True
    role = _role(speaker)
    if role in template.speaker_roles:
        return role in section.speakers
    # Speakers not labelled with the template's roles: keep professionals' words out of
    # sections meant for the person's (and the person's out of professionals').
    section_professional = all(r in _PROFESSIONALS for r in section.speakers)
    if role in _PROFESSIONALS:
        return section_professional
    return not section_professional or not role


def _other(speaker: str | None, transcript: Transcript, template: Template) -> str:
    """How the note names the person a speaker is talking to."""
    speakers = transcript.speakers or tuple(
        dict.fromkeys(s.speaker for s in transcript.segments if s.speaker)
    )
    others = [s for s in speakers if s != speaker]
    if len(others) == 1:
        label = speaker_label(others[0], template.person)
        return label[0].lower() + label[1:] if label.startswith("The ") else label
    if not others:  # a dictation: "you" is the person the note is about
        return template.person[0].lower() + template.person[1:]
    return "the others present"


def _citation(segment: Segment) -> Citation:
    return Citation(segment.id, segment.start, segment.end, segment.speaker)


def _quote_text(segment: Segment, min_words: int) -> str:
    """The longest sentence of the segment, exactly as transcribed."""
    sentences = split_sentences(segment.text) or [segment.text]
    best = max(sentences, key=lambda s: len(s.split()))
    return best if len(best.split()) >= min_words else ""


def draft_note(
    transcript: Transcript,
    template: Template,
    drafter: NoteDrafter,
    progress: Progress | None = None,
    *,
    options: DraftOptions | None = None,
    topics: tuple[Topic, ...] | None = None,
    embedder: Any = None,
    participants: Sequence[Mapping[str, str]] | None = None,
) -> Draft:
    """Draft a case note from a transcript, following a template.

    Args:
        transcript: The transcript to draft from.
        template: The template giving the sections.
        drafter: The loaded language model (``load_drafter()``), used for narrow
            rewrite calls whose output is validated before use.
        progress: Called with the fraction done, 0.0 to 1.0.
        options: How to draft; defaults suit the packaged model on a laptop.
        topics: High-stakes topics; defaults to ``policies.load_topics()``.
        embedder: Sentence-embedding model; defaults to the packaged all-MiniLM-L6-v2.
        participants: ``{"name", "role"}`` of each person present, as entered at
            upload; the note names speakers from them.

    Returns:
        The draft: every template section present, every statement cited and checked.
    """
    options = options or DraftOptions()
    topics = load_topics() if topics is None else topics
    embedder = embedder or load_embedder(options.device)
    report = progress or (lambda fraction: None)
    report(0.0)
    if options.mode not in ("write", "extractive"):
        raise BadInput(f"drafting mode '{options.mode}' is not known; use write or extractive.")
    if options.mode == "write":
        sections, calls, accepted = compose_sections(
            transcript, template, drafter if options.max_model_calls else None, report,
            topics=topics, embedder=embedder, participants=[dict(p) for p in participants or ()],
            long_visit_words=options.long_visit_words,
            support_threshold=options.support_threshold,
        )  # fmt: skip
        report(1.0)
        version = f"{WRITE_PROMPT_VERSION} {JUDGE_PROMPT_VERSION}"
        return _draft(template, sections, drafter, version, calls, accepted)
    segments = transcript.segments
    total_words = sum(len(s.text.split()) for s in segments)
    steps = 1 + total_words // options.long_visit_words
    caps = {s.key: s.max_statements * min(steps, 4) for s in template.sections}
    selector = Selector(template, caps, options.dedupe_similarity)
    guidance = embed_fixed(embedder, tuple(f"{s.title}. {s.guidance}" for s in template.sections))
    actions_keys = {s.key for s in template.sections if s.style == "actions"}
    windows = max(1, -(-len(segments) // options.window_segments))
    for w in range(windows):
        window = segments[w * options.window_segments : (w + 1) * options.window_segments]
        units = list(units_of(window, options.min_words, options.max_unit_words))
        if units:
            vectors = embed(embedder, [u.text for u in units])
            scores = vectors @ guidance.T
            for unit, vector, row in zip(units, vectors, scores, strict=True):
                _assign(unit, vector, row, template, selector, actions_keys, options)
        # Choosing sentences is quick; the model's rewrites take most of the time.
        report(_SELECTION_SHARE * (w + 1) / windows)
    sections, calls, accepted = _build_sections(
        transcript, template, drafter, selector, options, topics, embedder, report
    )
    report(1.0)
    return _draft(template, sections, drafter, PROMPT_VERSION, calls, accepted)


def _draft(
    template: Template,
    sections: list[DraftSection],
    drafter: NoteDrafter,
    prompt_version: str,
    calls: int,
    accepted: int,
) -> Draft:
    return Draft(
        template=template.name,
        template_version=template.version,
        sections=tuple(sections),
        model=drafter.name,
        model_sha256=drafter.sha256,
        prompt_version=prompt_version,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        model_calls=calls,
        model_accepted=accepted,
    )


def _assign(
    unit: Unit,
    vector: np.ndarray,
    row: np.ndarray,
    template: Template,
    selector: Selector,
    actions_keys: set[str],
    options: DraftOptions,
) -> None:
    action_like = is_action(unit.text)
    for index, section in enumerate(template.sections):
        if section.key in actions_keys and not action_like:
            continue
        if not _allowed(section, template, unit.segment.speaker):
            continue
        if float(row[index]) >= options.min_similarity:
            selector.offer(section.key, float(row[index]), unit, vector)


def _build_sections(
    transcript: Transcript,
    template: Template,
    drafter: NoteDrafter,
    selector: Selector,
    options: DraftOptions,
    topics: tuple[Topic, ...],
    embedder: Any,
    report: Progress,
) -> tuple[list[DraftSection], int, int]:
    calls = accepted = 0
    chosen = selector.resolve()
    planned: list[tuple[TemplateSection, list[Any]]] = []
    for section in template.sections:
        items: list[Any] = []
        for unit in chosen[section.key]:
            speaker = speaker_label(unit.segment.speaker, template.person)
            other = _other(unit.segment.speaker, transcript, template)
            if section.style == "actions":
                parts = extract_action(unit.text, speaker, other)
                if parts:
                    items.append(("action", parts, unit))
                continue
            if _role(unit.segment.speaker) in template.author_roles:
                text = author_statement(unit.text, other)
            else:
                text = reported_speech(unit.text, speaker, other, verb=template.reporting_verb)
            if text:
                items.append(("statement", text, unit, speaker))
        if section.quote:
            # The person's words from what the section kept, else its best candidate
            # the person said: a section asking for their words should have them.
            quoted = _pick_quote(
                section, template, [*chosen[section.key], *selector.ranked(section.key)]
            )
            if quoted is not None:
                items.insert(0, ("quote", quoted))
        planned.append((section, items))
    done, total = 0, max(1, sum(len(items) for _, items in planned))
    # The model rewrites what other people said (the author's words need no rewrite),
    # shortest first: short utterances are the ones a small model rewrites faithfully.
    eligible = sorted(
        (item[2].words, id(item[2]))
        for _, items in planned
        for item in items
        if item[0] == "statement"
        and _role(item[2].segment.speaker) not in template.author_roles
        and item[2].words <= options.max_rewrite_words
    )
    to_rewrite = {key for _, key in eligible[: options.max_model_calls]}
    finished: list[list[tuple[str, Any, Segment]]] = []
    for _section, items in planned:
        out: list[tuple[str, Any, Segment]] = []
        for item in items:
            if item[0] == "statement":
                _, text, unit, speaker = item
                if id(unit) in to_rewrite:
                    calls += 1
                    rewrite = rewrite_statement(drafter, unit.text, speaker)
                    if rewrite.text:
                        text = rewrite.text
                        accepted += 1
                out.append(("statement", text, unit.segment))
            elif item[0] == "quote":
                out.append(("quote", item[1][0], item[1][1]))
            else:
                out.append(("action", item[1], item[2].segment))
            done += 1
            report(_SELECTION_SHARE + (0.95 - _SELECTION_SHARE) * done / total)
        finished.append(out)
    sections = _grounded_sections(planned, finished, options, topics, embedder)
    return sections, calls, accepted


def _pick_quote(
    section: TemplateSection, template: Template, units: list[Unit]
) -> tuple[str, Segment] | None:
    for unit in units:
        role = _role(unit.segment.speaker)
        if role in _PROFESSIONALS or role in template.author_roles:
            continue
        if section.speakers and role in template.speaker_roles and role not in section.speakers:
            continue
        text = _quote_text(unit.segment, 6)
        if text:
            return text, unit.segment
    return None


def _grounded_sections(
    planned: list[tuple[TemplateSection, list[Any]]],
    finished: list[list[tuple[str, Any, Segment]]],
    options: DraftOptions,
    topics: tuple[Topic, ...],
    embedder: Any,
) -> list[DraftSection]:
    pairs = []
    for out in finished:
        for kind, payload, segment in out:
            if kind == "action":
                text = f"{payload.who} will {payload.what[:1].lower()}{payload.what[1:]}"
            else:
                text = payload
            pairs.append((text, segment.text))
    sims = iter(similarities(embedder, pairs))
    sections: list[DraftSection] = []
    for (section, _), out in zip(planned, finished, strict=True):
        statements: list[Statement] = []
        actions: list[Action] = []
        for n, (kind, payload, segment) in enumerate(out, start=1):
            text, source = pairs[len(statements) + len(actions) + _offset(sections)]
            check = check_grounding(text, [source], topics=topics, similarity=next(sims),
                                    threshold=options.support_threshold)  # fmt: skip
            if kind == "action":
                actions.append(Action(payload.who, payload.what, payload.by_when,
                                      (_citation(segment),), check.flags))  # fmt: skip
            else:
                statements.append(
                    Statement(
                        id=f"{section.key}-{n}",
                        text=payload,
                        citations=(_citation(segment),),
                        support=check.support,
                        flags=check.flags,
                        quote=kind == "quote",
                    )
                )
        note = "" if statements or actions else _EMPTY_NOTE
        sections.append(DraftSection(section.key, section.title, section.style,
                                     tuple(statements), tuple(actions), note))  # fmt: skip
    return sections


def _offset(sections: list[DraftSection]) -> int:
    return sum(len(s.statements) + len(s.actions) for s in sections)
