"""Text helpers: what counts as housekeeping rather than content of the visit."""

from __future__ import annotations

import pytest

from summarise.select import units_of
from summarise.text import is_housekeeping
from transcribe.types import Segment


@pytest.mark.parametrize(
    "sentence",
    [
        "Show me the chest x-ray.",
        "Finalize the note.",
        "The nurse will be in to see you.",
        "I'd like to do a quick physical exam.",
        "Let's go ahead and do a quick physical exam.",
        "I just wan na go over a little bit about my assessment and my plan for the patient.",
        "So let's talk about your medication.",
        "Okay, I'd like to go over what we agreed last time.",
        "Can we just talk a little bit about how you're managing at home?",
    ],
)
def test_instructions_to_a_dictation_system_are_housekeeping(sentence):
    assert is_housekeeping(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "I want to start you on metformin, 500 milligrams twice a day.",
        "She showed me the bruise on her arm.",
        "The nurse said he had not eaten since Tuesday.",
        "I want to talk about my son, he has not been to school for 3 weeks.",
        "She said we can discuss moving to the bungalow when her daughter visits next month"
        " and that she is worried about the stairs and the bathroom and the garden.",
        "We talked about her falls and she agreed to a pendant alarm.",
    ],
)
def test_sentences_about_the_person_are_not_housekeeping(sentence):
    assert not is_housekeeping(sentence)


def test_housekeeping_sentences_are_left_out_of_the_units_a_draft_is_made_from():
    segment = Segment(
        id=0,
        start=0.0,
        end=6.0,
        text="Show me the chest x-ray. Your lungs sound clear on both sides today.",
        speaker="doctor",
    )
    texts = [unit.text for unit in units_of((segment,), min_words=4, max_words=40)]
    assert texts == ["Your lungs sound clear on both sides today."]
