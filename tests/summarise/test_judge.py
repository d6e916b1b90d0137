"""The model's second look for risks put in words no term or example matches."""

from __future__ import annotations

from typing import Any

import pytest

from policies.topics import Topic
from summarise.judge import judged_risky
from summarise.served import ModelServerUnavailable


class _Answers:
    """Answers the risk question from a table and writes nothing: not a model."""

    name, sha256 = "answers", "0" * 64

    def __init__(self, risky: dict[str, str]) -> None:
        self.risky = risky
        self.asked: list[str] = []

    def generate(self, messages: list[dict[str, str]], max_new_tokens: int = 128) -> str:
        text = messages[-1]["content"]
        if "yes or no" not in messages[0]["content"]:
            return ""  # a write-up: nothing, so the speaker's own words are kept
        self.asked.append(text)
        return next((reply for words, reply in self.risky.items() if words in text), "No.")


def test_only_a_clear_yes_counts_and_a_broken_model_counts_as_no() -> None:
    replies = iter(["Yes.", "yes", " No", "Yes and no", "I think so", "", "YES, because"])

    class _Replies:
        name, sha256 = "replies", "0" * 64

        def generate(self, messages: list[dict[str, str]], max_new_tokens: int = 128) -> str:
            reply = next(replies)
            if reply == "":
                raise RuntimeError("model crashed")
            return reply

    answers = judged_risky(_Replies(), [f"sentence {n}" for n in range(7)])
    assert answers == [True, True, False, True, False, False, True]


def test_where_the_model_says_how_sure_it_is_a_yes_must_pass_the_threshold() -> None:
    sureness = iter([0.95, 0.55, 0.2, None, 0.71])

    class _Sure:
        name, sha256 = "sure", "0" * 64

        def generate(self, messages: list[dict[str, str]], max_new_tokens: int = 128) -> str:
            raise AssertionError("a model that says how sure it is is not asked for words")

        def answer_probability(self, messages: list[dict[str, str]], answers: Any) -> float:
            assert tuple(answers) == ("yes", "no")
            value = next(sureness)
            if value is None:
                raise RuntimeError("model crashed")
            return value

    answers = judged_risky(_Sure(), [f"sentence {n}" for n in range(5)], threshold=0.7)
    assert answers == [True, False, False, False, True]


def test_a_model_server_that_is_down_fails_the_draft_so_it_is_retried() -> None:
    class _Down:
        name, sha256 = "down", "0" * 64

        def generate(self, messages: list[dict[str, str]], max_new_tokens: int = 128) -> str:
            raise ModelServerUnavailable("no answer from the model server")

    with pytest.raises(ModelServerUnavailable):
        judged_risky(_Down(), ["Some nights I think I could just walk out."])


def test_a_yes_flags_the_statement_as_a_possible_risk_and_moves_nothing(
    embedder: Any, templates: dict, topics: tuple[Topic, ...]
) -> None:
    from summarise import draft_note, transcript_from_turns

    transcript = transcript_from_turns([
        {"speaker": "social worker", "text": "How is money at the moment?"},
        {"speaker": "person",
         "text": "Our Kevin keeps hold of the post office money now and I never see it."},
        {"speaker": "person", "text": "I go to the lunch club at the church on Fridays."},
        {"speaker": "person", "text": "I had a fall on the stairs last week."},
    ])  # fmt: skip
    model = _Answers({"post office": "Yes"})
    silent = _Answers({})
    draft = draft_note(transcript, templates["home-visit"], model, embedder=embedder,
                       topics=topics)  # fmt: skip
    plain = draft_note(transcript, templates["home-visit"], silent, embedder=embedder,
                       topics=topics)  # fmt: skip

    def where(d: Any, words: str) -> list[tuple[str, tuple[str, ...]]]:
        return [(section.key, s.flags) for section in d.sections for s in section.statements
                if words in s.text]  # fmt: skip

    assert where(draft, "post office")[0][1] == ("high-stakes:possible-risk",)
    assert where(draft, "post office")[0][0] == where(plain, "post office")[0][0]  # not moved
    assert where(plain, "post office")[0][1] == ()
    assert where(draft, "lunch club")[0][1] == ()
    # A risk a term names keeps its named flag and is not asked about.
    assert where(draft, "a fall")[0][1] == ("high-stakes:falls",)
    assert not any("a fall" in a for a in model.asked)
    assert any("post office" in a for a in model.asked)
    assert "judge" in draft.prompt_version


@pytest.mark.slow
def test_the_packaged_model_sees_risks_in_everyday_words_and_not_in_ordinary_talk(
    writer: Any,
) -> None:
    risky = [
        "Mr Ellis said his nephew keeps his bank card and by Thursday his pension has gone.",
        "Mrs Shah said the smoke alarm has no battery in it and she lights candles at night.",
    ]
    ordinary = [
        "Mrs Shah said she goes to the bowls club on Thursdays with her neighbour.",
        "Mr Ellis said he does the crossword with his wife after lunch.",
    ]
    answers = judged_risky(writer, risky + ordinary)
    assert answers == [True, True, False, False]


@pytest.mark.slow
def test_the_packaged_model_is_surer_of_a_risk_than_of_ordinary_talk(writer: Any) -> None:
    from summarise.judge import _PROMPT

    def sureness(text: str) -> float:
        messages = _PROMPT + [{"role": "user", "content": text}]
        return float(writer.answer_probability(messages, ("yes", "no")))

    risk = sureness("He said he left the gas on all night and the kitchen smelt of gas.")
    chat = sureness("She said her granddaughter is learning to play the violin.")
    assert 0.0 <= chat < 0.5 < risk <= 1.0
    # The same prompt asked again, its start now cached, gives nearly the same answer
    # (computed in other batches, the sums round a little differently).
    again = sureness("She said her granddaughter is learning to play the violin.")
    assert again == pytest.approx(chat, abs=0.02)


def test_a_model_run_with_transformers_says_how_sure_it_is_too(drafter: Any) -> None:
    from summarise.judge import _PROMPT

    def sureness(text: str) -> float:
        messages = _PROMPT + [{"role": "user", "content": text}]
        return float(drafter.answer_probability(messages, ("yes", "no")))

    values = [sureness("He said he left the gas on all night."), sureness("She likes tea.")]
    assert all(0.0 < v < 1.0 for v in values)
    # "yes" against "no" is the complement of "no" against "yes".
    messages = _PROMPT + [{"role": "user", "content": "She likes tea."}]
    assert drafter.answer_probability(messages, ("no", "yes")) == pytest.approx(1 - values[1])
    assert drafter.generate(messages, max_new_tokens=3).strip()
