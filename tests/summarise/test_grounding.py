"""The grounding check, independent of the language model."""

from __future__ import annotations

from typing import Any

from policies.topics import Topic
from summarise import check_grounding

SOURCE = ("uh , probably since labor day , so about five weeks or so . i feel bloated every "
          "once in a while and i take lisinopril 20 mg a day .")  # fmt: skip


def test_a_faithful_third_person_statement_is_supported(embedder: Any) -> None:
    result = check_grounding(
        "The patient said that they feel bloated every once in a while.", [SOURCE],
        embedder=embedder,
    )  # fmt: skip
    assert "unsupported" not in result.flags
    assert result.support >= 0.45
    assert result.missing == ()


def test_a_planted_statement_of_suicidal_ideation_and_a_new_dose_is_unsupported(
    embedder: Any, topics: tuple[Topic, ...]
) -> None:
    result = check_grounding(
        "The patient reported suicidal ideation and takes 40 mg of sertraline.", [SOURCE],
        embedder=embedder, topics=topics,
    )  # fmt: skip
    assert "unsupported" in result.flags
    assert "number:40" in result.missing
    assert "medication:sertraline" in result.missing
    assert result.support < 0.3
    assert "high-stakes:risk-to-self" in result.flags and "high-stakes:medication" in result.flags


def test_a_negation_or_a_name_the_speaker_never_said_is_unsupported(embedder: Any) -> None:
    negated = check_grounding("The patient does not feel bloated.", [SOURCE], embedder=embedder)
    assert "unsupported" in negated.flags and "negation:negation" in negated.missing
    named = check_grounding("The patient said that Dr Patel saw them on Monday.", [SOURCE],
                            embedder=embedder)  # fmt: skip
    assert "name:patel" in named.missing and "date:monday" in named.missing


def test_numbers_written_as_words_or_digits_count_as_the_same(embedder: Any) -> None:
    result = check_grounding("The patient has felt unwell for about 5 weeks.", [SOURCE],
                             embedder=embedder)  # fmt: skip
    assert "number:5" not in result.missing


def test_a_statement_citing_nothing_is_unsupported() -> None:
    result = check_grounding("The patient is well.", [])
    assert result.support == 0.0 and "unsupported" in result.flags


def test_a_speakers_label_is_not_a_number_the_transcript_must_contain(
    embedder: Any, topics: tuple[Topic, ...]
) -> None:
    source = "My daughter comes round on Tuesdays to help with the shopping."
    result = check_grounding(
        "Speaker 2 said that their daughter comes round on Tuesdays to help with the shopping.",
        [source], embedder=embedder, topics=topics,
    )  # fmt: skip
    assert result.missing == ()
    assert not any(flag.startswith("high-stakes:numbers") for flag in result.flags)
    assert "unsupported" not in result.flags
    # A number in what was said is still checked, whoever is said to have said it.
    planted = check_grounding(
        "Speaker 2 said that their daughter comes round 3 times a week.",
        [source], embedder=embedder, topics=topics,
    )  # fmt: skip
    assert "number:3" in planted.missing and "unsupported" in planted.flags


def test_a_compound_number_in_words_is_the_same_as_its_figures() -> None:
    from summarise.grounding import critical_terms
    from summarise.social_eval import _covered, _tokens

    assert critical_terms("He's eighty-four and has Alzheimer's.")["number"] == {"84"}
    assert critical_terms("He is 84.")["number"] == {"84"}
    assert critical_terms("the number twenty six bus")["number"] == {"26"}
    # The scorer finds a script's "eighty-four" in a note drafted from audio ("84").
    assert _covered("eighty-four", _tokens("Mrs Hughes said her dad is 84."))
    assert not _covered("eighty-four", _tokens("Mrs Hughes said her dad is 80."))


def test_an_ordinal_in_words_is_the_same_as_its_figures() -> None:
    from summarise.grounding import critical_terms
    from summarise.social_eval import _covered, _tokens

    assert critical_terms("on the twenty-first")["number"] == critical_terms("the 21st")["number"]
    assert critical_terms("the twentieth")["number"] == {"20"}
    assert _covered("twentieth", _tokens("I'll see you both again on the 20th."))
    assert _covered("the ninth", _tokens("Tom Bailey will visit on the 9th of next month."))
    assert not _covered("twentieth", _tokens("on the 21st"))
