"""Extractive drafting of real conversations: structure, citations, quotes, grounding and
bad model output."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest

from policies import Template
from summarise import (
    PROMPT_VERSION,
    Draft,
    DraftOptions,
    Statement,
    draft_note,
    render_markdown,
    render_text,
    transcript_from_turns,
)
from summarise.grounding import critical_terms
from transcribe.types import Transcript

JUNK = re.compile(r"<\|?|\|>|im_start|im_end|think>|You write case notes|patient patient|fine fine")


def _entries(draft: Draft) -> list[Any]:
    return [e for s in draft.sections for e in (*s.statements, *s.actions)]


def _assert_cited_and_verbatim(draft: Draft, transcript: Transcript) -> None:
    by_id = {s.id: s for s in transcript.segments}
    for entry in _entries(draft):
        assert entry.citations, f"uncited: {entry}"
        for c in entry.citations:
            segment = by_id[c.segment_id]
            assert (c.start, c.end, c.speaker) == (segment.start, segment.end, segment.speaker)
        if isinstance(entry, Statement) and entry.quote:
            assert any(entry.text in by_id[c.segment_id].text for c in entry.citations)


@pytest.fixture(scope="module")
def real_draft(visit: Transcript, templates: dict[str, Template], drafter: Any,
               embedder: Any) -> Draft:  # fmt: skip
    return draft_note(visit, templates["clinical-soap"], drafter, embedder=embedder,
                      options=DraftOptions(mode="extractive"))  # fmt: skip


@pytest.mark.slow
def test_the_real_model_drafts_every_section_with_every_statement_cited(
    real_draft: Draft, visit: Transcript, templates: dict[str, Template]
) -> None:
    template = templates["clinical-soap"]
    assert [s.key for s in real_draft.sections] == [s.key for s in template.sections]
    required = {s.key for s in template.sections if s.required}
    for section in real_draft.sections:
        if section.key in required:
            assert section.statements or section.actions, section.key
        if not (section.statements or section.actions):
            assert section.note
    assert len(_entries(real_draft)) >= 10
    _assert_cited_and_verbatim(real_draft, visit)
    text = render_text(real_draft)
    assert "HISTORY OF PRESENT ILLNESS" in text and "ASSESSMENT AND PLAN" in text
    assert not JUNK.search(text)


@pytest.mark.slow
def test_the_draft_records_model_checksum_template_and_prompt_versions(
    real_draft: Draft, drafter: Any
) -> None:
    assert real_draft.model == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert re.fullmatch(r"[0-9a-f]{64}", real_draft.model_sha256)
    assert real_draft.model_sha256 == drafter.sha256
    assert (real_draft.template, real_draft.template_version) == ("clinical-soap", "1.0")
    assert real_draft.prompt_version == PROMPT_VERSION
    assert datetime.fromisoformat(real_draft.created_at).utcoffset() is not None
    assert real_draft.model_calls > 0
    assert Draft.from_dict(real_draft.to_dict()) == real_draft


@pytest.mark.slow
def test_model_rewrites_are_used_only_when_they_keep_the_facts(
    real_draft: Draft, visit: Transcript
) -> None:
    by_id = {s.id: s for s in visit.segments}
    for statement in (s for sec in real_draft.sections for s in sec.statements):
        source = " ".join(by_id[c.segment_id].text for c in statement.citations)
        ours, theirs = critical_terms(statement.text), critical_terms(source)
        if "unsupported" not in statement.flags:
            assert ours["number"] <= theirs["number"], statement.text
            assert ours["medication"] <= theirs["medication"] | set(source.lower().split())


@pytest.mark.slow
def test_a_home_visit_keeps_the_persons_own_words_as_a_verbatim_quote(
    dialogues: list[dict[str, Any]], templates: dict[str, Template], drafter: Any,
    embedder: Any,
) -> None:  # fmt: skip
    roles = {"doctor": "social worker", "patient": "person"}
    turns = [{**t, "speaker": roles[t["speaker"]]} for t in dialogues[1]["turns"]]
    transcript = transcript_from_turns(turns)
    draft = draft_note(transcript, templates["home-visit"], drafter, embedder=embedder,
                       options=DraftOptions(mode="extractive", max_model_calls=4))  # fmt: skip
    matters = next(s for s in draft.sections if s.key == "what-matters")
    quotes = [s for s in matters.statements if s.quote]
    assert quotes
    _assert_cited_and_verbatim(draft, transcript)
    for quote in quotes:
        assert all(c.speaker == "person" for c in quote.citations)
    markdown = render_markdown(draft)
    assert "## What matters to the person" in markdown and "## Agreed actions" in markdown


def test_garbage_from_the_model_still_gives_a_complete_faithful_cited_draft(
    visit: Transcript, templates: dict[str, Template], garbage: Any, embedder: Any
) -> None:
    options = DraftOptions(mode="extractive", max_model_calls=40, max_rewrite_words=60)
    draft = draft_note(visit, templates["home-visit"], garbage, embedder=embedder,
                       options=options)  # fmt: skip
    assert garbage.calls >= 10
    assert draft.model_accepted == 0
    assert [s.key for s in draft.sections] == [s.key for s in templates["home-visit"].sections]
    _assert_cited_and_verbatim(draft, visit)
    by_id = {s.id: s for s in visit.segments}
    for entry in _entries(draft):
        text = entry.text if isinstance(entry, Statement) else entry.what
        assert not JUNK.search(text), text
        assert "sertraline" not in text and "suicidal" not in text
        source = " ".join(by_id[c.segment_id].text for c in entry.citations)
        assert critical_terms(text)["number"] <= critical_terms(source)["number"]
    assert not JUNK.search(render_text(draft))


def test_a_disclosure_of_risk_and_abuse_in_the_conversation_is_flagged_high_stakes(
    dialogues: list[dict[str, Any]], templates: dict[str, Template], garbage: Any,
    embedder: Any,
) -> None:  # fmt: skip
    turns = list(dialogues[2]["turns"])
    disclosure = ("honestly some nights i think about killing myself , and my son hits me "
                  "when he has been drinking .")  # fmt: skip
    turns.insert(len(turns) // 2, {"speaker": "patient", "text": disclosure})
    transcript = transcript_from_turns(turns)
    planted = next(s.id for s in transcript.segments if s.text == disclosure)
    draft = draft_note(transcript, templates["home-visit"], garbage, embedder=embedder,
                       options=DraftOptions(mode="extractive"))  # fmt: skip
    citing = [e for e in _entries(draft) if any(c.segment_id == planted for c in e.citations)]
    assert citing, "the disclosure was left out of the draft"
    flags = {f for e in citing for f in e.flags}
    assert {"high-stakes:risk-to-self", "high-stakes:domestic-abuse"} <= flags


def test_a_two_hour_visit_is_drafted_completely_with_progress_to_the_end(
    dialogues: list[dict[str, Any]], templates: dict[str, Template], garbage: Any,
    embedder: Any,
) -> None:  # fmt: skip
    turns: list[dict[str, Any]] = []
    while sum(len(t["text"].split()) for t in turns) < 20_000:
        for dialogue in dialogues:
            turns.extend(dialogue["turns"])
    transcript = transcript_from_turns(turns)
    assert transcript.duration > 2 * 3600 * 0.9
    seen: list[float] = []
    options = DraftOptions(mode="extractive", window_segments=150)
    draft = draft_note(transcript, templates["home-visit"], garbage, seen.append,
                       embedder=embedder, options=options)  # fmt: skip
    assert seen[0] == 0.0 and seen[-1] == 1.0
    assert seen == sorted(seen)
    assert len(seen) > 10
    cited = [c.segment_id for e in _entries(draft) for c in e.citations]
    last_quarter = 3 * len(transcript.segments) // 4
    assert any(i >= last_quarter for i in cited), "the end of the visit was not read"
    caps = {s.key: s.max_statements * 4 + s.quote for s in templates["home-visit"].sections}
    assert all(len(s.statements) + len(s.actions) <= caps[s.key] for s in draft.sections)
    _assert_cited_and_verbatim(draft, transcript)


def test_a_dictation_by_the_worker_alone_names_the_person_not_the_others_present(
    templates: dict[str, Template], garbage: Any, embedder: Any
) -> None:
    turns = [
        {"speaker": "SPEAKER_1", "text": text}
        for text in (
            "Visited Mrs Jones at home this morning to review her care package.",
            "She told me the carers arrive late most mornings and she is worried about falls.",
            "I said you will hear from the occupational therapist about a grab rail next week.",
            "Her daughter visits on Sundays and helps with shopping and medication.",
        )
    ]
    transcript = transcript_from_turns(turns)
    draft = draft_note(transcript, templates["home-visit"], garbage, embedder=embedder,
                       options=DraftOptions(mode="extractive"))  # fmt: skip
    text = render_text(draft)
    assert "the others present" not in text.lower()
    assert "The person: Hear from the occupational therapist" in text
    _assert_cited_and_verbatim(draft, transcript)
