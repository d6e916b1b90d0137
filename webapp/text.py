"""Text that is safe to store and to export: no characters XML (so DOCX) cannot hold.

A pasted statement can carry control characters (a vertical tab from a word processor,
a NUL from a broken client). They mean nothing to a reader, XML 1.0 forbids them, and
PostgreSQL refuses NUL in text. :func:`clean` takes them out of what people type, and
every export cleans its text again, so a note stored before this check still exports.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["clean", "clean_line", "clean_tree", "has_nul"]

# Tab, line feed and carriage return are kept; a vertical tab or form feed becomes a
# line break; every other C0 control, DEL, a lone surrogate and the two non-characters
# XML forbids (U+FFFE, U+FFFF) are removed.
_BREAKS = re.compile("[\x0b\x0c]")
_INVALID = re.compile("[\x00-\x08\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def clean(text: str) -> str:
    """``text`` with the characters XML cannot hold replaced or removed."""
    return _INVALID.sub("", _BREAKS.sub("\n", text))


def clean_line(text: str) -> str:
    """One line of text (a name, a reference): cleaned, with runs of spaces made one."""
    return " ".join(clean(text).split())


def clean_tree(value: Any, line: bool = False) -> Any:
    """A copy of ``value`` (dicts, lists, tuples, strings) with every string cleaned.

    Args:
        value: What to clean.
        line: Clean each string as one line (:func:`clean_line`).
    """
    if isinstance(value, str):
        return clean_line(value) if line else clean(value)
    if isinstance(value, dict):
        return {clean_tree(k, line): clean_tree(v, line) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(clean_tree(v, line) for v in value)
    return value


def has_nul(text: str) -> bool:
    """Whether ``text`` holds a NUL character (which no database column takes)."""
    return "\x00" in text
