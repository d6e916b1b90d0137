"""Policies as data: roles, templates, high-stakes topics, retention, loaded and validated."""

from policies.access import AccessPolicy, Role, load_access_policy
from policies.errors import (
    BadInput,
    CarenotesError,
    ConfigError,
    Conflict,
    Forbidden,
    InvalidTransition,
    ModelUnavailable,
    NotFound,
    PolicyError,
)

__all__ = [
    "AccessPolicy",
    "Role",
    "load_access_policy",
    "BadInput",
    "CarenotesError",
    "ConfigError",
    "Conflict",
    "Forbidden",
    "InvalidTransition",
    "ModelUnavailable",
    "NotFound",
    "PolicyError",
]
