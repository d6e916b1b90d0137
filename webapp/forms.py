"""Forms sent back: what was typed, and what was wrong with it, for the same form again.

A form refused for what it said is shown again as it was sent (passwords left out),
with the reason beside the field it is about, rather than on a page of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from policies.errors import CarenotesError

__all__ = ["FormProblem", "kept_values"]

#: Fields never sent back to the browser.
_NEVER_KEPT = frozenset({"csrf_token"})


@dataclass(frozen=True)
class FormProblem:
    """Why a form was refused.

    Attributes:
        message: What is wrong and how to put it right.
        field: The form field it is about; ``None`` for the form as a whole.
    """

    message: str
    field: str | None = None

    @classmethod
    def from_error(cls, error: CarenotesError) -> FormProblem:
        """The problem an error describes, beside the field it names (if any)."""
        return cls(str(error), error.field)


def kept_values(form: Mapping[str, str], secret: Iterable[str] = ()) -> dict[str, str]:
    """What was typed into ``form``, to fill it in again.

    Args:
        form: The submitted form.
        secret: Fields not to send back (passwords): they are left empty.

    Returns:
        Field name to value; the CSRF token and the ``secret`` fields left out.
    """
    leave_out = _NEVER_KEPT | set(secret)
    return {name: value for name, value in form.items() if name not in leave_out}
