"""Forms sent back: what was typed, and what was wrong with it, for the same form again.

A form refused for what it said is shown again as it was sent (passwords left out),
with the reason beside the field it is about, rather than on a page of its own.

A view opts in with :func:`keeps_form`, naming the function that draws its page again.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from flask import request

from policies import BadInput, CarenotesError, Conflict, InvalidTransition
from webapp.web import wants_json

__all__ = ["FormProblem", "keeps_form", "kept_values"]

#: Fields never sent back to the browser.
_NEVER_KEPT = frozenset({"csrf_token"})

#: Refusals for what a form said, or for the state its record is in: the form comes
#: back. Others (not allowed, not found) answer with their own page.
_KEPT_FOR = (BadInput, Conflict, InvalidTransition)


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
        Field name to value; the CSRF token and the ``secret`` fields left out, and any
        NUL character (which a page cannot show) taken out of the rest.
    """
    leave_out = _NEVER_KEPT | set(secret)
    return {
        name: value.replace("\x00", "") for name, value in form.items() if name not in leave_out
    }


def _refuse_nul(form: Any) -> None:
    for name, value in form.items(multi=True):
        if "\x00" in value or "\x00" in name:
            raise BadInput(
                "This held a character that is not allowed (a NUL, which can come with "
                "pasted text). It has been taken out: check the text and send it again.",
                field=name.replace("\x00", ""),
            )


def keeps_form(
    page: Callable[..., Any], *, secret: Iterable[str] = ()
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Make a form view answer a refusal with its form again, as it was typed.

    A :class:`BadInput`, :class:`Conflict` or :class:`InvalidTransition` raised by the
    view (or a NUL character in any field) draws the page again, with the error's
    status, by calling ``page(kept, problem, **view_args)``: ``kept`` is what was typed
    (:func:`kept_values`) and ``problem`` the :class:`FormProblem`. A script that asked
    for JSON gets the error as JSON instead, as from any other view.

    Args:
        page: Draws the form's page again.
        secret: Fields never sent back (passwords).
    """
    leave_out = tuple(secret)

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            try:
                _refuse_nul(request.form)
                return view(*args, **kwargs)
            except _KEPT_FOR as exc:
                if wants_json():
                    raise
                problem = FormProblem.from_error(exc)
                kept = kept_values(request.form, secret=leave_out)
                return page(kept, problem, **kwargs), exc.status_code

        # The request checks leave this view's form to it (see webapp.web).
        wrapped.keeps_form = True  # type: ignore[attr-defined]
        return wrapped

    return decorate
