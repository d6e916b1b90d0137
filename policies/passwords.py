"""What a new password must be: long enough, not a common one, not the person's own name.

The common passwords are data: ``policies/common-passwords.txt`` (its source and
licence are in ``policies/common-passwords.md``). Because carenotes asks for at least
12 characters, a common password is also refused when it has only been padded out:
with digits, spaces or symbols before or after it (``Password2026!``), or repeated
(``qwertyqwerty``). A run along the keyboard, the alphabet or the digits
(``qwertyuiopas``, ``123456789012``) and one character repeated are refused as well, as
is a password holding the person's username or name, or the name of this service.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from policies.errors import BadInput, PolicyError

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "PasswordPolicy",
    "check_new_password",
    "load_password_policy",
]

#: The shortest password accepted.
MIN_PASSWORD_LENGTH = 12

_COMMON_FILE = Path(__file__).with_name("common-passwords.txt")

#: Words of this service itself, never part of a password.
_SERVICE_WORDS = ("carenotes",)

#: What a password may be padded with before or after a common one.
_PADDING = re.compile(r"^[\W\d_]+|[\W\d_]+$")

#: Rows a person runs a finger along; a password that is a stretch of one is refused.
_RUNS = (
    "01234567890123456789",
    "abcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjklzxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "qazwsxedcrfvtgbyhnujmikolp",
)

_ADVICE = (
    "Choose another: three or four unrelated words, with spaces between them, make a "
    "password that is long, hard to guess and easy to remember."
)


@dataclass(frozen=True)
class PasswordPolicy:
    """The rules a new password must meet.

    Attributes:
        min_length: The fewest characters accepted.
        common: Common passwords, in lower case, that are refused (also padded or
            repeated).
    """

    min_length: int
    common: frozenset[str]

    def check(self, password: str, username: str = "", display_name: str = "") -> None:
        """Refuse a password that breaks the rules, saying which and what to do.

        Args:
            password: The new password, as typed.
            username: The account's sign-in name.
            display_name: The account holder's full name.

        Raises:
            BadInput: The password is too short, common, or holds the person's name.
        """
        if len(password) < self.min_length:
            raise BadInput(
                f"Passwords must be at least {self.min_length} characters long. {_ADVICE}"
            )
        lowered = password.lower()
        if _holds_a_name(lowered, username, display_name):
            raise BadInput(
                "The password must not contain your username, your name or the name of "
                f"this service, which other people know. {_ADVICE}"
            )
        if self.is_common(lowered):
            raise BadInput(
                "That password is one of the most common passwords (or one with only "
                "digits or symbols added, or repeated), so it would be easy to guess. "
                f"{_ADVICE}"
            )

    def is_common(self, password: str) -> bool:
        """Whether ``password`` is common, padded common, repeated, or a run of keys."""
        lowered = password.lower()
        core = _PADDING.sub("", lowered)
        candidates = {lowered, core, _repeated_unit(lowered), _repeated_unit(core)}
        if any(c and c in self.common for c in candidates):
            return True
        if len(set(lowered)) == 1:
            return True
        compact = re.sub(r"\s+", "", lowered)
        return any(compact in run or compact in run[::-1] for run in _RUNS)


def _repeated_unit(text: str) -> str:
    """The shortest piece that ``text`` repeats (``"abcabc"`` → ``"abc"``), or ``""``."""
    for size in range(1, len(text) // 2 + 1):
        if len(text) % size == 0 and text[:size] * (len(text) // size) == text:
            return text[:size]
    return ""


def _name_parts(name: str, shortest: int) -> set[str]:
    name = name.strip().lower()
    if not name:
        return set()
    parts = {p for p in re.split(r"[\s._'-]+", name) if len(p) >= shortest}
    joined = re.sub(r"[\s._'-]+", "", name)
    return parts | {name, joined} if len(joined) >= shortest else parts


def _holds_a_name(lowered: str, username: str, display_name: str) -> bool:
    # A username is chosen to identify someone, so even a three-letter one counts; in a
    # full name only parts of four letters or more do ("Al" or "Li" are in many words).
    words = _name_parts(username, 3) | _name_parts(display_name, 4) | set(_SERVICE_WORDS)
    compact = re.sub(r"[\s._'-]+", "", lowered)
    return any(word in lowered or word in compact for word in words)


def _read_common(path: Path) -> frozenset[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(
            f"{path}: the list of common passwords could not be read ({exc.strerror}). "
            "Reinstall carenotes, or point the password policy at a readable list."
        ) from None
    words = frozenset(line.strip().lower() for line in text.splitlines() if line.strip())
    if not words:
        raise PolicyError(f"{path}: the list of common passwords is empty; it needs one a line.")
    return words


@lru_cache(maxsize=4)
def load_password_policy(common_file: Path | None = None) -> PasswordPolicy:
    """The password policy, with its list of common passwords read once.

    Args:
        common_file: A list of common passwords, one a line; the packaged list by
            default.

    Raises:
        PolicyError: The list cannot be read or is empty.
    """
    return PasswordPolicy(
        min_length=MIN_PASSWORD_LENGTH, common=_read_common(common_file or _COMMON_FILE)
    )


def check_new_password(password: str, username: str = "", display_name: str = "") -> None:
    """Refuse a new password that the packaged policy does not allow.

    Args:
        password: The new password, as typed.
        username: The account's sign-in name.
        display_name: The account holder's full name.

    Raises:
        BadInput: The password is too short, common, or holds the person's name; the
            message says which and what to choose instead.
    """
    load_password_policy().check(password, username, display_name)
