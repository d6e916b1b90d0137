"""The password policy: length, common passwords (also padded or repeated), names."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies import BadInput, PolicyError
from policies.passwords import (
    MIN_PASSWORD_LENGTH,
    check_new_password,
    load_password_policy,
)

SHIPPED_LIST = Path(__file__).resolve().parents[2] / "policies" / "common-passwords.txt"


def test_the_packaged_list_holds_thousands_of_common_passwords_in_lower_case():
    policy = load_password_policy()
    assert len(policy.common) > 19_000
    assert {"password", "123456", "qwerty", "iloveyou", "football"} <= policy.common
    lines = SHIPPED_LIST.read_text(encoding="utf-8").splitlines()
    assert all(line == line.lower() and line.strip() for line in lines)


@pytest.mark.parametrize(
    "password",
    [
        "password1234",  # in the list as it is
        "qwertyuiop123",
        "Password2026!",  # a common one with digits and a symbol added
        "  football 1999  ",
        "!!Manchester1!!",
        "iloveyou2024",
        "qwertyqwerty",  # a common one repeated
        "monkeymonkey",
        "aaaaaaaaaaaaaaaa",  # one character
        "123456789012",  # a run of digits
        "qwertyuiopas",  # a run along the keyboard
        "ZYXWVUTSRQPONM",  # the alphabet backwards
    ],
)
def test_a_common_password_is_refused_with_what_to_do_instead(password):
    with pytest.raises(BadInput, match="most common passwords") as caught:
        check_new_password(password, "sam", "Sam Social Worker")
    assert "three or four unrelated words" in str(caught.value)


@pytest.mark.parametrize(
    ("password", "username", "display_name"),
    [
        ("priya.patel is here", "ppatel", "Priya Patel"),  # a part of the full name
        ("my name is PATEL, ok", "ppatel", "Priya Patel"),  # whatever the case
        ("PriyaPatel-garden-gate", "ppatel", "Priya Patel"),  # the full name, run together
        ("ppatel-garden-gate", "ppatel", "Priya Patel"),  # the username
        ("sam-lives-at-the-farm", "sam", "Sam Social Worker"),  # a short username counts
        ("garden gate sam", "SAM", ""),
        ("carenotes is my job", "sam", "Sam"),  # the service's own name
    ],
)
def test_a_password_holding_the_username_or_name_is_refused(password, username, display_name):
    with pytest.raises(BadInput, match="must not contain your username, your name") as caught:
        check_new_password(password, username, display_name)
    assert "Choose another" in str(caught.value)


def test_a_short_password_is_refused_saying_how_long_it_must_be():
    with pytest.raises(BadInput, match=f"at least {MIN_PASSWORD_LENGTH} characters"):
        check_new_password("kettle-toas", "sam", "Sam")


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",
        "lamp orchard velvet quarry",
        "Tea at 4 with the Lindqvist twins",
        "x7#Lq9!vR2@mZ",
    ],
)
def test_a_long_uncommon_password_without_the_name_is_accepted(password):
    check_new_password(password, "sam", "Sam Social Worker")  # raises nothing
    assert not load_password_policy().is_common(password)


def test_short_parts_of_a_full_name_do_not_refuse_ordinary_words():
    # "Al" and "Li" are in many words; only parts of four letters or more are looked for.
    check_new_password("always a little lighter", "al.li", "Al Li")
    with pytest.raises(BadInput):
        check_new_password("always a little lighter", "ali", "Al Li")  # but the username


def test_a_missing_or_empty_list_is_a_clear_error_naming_the_file(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(PolicyError, match="empty.txt.*empty"):
        load_password_policy(empty)
    with pytest.raises(PolicyError, match="missing.txt.*could not be read"):
        load_password_policy(tmp_path / "missing.txt")


def test_a_councils_own_list_is_used_when_given(tmp_path):
    words = tmp_path / "ours.txt"
    words.write_text("Riverside\nleeds\n")
    policy = load_password_policy(words)
    assert policy.is_common("riverside2026!!") and policy.is_common("LeedsLeedsLeeds")
    policy.check("correct horse battery staple")
