"""Validation of the language model's rewrites: nothing malformed or invented gets through."""

from __future__ import annotations

import pytest

from summarise.rewrite import validate_rewrite

SOURCE = "i have not been sleeping well since my husband died in march"


def test_a_faithful_third_person_rewrite_is_accepted_in_british_spelling() -> None:
    result = validate_rewrite("The patient has not been sleeping well since their husband "
                              "died in March.", SOURCE, "The patient")  # fmt: skip
    expected = "The patient has not been sleeping well since their husband died in March."
    assert result.text == expected
    color = validate_rewrite("The patient likes the color blue.", "i like the color blue",
                             "The patient")  # fmt: skip
    assert color.text == "The patient likes the colour blue."


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("<|im_start|>assistant The patient has not been sleeping well", "markup"),
        ("<think>third person</think> The patient has not slept", "markup"),
        ("Here is the rewrite: the patient has not been sleeping well", "thinking-or-echo"),
        (
            "The patient has been sleeping well since their husband died in March.",
            "changed-negation",
        ),
        (
            "The patient has not been sleeping well since their husband died in 2019.",
            "changed-number",
        ),
        ("I have not been sleeping well since my husband died in March.", "not-third-person"),
        (
            "The patient has not been sleeping well well well well well well since March.",
            "repetition",
        ),
        (
            "The patient has not been sleeping well since their husband was murdered in March.",
            "new-words",
        ),
        ("", "empty"),
        ("The patient.", "length"),
    ],
)
def test_a_bad_rewrite_is_refused_with_its_reason(reply: str, reason: str) -> None:
    result = validate_rewrite(reply, SOURCE, "The patient")
    assert result.text is None
    assert result.reason == reason
