"""Policies as data: roles, templates, high-stakes topics, retention, loaded and validated."""

from policies.errors import (
    BadInput,
    CarenotesError,
    Conflict,
    Forbidden,
    InvalidTransition,
    ModelUnavailable,
    NotFound,
    PolicyError,
)

__all__ = [
    "BadInput",
    "CarenotesError",
    "Conflict",
    "Forbidden",
    "InvalidTransition",
    "ModelUnavailable",
    "NotFound",
    "PolicyError",
]
