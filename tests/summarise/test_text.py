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


@pytest.mark.parametrize(
    "sentence",
    [
        "Good afternoon, Mr Mehta, Mrs Mehta.",
        "I'm Claire Donovan, a social worker from the adult social care team.",
        "And I'm Priya.",
        "Oh, I'd love one, thank you.",
        "Those sound really important.",
        "I'm so sorry that happened, Arjun.",
        "That would be good, thank you.",
    ],
)
def test_greetings_introductions_and_words_of_support_are_housekeeping(sentence):
    from summarise.worth import is_social_housekeeping

    assert is_social_housekeeping(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "I'm scared of the kettle with one hand.",
        "I am worried about the money.",
        "That's important because he can't get out.",
        "It sounds daft but I miss work.",
    ],
)
def test_what_people_feel_and_fear_is_not_housekeeping(sentence):
    from summarise.worth import is_social_housekeeping

    assert not is_social_housekeeping(sentence)


def test_a_wish_of_the_person_is_not_an_action_but_a_professionals_plan_is():
    from summarise.actions import imperative_action, is_action

    assert not is_action("I want to wash myself properly.", intent=False)
    assert is_action("I'd also like to offer you a carer's assessment.", intent=True)
    assert imperative_action("And report it to Action Fraud too.") == "report it to Action Fraud"
    assert imperative_action("Take a seat.") is None
    assert imperative_action("Tell me about your day.") is None


@pytest.mark.parametrize(
    ("said", "written"),
    [
        ("The gas meter ran out on Thursday.", "The gas meter ran out on Thursday."),
        ("She walked two meters with the frame.", "She walked two metres with the frame."),
        ("Her favorite color is blue.", "Her favourite colour is blue."),
    ],
)
def test_british_spelling_keeps_a_gas_meter_and_changes_a_length(said: str, written: str) -> None:
    from summarise.text import british_spelling

    assert british_spelling(said) == written
