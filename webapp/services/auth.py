"""Passwords (argon2id), sign-in with lockout, server-side sessions."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from policies import Forbidden, NotFound, Role, check_new_password
from webapp import db
from webapp.context import Services
from webapp.services.audit_trail import record

__all__ = [
    "NO_PASSWORD",
    "CurrentUser",
    "authenticate",
    "check_password",
    "count_password_failure",
    "end_session",
    "hash_password",
    "load_session",
    "load_user",
    "refuse_password_sign_in",
    "revoke_user_sessions",
    "start_session",
    "unknown_username_tag",
]

logger = logging.getLogger(__name__)

_FAILED = "The username or password is not right, or the account is locked. Try again later."

#: The password hash of an account made by single sign-on: no password matches it.
NO_PASSWORD = "!single-sign-on"  # noqa: S105 - not a password: it matches none


@dataclass(frozen=True)
class CurrentUser:
    """The signed-in person.

    Attributes:
        id: User id.
        username: Sign-in name.
        display_name: Name shown on pages.
        role: Their role from the access policy.
        team_ids: Teams they belong to.
        session_id: Hash of their session token.
        must_change_password: Whether they must choose a new password before any
            other page opens.
        has_password: Whether they have a carenotes password at all (an account made
            by single sign-on has none until an administrator gives it one).
    """

    id: int
    username: str
    display_name: str
    role: Role
    team_ids: frozenset[int]
    session_id: str = ""
    must_change_password: bool = False
    has_password: bool = True

    def can(self, permission: str) -> bool:
        """Return whether the user's role has ``permission``."""
        return self.role.can(permission)


def _hasher(svc: Services) -> PasswordHasher:
    return PasswordHasher(
        time_cost=svc.settings.password_time_cost,
        memory_cost=svc.settings.password_memory_kib,
        parallelism=1,
        type=Type.ID,
    )


def hash_password(svc: Services, password: str, username: str = "", display_name: str = "") -> str:
    """Return the argon2id hash of a new ``password`` that the password policy allows.

    Args:
        svc: The app's services.
        password: The new password.
        username: The account's sign-in name, which the password must not contain.
        display_name: The account holder's full name, likewise.

    Raises:
        BadInput: The password is shorter than 12 characters, a common one, or holds
            the username or the name (see ``policies.passwords``).
    """
    check_new_password(password, username, display_name)
    return _hasher(svc).hash(password)


def _verify(svc: Services, stored_hash: str, password: str) -> bool:
    try:
        return _hasher(svc).verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


_dummy_hashes: dict[tuple[int, int], str] = {}


def dummy_hash(svc: Services) -> str:
    """A hash of a random password, made once, with the same cost as real ones.

    Checking a sign-in for an unknown, disabled or locked account against it takes as
    long as checking a real password, so the time taken does not tell which it was.
    """
    cost = (svc.settings.password_time_cost, svc.settings.password_memory_kib)
    if cost not in _dummy_hashes:
        _dummy_hashes[cost] = _hasher(svc).hash(secrets.token_urlsafe(24))
    return _dummy_hashes[cost]


def check_password(svc: Services, user_id: int, password: str) -> bool:
    """Return whether ``password`` is the user's current password (for approvals).

    The slow hash check runs after the read transaction has ended.
    """
    with svc.engine.connect() as conn:
        stored = conn.execute(
            sa.select(db.users.c.password_hash).where(db.users.c.id == user_id)
        ).scalar_one_or_none()
        conn.rollback()
    return stored is not None and _verify(svc, stored, password)


def _lock_seconds(svc: Services, failures: int) -> int:
    over = failures - svc.settings.lockout_threshold
    if over < 0:
        return 0
    return int(min(svc.settings.lockout_max_seconds, svc.settings.lockout_base_seconds * 2**over))


