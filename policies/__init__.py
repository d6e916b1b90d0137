"""Policies as data: roles, templates, high-stakes topics, retention, loaded and validated."""

from policies.access import ROLE_NAMES, AccessPolicy, Role, load_access_policy
from policies.errors import (
    BadInput,
    CarenotesError,
    ConfigError,
    Conflict,
    Forbidden,
    InvalidTransition,
    ModelUnavailable,
    NotAuthenticated,
    NotFound,
    PolicyError,
    RateLimited,
)
from policies.passwords import MIN_PASSWORD_LENGTH, check_new_password
from policies.sso import GroupMap, load_group_map
from policies.templates import Template, TemplateSection, load_templates
from policies.topics import Topic, load_topics

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "ROLE_NAMES",
    "AccessPolicy",
    "GroupMap",
    "Role",
    "check_new_password",
    "load_access_policy",
    "load_group_map",
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
    "Template",
    "TemplateSection",
    "Topic",
    "load_templates",
    "load_topics",
]
