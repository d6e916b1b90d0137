"""Roles, approval rules, visit types forbidden to record and retention, as data.

The policy lives in ``policies/access.toml`` (or ``$CARENOTES_POLICY_DIR/access.toml``)
and is checked when the web app starts: an unknown role, permission or field is a
:class:`~policies.errors.PolicyError` naming the file and the field.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policies.errors import PolicyError

__all__ = [
    "PERMISSIONS",
    "ROLE_NAMES",
    "AccessPolicy",
    "Role",
    "load_access_policy",
]

#: The roles the web app knows; the policy file must define each of them.
ROLE_NAMES = ("social_worker", "practitioner", "manager", "admin", "information_governance")

#: Roles a policy file may leave out (they then have no permissions at all).
_OPTIONAL_ROLES = ("information_governance",)

#: The permissions a role may be given.
PERMISSIONS = (
    "upload",
    "edit",
    "edit_team",
    "approve",
    "read_team",
    "audit",
    "case_content",
    "manage_users",
    "legal_hold",
    "lift_legal_hold",
    "subject_access",
)

_DEFAULT_FILE = Path(__file__).with_name("access.toml")


@dataclass(frozen=True)
class Role:
    """One role and what it may do.

    Attributes:
        name: Role key, e.g. ``"practitioner"``.
        label: Name shown to people, e.g. ``"Practitioner (approver)"``.
        permissions: The permissions granted (see :data:`PERMISSIONS`).
    """

    name: str
    label: str
    permissions: frozenset[str]

    def can(self, permission: str) -> bool:
        """Return whether the role has ``permission``."""
        return permission in self.permissions


@dataclass(frozen=True)
class AccessPolicy:
    """The whole access policy.

    Attributes:
        roles: Roles by name.
        allow_self_approval: Whether the uploader of a recording may approve its note.
        forbidden_visit_types: Visit types (template names) that must not be recorded.
        forbidden_reason: Sentence shown when a forbidden visit type is refused.
        audio_days_after_approval: Days the audio is kept after approval (0: it is
            deleted as the note is approved).
        unapproved_draft_days: Days an unapproved draft is kept.
        source: File the policy was read from.
        version: The policy's version (``version`` at the top of the file); each note
            records the version it was produced under.
    """

    roles: dict[str, Role]
    allow_self_approval: bool
    forbidden_visit_types: frozenset[str]
    forbidden_reason: str
    audio_days_after_approval: int
    unapproved_draft_days: int
    source: str
    version: str = "unversioned"

    def role(self, name: str) -> Role:
        """Return the role called ``name``.

        Raises:
            PolicyError: The role is not defined.
        """
        try:
            return self.roles[name]
        except KeyError:
            raise PolicyError(
                f"{self.source}: role {name!r} is not defined; known roles: "
                f"{', '.join(sorted(self.roles))}."
            ) from None


def _default_path() -> Path:
    directory = os.environ.get("CARENOTES_POLICY_DIR")
    if directory and (Path(directory) / "access.toml").exists():
        return Path(directory) / "access.toml"
    return _DEFAULT_FILE


def _read_toml(source: Path, what: str) -> dict[str, Any]:
    """Parse a policy file; ``what`` names it in the error when it does not exist.

    Raises:
        PolicyError: The file is missing or is not valid TOML.
    """
    try:
        return tomllib.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PolicyError(f"{source}: {what} does not exist.") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: not valid TOML ({exc}).") from None


def _expect(value: Any, kind: type, where: str, source: Path) -> Any:
    # bool is an int in Python; a days field given as true is still a mistake.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise PolicyError(f"{source}: {where} must be a {kind.__name__}, not {value!r}.")
    return value


def _parse_roles(raw: Any, source: Path) -> dict[str, Role]:
    if not isinstance(raw, dict):
        raise PolicyError(f"{source}: a [roles.NAME] table is needed for each role.")
    roles: dict[str, Role] = {}
    for name, fields in raw.items():
        if name not in ROLE_NAMES:
            raise PolicyError(
                f"{source}: unknown role [roles.{name}]; use one of {', '.join(ROLE_NAMES)}."
            )
        if not isinstance(fields, dict):
            raise PolicyError(f"{source}: [roles.{name}] must be a table.")
        granted = set()
        label = name.replace("_", " ").capitalize()
        for key, value in fields.items():
            if key == "label":
                label = _expect(value, str, f"roles.{name}.label", source)
            elif key in PERMISSIONS:
                if _expect(value, bool, f"roles.{name}.{key}", source):
                    granted.add(key)
            else:
                raise PolicyError(
                    f"{source}: unknown field roles.{name}.{key}; permissions are "
                    f"{', '.join(PERMISSIONS)}."
                )
        roles[name] = Role(name=name, label=label, permissions=frozenset(granted))
    for name in _OPTIONAL_ROLES:
        roles.setdefault(
            name,
            Role(name=name, label=name.replace("_", " ").capitalize(), permissions=frozenset()),
        )
    missing = [r for r in ROLE_NAMES if r not in roles]
    if missing:
        raise PolicyError(f"{source}: roles {', '.join(missing)} are not defined.")
    return roles


def load_access_policy(path: str | Path | None = None) -> AccessPolicy:
    """Read and check the access policy.

    Args:
        path: The TOML file; by default ``$CARENOTES_POLICY_DIR/access.toml`` when
            that exists, else the packaged ``policies/access.toml``.

    Returns:
        The validated policy.

    Raises:
        PolicyError: The file is missing, is not valid TOML, or has a bad field.
    """
    source = Path(path) if path is not None else _default_path()
    data = _read_toml(source, "the access policy file")
    unknown = set(data) - {"version", "roles", "approval", "recording", "retention"}
    if unknown:
        raise PolicyError(f"{source}: unknown table(s) {', '.join(sorted(unknown))}.")
    approval = data.get("approval", {})
    recording = data.get("recording", {})
    retention = data.get("retention", {})
    forbidden = _expect(
        recording.get("forbidden_visit_types", []), list, "recording.forbidden_visit_types", source
    )
    for item in forbidden:
        _expect(item, str, "each of recording.forbidden_visit_types", source)
    days = {}
    for key, least in (("audio_days_after_approval", 0), ("unapproved_draft_days", 1)):
        value = _expect(retention.get(key, 30), int, f"retention.{key}", source)
        if value < least:
            raise PolicyError(
                f"{source}: retention.{key} must be at least {least} day{'s' * (least != 1)}."
            )
        days[key] = value
    version = _expect(data.get("version", "unversioned"), str, "version", source).strip()
    if not version or len(version) > 40:
        raise PolicyError(f'{source}: version must be 1 to 40 characters, e.g. "2026.1".')
    return AccessPolicy(
        roles=_parse_roles(data.get("roles"), source),
        allow_self_approval=_expect(
            approval.get("allow_self_approval", False), bool, "approval.allow_self_approval", source
        ),
        forbidden_visit_types=frozenset(forbidden),
        forbidden_reason=_expect(
            recording.get("reason", "Recording is not permitted for this visit type."),
            str,
            "recording.reason",
            source,
        ),
        audio_days_after_approval=days["audio_days_after_approval"],
        unapproved_draft_days=days["unapproved_draft_days"],
        source=str(source),
        version=version,
    )