def count_password_failure(svc: Services, conn: sa.Connection, user_id: int) -> bool:
    """Count a wrong password; lock the account (and end its sessions) after too many.

    Returns:
        Whether the account is now locked.
    """
    failures = (
        conn.execute(sa.select(db.users.c.failed_logins).where(db.users.c.id == user_id)).scalar()
        or 0
    ) + 1
    wait = _lock_seconds(svc, failures)
    conn.execute(
        sa.update(db.users)
        .where(db.users.c.id == user_id)
        .values(
            failed_logins=failures,
            locked_until=db.utcnow() + timedelta(seconds=wait) if wait else None,
        )
    )
    if wait:
        revoke_user_sessions(conn, user_id)
    return bool(wait)


def unknown_username_tag(svc: Services, username: str) -> str:
    """What the audit trail names a sign-in attempt for a username that has no account.

    Not the username as typed, which is often a password typed into the wrong box or
    someone's real name, but a keyed hash of it (HMAC-SHA256 under a key derived from
    the master key), so repeated attempts on one name can still be seen together.
    """
    key = hmac.new(
        svc.vault.ring.current.secret, b"carenotes-derive\x00unknown-username", hashlib.sha256
    ).digest()
    digest = hmac.new(key, username.casefold().encode("utf-8"), hashlib.sha256).hexdigest()
    return f"unknown-user:{digest[:16]}"


def authenticate(svc: Services, username: str, password: str, remote: str = "") -> int:
    """Check a sign-in and return the user id; count failures and lock after too many.

    Raises:
        Forbidden: Wrong username or password, disabled or locked account (one
            message for all, so the answer does not reveal which).
    """
    now = db.utcnow()
    username = username.strip()[:200]
    with svc.engine.connect() as conn:
        row = conn.execute(sa.select(db.users).where(db.users.c.username == username)).one_or_none()
        conn.rollback()
    locked_until = db.as_utc(row.locked_until) if row is not None else None
    locked = locked_until is not None and locked_until > now
    # The hash is checked outside any transaction: argon2 is slow on purpose, and
    # holding the database meanwhile would stall every other request.
    if row is not None and row.active and not locked:
        ok = _verify(svc, row.password_hash, password)
    else:
        # The same work on every path: an unknown, disabled or locked account must not
        # answer faster than a real one (which would tell that it exists).
        _verify(svc, dummy_hash(svc), password)
        ok = False
    with svc.engine.begin() as conn:
        if not ok:
            if row is not None and not locked:
                count_password_failure(svc, conn, row.id)
            if row is not None:
                actor = row.username
            else:
                actor = unknown_username_tag(svc, username) if username else "(blank)"
            record(
                conn,
                None,
                actor,
                "sign_in_failed",
                "user",
                row.id if row is not None else None,
                {"locked": bool(locked), "remote": remote},
            )
        else:
            conn.execute(
                sa.update(db.users)
                .where(db.users.c.id == row.id)
                .values(failed_logins=0, locked_until=None)
            )
            record(conn, row.id, row.username, "sign_in", "user", row.id, {"remote": remote})
    # Raised after the commit so the failure count and its audit entry are kept.
    if not ok or row is None:
        logger.info("failed sign-in for user id %s", row.id if row is not None else None)
        raise Forbidden(_FAILED)
    return int(row.id)


def refuse_password_sign_in(svc: Services, remote: str = "") -> None:
    """Record a password sign-in refused because password sign-in is switched off.

    Nothing is looked up or counted: the username typed is not even read.
    """
    with svc.engine.begin() as conn:
        record(
            conn,
            None,
            "(password sign-in)",
            "sign_in_failed",
            "user",
            None,
            {"reason": "password_sign_in_off", "remote": remote},
        )


