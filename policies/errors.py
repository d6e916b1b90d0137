"""The one exception tree every carenotes package raises from.

Each error carries a message written for the person who has to act on it:
what went wrong and how to put it right.
"""

from __future__ import annotations

__all__ = [
    "BadInput",
    "CarenotesError",
    "ConfigError",
    "Conflict",
    "Forbidden",
    "InvalidTransition",
    "ModelUnavailable",
    "NotAuthenticated",
    "NotFound",
    "PolicyError",
    "RateLimited",
]


class CarenotesError(Exception):
    """Base class for every error carenotes raises on purpose.

    Args:
        message: What went wrong and how to put it right.
        field: The form field it is about, if any: a page shows the message beside it.
    """

    #: HTTP status the web app answers with.
    status_code = 500

    def __init__(self, message: str = "", *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class BadInput(CarenotesError):
    """The input (a file, a form field, an argument) cannot be used."""

    status_code = 400


class NotFound(CarenotesError):
    """The record does not exist, or the user may not know that it does."""

    status_code = 404


class Forbidden(CarenotesError):
    """The user may see the record but may not do this to it."""

    status_code = 403


class NotAuthenticated(CarenotesError):
    """No valid credentials came with the request (a missing, revoked or expired token)."""

    status_code = 401


class RateLimited(CarenotesError):
    """Too many requests in the current window; try again after ``retry_after`` seconds.

    Args:
        message: What went wrong and how to put it right.
        retry_after: Seconds until the next request will be accepted.
    """

    status_code = 429

    def __init__(self, message: str = "", *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InvalidTransition(CarenotesError):
    """The record is not in a state that allows this (e.g. editing an approved note)."""

    status_code = 409


class Conflict(CarenotesError):
    """Someone else changed the record first; nothing of yours was lost."""

    status_code = 409


class PolicyError(CarenotesError):
    """A policy file is invalid; the message names the file and the field."""

    status_code = 500


class ConfigError(CarenotesError):
    """A setting (an environment variable, a key file) is missing or invalid.

    The message names the setting and says how to set it.
    """

    status_code = 500


class ModelUnavailable(CarenotesError):
    """A model cannot be found or loaded; the message says how to provide one."""

    status_code = 503
