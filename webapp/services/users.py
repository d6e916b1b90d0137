"""Users and teams: creation, disabling, the first-run administrator."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from policies import ROLE_NAMES, BadInput, Conflict, NotFound
from webapp import db
from webapp.context import Services
from webapp.services.audit_trail import record, record_by
from webapp.services.auth import CurrentUser, hash_password, revoke_user_sessions
from webapp.text import clean_line

__all__ = [
    "UserSummary",
    "create_first_admin",
    "create_user",
    "ensure_team",
    "insert_user",
    "list_teams",
    "list_users",
    "set_active",
    "teams_of",
    "update_user",
]

logger = logging.getLogger(__name__)

#: Longest sign-in name, full name and team name (the columns hold more).
MAX_USERNAME = 64
MAX_DISPLAY_NAME = 120
MAX_TEAM_NAME = 80


def _team_name(name: str) -> str:
    name = clean_line(name)
    if not name:
        raise BadInput("A team needs a name.", field="teams")
    if len(name) > MAX_TEAM_NAME:
        raise BadInput(
            f"A team name can be at most {MAX_TEAM_NAME} characters long.", field="teams"
        )
    return name


def _display_name(name: str, username: str) -> str:
    name = clean_line(name) or username
    if len(name) > MAX_DISPLAY_NAME:
        raise BadInput(
            f"A full name can be at most {MAX_DISPLAY_NAME} characters long.",
            field="display_name",
        )
    return name


@dataclass(frozen=True)
class UserSummary:
    """A user as the admin page lists them.

    Attributes:
        id: User id.
        username: Sign-in name.
        display_name: Name shown on pages.
        role: Role name.
        active: False once disabled.
        teams: Team names.
        locked: Whether the account is locked after failed sign-ins.
        must_change_password: Whether they must choose a new password at their next
            page.
        single_sign_on: Whether they sign in with their council account (their role
            and teams then follow their groups at each sign-in).
    """

    id: int
    username: str
    display_name: str
    role: str
    active: bool
    teams: tuple[str, ...]
    locked: bool
    must_change_password: bool = False
    single_sign_on: bool = False


def ensure_team(conn: sa.Connection, name: str) -> int:
    """Return the id of the team called ``name``, creating it if needed.

    Raises:
        BadInput: The name is empty or too long.
    """
    name = _team_name(name)
    found = conn.execute(sa.select(db.teams.c.id).where(db.teams.c.name == name)).scalar()
    if found is not None:
        return int(found)
    result = conn.execute(sa.insert(db.teams).values(name=name, created_at=db.utcnow()))
    return int(result.inserted_primary_key[0])


def insert_user(
    conn: sa.Connection,
    username: str,
    display_name: str,
    password_hash: str,
    role: str,
    *,
    must_change_password: bool,
    **identity: str,
) -> int:
    """Insert an active user with no failed sign-ins and return their id.

    The caller checks the fields and writes the audit entry, in the same transaction.

    Args:
        identity: Further columns, e.g. the single sign-on ``oidc_issuer`` and
            ``oidc_subject``.
    """
    result = conn.execute(
        sa.insert(db.users).values(
            username=username,
            display_name=display_name,
            password_hash=password_hash,
            role=role,
            active=True,
            failed_logins=0,
            created_at=db.utcnow(),
            must_change_password=must_change_password,
            **identity,
        )
    )
    return int(result.inserted_primary_key[0])


def create_user(
    svc: Services,
    username: str,
    password: str,
    role: str,
    teams: Iterable[str] = (),
    display_name: str = "",
    actor: CurrentUser | None = None,
    must_change_password: bool = False,
) -> int:
    """Create a user and return their id.

    Args:
        svc: The app's services.
        username: Sign-in name (letters, digits, ``.``, ``-``, ``_``).
        password: At least 12 characters, not a common password and not holding the
            username or the full name (see ``policies.passwords``).
        role: One of the policy's roles.
        teams: Team names (created when new).
        display_name: Name shown on pages; the username when empty.
        actor: The admin doing it (``None`` from the command line).
        must_change_password: Make them choose their own password at first sign-in.

    Raises:
        BadInput: A field is not acceptable.
        Conflict: The username is taken.
    """
    username = username.strip()
    if not username or not all(ch.isascii() and (ch.isalnum() or ch in "._-") for ch in username):
        raise BadInput(
            "A username may use letters, digits, '.', '-' and '_' only.", field="username"
        )
    if len(username) > MAX_USERNAME:
        raise BadInput(
            f"A username can be at most {MAX_USERNAME} characters long.", field="username"
        )
    display = _display_name(display_name, username)
    team_names = [_team_name(t) for t in teams if t.strip()]
    if role not in ROLE_NAMES:
        raise BadInput(
            f"Unknown role {role!r}; choose one of {', '.join(ROLE_NAMES)}.", field="role"
        )
    try:
        password_hash = hash_password(svc, password, username, display)
    except BadInput as exc:
        raise BadInput(str(exc), field=exc.field or "password") from None
    with svc.engine.begin() as conn:
        taken = conn.execute(sa.select(db.users.c.id).where(db.users.c.username == username))
        if taken.first() is not None:
            raise Conflict(
                f"The username {username!r} is already taken; choose another.", field="username"
            )
        user_id = insert_user(
            conn, username, display, password_hash, role, must_change_password=must_change_password
        )
        team_ids = [ensure_team(conn, t) for t in team_names]
        for team_id in team_ids:
            conn.execute(sa.insert(db.user_teams).values(user_id=user_id, team_id=team_id))
        record_by(
            conn,
            actor,
            "user_create",
            "user",
            user_id,
            {"role": role, "team_ids": team_ids, "must_change_password": must_change_password},
        )
    logger.info("created user id %s with role %s", user_id, role)
    return user_id


def create_first_admin(svc: Services) -> tuple[str, str] | None:
    """On first run (no users at all), create an admin with a random password.

    The password is shown once, on the console, so the administrator must choose their
    own at first sign-in before any other page opens.

    Returns:
        ``(username, password)`` to show once, or ``None`` when users exist or password
        sign-in is switched off (administrators then come from single sign-on groups).
    """
    if not svc.settings.password_sign_in:
        return None
    with svc.engine.connect() as conn:
        if conn.execute(sa.select(sa.func.count()).select_from(db.users)).scalar_one():
            return None
    password = secrets.token_urlsafe(18)
    try:
        create_user(
            svc,
            "admin",
            password,
            "admin",
            display_name="Administrator",
            must_change_password=True,
        )
    except Conflict:
        return None  # another process created it first
    return "admin", password


def set_active(svc: Services, actor: CurrentUser, user_id: int, active: bool) -> None:
    """Enable or disable a user; disabling ends all their sessions at once.

    Raises:
        NotFound: No such user.
        BadInput: An admin tried to disable themselves.
    """
    if user_id == actor.id and not active:
        raise BadInput("You cannot disable your own account; ask another administrator.")
    with svc.engine.begin() as conn:
        result = conn.execute(
            sa.update(db.users).where(db.users.c.id == user_id).values(active=active)
        )
        if not result.rowcount:
            raise NotFound("There is no such user.")
        revoked = 0 if active else revoke_user_sessions(conn, user_id)
        record(
            conn,
            actor.id,
            actor.username,
            "user_enable" if active else "user_disable",
            "user",
            user_id,
            {"sessions_revoked": revoked},
        )


def update_user(
    svc: Services, actor: CurrentUser, user_id: int, role: str, teams: Iterable[str]
) -> None:
    """Change a user's role and teams (takes effect on their next request).

    Raises:
        NotFound: No such user.
        BadInput: Unknown role, or an admin removing their own admin role.
    """
    if role not in ROLE_NAMES:
        raise BadInput(
            f"Unknown role {role!r}; choose one of {', '.join(ROLE_NAMES)}.", field="role"
        )
    if user_id == actor.id and role != actor.role.name:
        raise BadInput("You cannot change your own role; ask another administrator.", field="role")
    team_names = [_team_name(t) for t in teams if t.strip()]
    with svc.engine.begin() as conn:
        result = conn.execute(sa.update(db.users).where(db.users.c.id == user_id).values(role=role))
        if not result.rowcount:
            raise NotFound("There is no such user.")
        team_ids = sorted({ensure_team(conn, t) for t in team_names})
        conn.execute(sa.delete(db.user_teams).where(db.user_teams.c.user_id == user_id))
        for team_id in team_ids:
            conn.execute(sa.insert(db.user_teams).values(user_id=user_id, team_id=team_id))
        record(
            conn,
            actor.id,
            actor.username,
            "user_update",
            "user",
            user_id,
            {"role": role, "team_ids": team_ids},
        )


def list_users(svc: Services) -> list[UserSummary]:
    """Every user, by username."""
    now = db.utcnow()
    with svc.engine.connect() as conn:
        rows = conn.execute(sa.select(db.users).order_by(db.users.c.username)).all()
        memberships = conn.execute(
            sa.select(db.user_teams.c.user_id, db.teams.c.name).join(
                db.teams, db.teams.c.id == db.user_teams.c.team_id
            )
        ).all()
    by_user: dict[int, list[str]] = {}
    for user_id, name in memberships:
        by_user.setdefault(user_id, []).append(name)
    return [
        UserSummary(
            id=r.id,
            username=r.username,
            display_name=r.display_name,
            role=r.role,
            active=r.active,
            teams=tuple(sorted(by_user.get(r.id, []))),
            locked=(db.as_utc(r.locked_until) or now) > now,
            must_change_password=bool(r.must_change_password),
            single_sign_on=r.oidc_subject is not None,
        )
        for r in rows
    ]


def list_teams(svc: Services) -> list[tuple[int, str]]:
    """Every team as ``(id, name)``."""
    with svc.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(db.teams.c.id, db.teams.c.name))]  # type: ignore[misc]


def teams_of(svc: Services, user: CurrentUser) -> list[Any]:
    """The user's own teams, each with ``id`` and ``name``."""
    with svc.engine.connect() as conn:
        return list(
            conn.execute(
                sa.select(db.teams.c.id, db.teams.c.name).where(db.teams.c.id.in_(user.team_ids))
            ).all()
        )