def start_session(svc: Services, user_id: int) -> str:
    """Create a server-side session and return its token (for the cookie)."""
    token = secrets.token_urlsafe(32)
    now = db.utcnow()
    with svc.engine.begin() as conn:
        conn.execute(
            sa.insert(db.sessions).values(
                id=_digest(token), user_id=user_id, created_at=now, last_seen_at=now
            )
        )
    return token


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def load_session(svc: Services, token: str | None) -> CurrentUser | None:
    """Return the user of a live session, ending it if idle or too old.

    Args:
        svc: The app's services.
        token: The session token from the cookie, if any.
    """
    if not token:
        return None
    sid = _digest(token)
    now = db.utcnow()
    idle = timedelta(minutes=svc.settings.session_idle_minutes)
    absolute = timedelta(hours=svc.settings.session_absolute_hours)
    with svc.engine.begin() as conn:
        row = conn.execute(
            sa.select(
                db.sessions.c.user_id,
                db.sessions.c.created_at,
                db.sessions.c.last_seen_at,
                db.sessions.c.revoked_at,
                db.users.c.username,
                db.users.c.display_name,
                db.users.c.role,
                db.users.c.active,
                db.users.c.must_change_password,
                db.users.c.password_hash,
            )
            .join(db.users, db.users.c.id == db.sessions.c.user_id)
            .where(db.sessions.c.id == sid)
        ).one_or_none()
        if row is None or row.revoked_at is not None:
            return None
        last_seen = db.as_utc(row.last_seen_at) or now
        created = db.as_utc(row.created_at) or now
        if not row.active or now - last_seen > idle or now - created > absolute:
            conn.execute(
                sa.update(db.sessions).where(db.sessions.c.id == sid).values(revoked_at=now)
            )
            return None
        # Writing on every request would serialise readers on SQLite; a minute is enough.
        if now - last_seen > timedelta(seconds=60):
            conn.execute(
                sa.update(db.sessions).where(db.sessions.c.id == sid).values(last_seen_at=now)
            )
        team_ids = conn.execute(
            sa.select(db.user_teams.c.team_id).where(db.user_teams.c.user_id == row.user_id)
        ).scalars()
        return CurrentUser(
            id=row.user_id,
            username=row.username,
            display_name=row.display_name,
            role=svc.policy.role(row.role),
            team_ids=frozenset(team_ids),
            session_id=sid,
            must_change_password=bool(row.must_change_password),
            has_password=row.password_hash != NO_PASSWORD,
        )


def end_session(svc: Services, user: CurrentUser) -> None:
    """Revoke the user's current session (sign-out)."""
    with svc.engine.begin() as conn:
        conn.execute(
            sa.update(db.sessions)
            .where(db.sessions.c.id == user.session_id)
            .values(revoked_at=db.utcnow())
        )
        record(conn, user.id, user.username, "sign_out", "user", user.id)


def revoke_user_sessions(conn: sa.Connection, user_id: int) -> int:
    """Revoke every live session of a user; return how many were revoked."""
    result = conn.execute(
        sa.update(db.sessions)
        .where(db.sessions.c.user_id == user_id, db.sessions.c.revoked_at.is_(None))
        .values(revoked_at=db.utcnow())
    )
    return int(result.rowcount or 0)


def load_user(svc: Services, user_id: int) -> CurrentUser:
    """The user with ``user_id`` as a :class:`CurrentUser` (for commands and jobs).

    Raises:
        NotFound: No such user.
    """
    with svc.engine.connect() as conn:
        row = conn.execute(sa.select(db.users).where(db.users.c.id == user_id)).one_or_none()
        if row is None:
            raise NotFound(f"There is no user with id {user_id}.")
        team_ids = conn.execute(
            sa.select(db.user_teams.c.team_id).where(db.user_teams.c.user_id == user_id)
        ).scalars()
        return CurrentUser(
            id=row.id,
            username=row.username,
            display_name=row.display_name,
            role=svc.policy.role(row.role),
            team_ids=frozenset(team_ids),
            must_change_password=bool(row.must_change_password),
            has_password=row.password_hash != NO_PASSWORD,
        )
