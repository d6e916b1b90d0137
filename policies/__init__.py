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
from policies.templates import Template, TemplateSection, load_templates
from policies.topics import Topic, load_topics

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
    "Template",
    "TemplateSection",
    "Topic",
    "load_templates",
    "load_topics",
]
