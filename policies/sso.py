"""Which role and teams a member of each single sign-on group gets, as data.

The mapping lives in ``policies/sso.toml`` (or ``$CARENOTES_POLICY_DIR/sso.toml``) and is
checked when the web app starts with single sign-on configured: an unknown role, a
group listed twice or a bad field is a :class:`~policies.errors.PolicyError` naming the
file and the field.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policies.access import ROLE_NAMES, _read_toml
from policies.errors import PolicyError

__all__ = ["GroupMap", "GroupRule", "Membership", "load_group_map"]

_DEFAULT_FILE = Path(__file__).with_name("sso.toml")
_RULE_FIELDS = ("group", "role", "teams")


@dataclass(frozen=True)
class GroupRule:
    """What members of one group get.

    Attributes:
        group: The group as the provider's groups claim names it (an Entra ID group's
            object id, or its name when the provider sends names).
        role: The role it gives, or ``""`` when it gives teams only.
        teams: The teams it gives.
    """

    group: str
    role: str
    teams: tuple[str, ...]


@dataclass(frozen=True)
class Membership:
    """The role and teams a person's groups give them.

    Attributes:
        role: The role of the first rule (in file order) that gives one, or ``""``
            when none of their groups gives a role.
        teams: Every team any of their groups gives, sorted.
    """

    role: str
    teams: tuple[str, ...]


@dataclass(frozen=True)
class GroupMap:
    """The whole mapping.

    Attributes:
        rules: The rules in file order (the first that gives a role wins).
        source: File the mapping was read from.
        version: The mapping's version (``version`` at the top of the file).
    """

    rules: tuple[GroupRule, ...]
    source: str
    version: str = "unversioned"

    def membership(self, groups: Iterable[str]) -> Membership:
        """Return the role and teams that ``groups`` give."""
        held = set(groups)
        role = ""
        teams: set[str] = set()
        for rule in self.rules:
            if rule.group not in held:
                continue
            if rule.role and not role:
                role = rule.role
            teams.update(rule.teams)
        return Membership(role=role, teams=tuple(sorted(teams)))


def _default_path() -> Path:
    directory = os.environ.get("CARENOTES_POLICY_DIR")
    if directory and (Path(directory) / "sso.toml").exists():
        return Path(directory) / "sso.toml"
    return _DEFAULT_FILE


def _text(value: Any, where: str, source: Path) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PolicyError(f"{source}: {where} must be a non-empty string, not {value!r}.")
    return value.strip()


def _rule(index: int, raw: Any, source: Path) -> GroupRule:
    where = f"groups[{index}]"
    if not isinstance(raw, dict):
        raise PolicyError(f"{source}: each [[groups]] entry must be a table ({where}).")
    unknown = sorted(set(raw) - set(_RULE_FIELDS))
    if unknown:
        raise PolicyError(
            f"{source}: unknown field {where}.{unknown[0]}; a rule has {', '.join(_RULE_FIELDS)}."
        )
    if "group" not in raw:
        raise PolicyError(f"{source}: {where}.group is missing: name the group it is for.")
    group = _text(raw["group"], f"{where}.group", source)
    role = ""
    if "role" in raw:
        role = _text(raw["role"], f"{where}.role", source)
        if role not in ROLE_NAMES:
            raise PolicyError(
                f"{source}: {where}.role is {role!r}, which is not a role; use one of "
                f"{', '.join(ROLE_NAMES)}."
            )
    teams_raw = raw.get("teams", [])
    if not isinstance(teams_raw, list):
        raise PolicyError(f"{source}: {where}.teams must be a list of team names.")
    teams = tuple(_text(t, f"each of {where}.teams", source) for t in teams_raw)
    if not role and not teams:
        raise PolicyError(
            f"{source}: {where} (group {group!r}) gives neither a role nor a team; add "
            'role = "..." or teams = ["..."], or remove it.'
        )
    return GroupRule(group=group, role=role, teams=teams)


def load_group_map(path: str | Path | None = None) -> GroupMap:
    """Read and check the group mapping.

    Args:
        path: The TOML file; by default ``$CARENOTES_POLICY_DIR/sso.toml`` when that
            exists, else the packaged ``policies/sso.toml``.

    Returns:
        The validated mapping.

    Raises:
        PolicyError: The file is missing, is not valid TOML, has a bad field, lists a
            group twice, or no rule gives a role (so nobody could sign in).
    """
    source = Path(path) if path is not None else _default_path()
    data = _read_toml(source, "the single sign-on group mapping")
    unknown = sorted(set(data) - {"version", "groups"})
    if unknown:
        raise PolicyError(f"{source}: unknown field(s) {', '.join(unknown)}; use [[groups]].")
    version = _text(data.get("version", "unversioned"), "version", source)
    raw_rules = data.get("groups", [])
    if not isinstance(raw_rules, list):
        raise PolicyError(f"{source}: groups must be a list of [[groups]] tables.")
    rules = tuple(_rule(i, raw, source) for i, raw in enumerate(raw_rules))
    seen: dict[str, int] = {}
    for index, rule in enumerate(rules):
        if rule.group in seen:
            raise PolicyError(
                f"{source}: group {rule.group!r} is listed twice (groups[{seen[rule.group]}] "
                f"and groups[{index}]); merge them into one rule."
            )
        seen[rule.group] = index
    if not any(rule.role for rule in rules):
        raise PolicyError(
            f"{source}: no [[groups]] rule gives a role, so nobody could sign in with single "
            'sign-on. Add one, e.g. group = "<group id>" and role = "social_worker".'
        )
    return GroupMap(rules=rules, source=str(source), version=version)
