"""Changing one's own password, and an administrator asking for a new one."""

from __future__ import annotations

import logging
from typing import NoReturn

import sqlalchemy as sa

from policies import BadInput, Forbidden, NotFound
from webapp import db
from webapp.context import Services
from webapp.services.audit_trail import record
from webapp.services.auth import (
    CurrentUser,
    check_password,
    count_password_failure,
    hash_password,
    revoke_user_sessions,
)

__all__ = ["change_password", "needs_new_password", "require_new_password"]

logger = logging.getLogger(__name__)


def needs_new_password(svc: Services, user_id: int) -> bool:
    """Whether the user must choose a new password before any other page opens."""
    with svc.engine.connect() as conn:
        flag = conn.execute(
            sa.select(db.users.c.must_change_password).where(db.users.c.id == user_id)
        ).scalar_one_or_none()
        conn.rollback()
    return bool(flag)


def _refuse_current(svc: Services, user: CurrentUser, remote: str) -> NoReturn:
    """Count a wrong current password towards the lock, audit it and refuse the change.

    Raises:
        Forbidden: Always.
    """
    with svc.engine.begin() as conn:
        locked = count_password_failure(svc, conn, user.id)
        record(
            conn,
            user.id,
            user.username,
            "password_change_failed",
            "user",
            user.id,
            {"locked": locked, "remote": remote},
        )
    raise Forbidden(
        "Your current password is not right, so nothing was changed. Type it again; "
        "after too many wrong tries the account is locked for a while."
    )


def _store_new_password(svc: Services, user: CurrentUser, new_hash: str, remote: str) -> int:
    """Store the new password's hash, end the user's other sessions and audit the change.

    Returns:
        How many other sessions were ended.
    """
    with svc.engine.begin() as conn:
        required = bool(
            conn.execute(
                sa.select(db.users.c.must_change_password).where(db.users.c.id == user.id)
            ).scalar_one()
        )
        conn.execute(
            sa.update(db.users)
            .where(db.users.c.id == user.id)
            .values(
                password_hash=new_hash,
                must_change_password=False,
                failed_logins=0,
                locked_until=None,
            )
        )
        ended = conn.execute(
            sa.update(db.sessions)
            .where(
                db.sessions.c.user_id == user.id,
                db.sessions.c.id != user.session_id,
                db.sessions.c.revoked_at.is_(None),
            )
            .values(revoked_at=db.utcnow())
        ).rowcount
        record(
            conn,
            user.id,
            user.username,
            "password_change",
            "user",
            user.id,
            {"required": required, "other_sessions_ended": int(ended or 0), "remote": remote},
        )
    return int(ended or 0)


def change_password(
    svc: Services,
    user: CurrentUser,
    current: str,
    new: str,
    repeated: str,
    remote: str = "",
) -> int:
    """Change the signed-in user's own password.

    The current password is needed, so a session left open cannot be used to take the
    account over; a wrong one counts towards the lock like a failed sign-in. The new
    password must meet the password policy and differ from the current one. Every other
    session of the user ends (whoever else was signed in is signed out) and the change
    is audited.

    Args:
        svc: The app's services.
        user: The signed-in user.
        current: Their current password.
        new: The new password.
        repeated: The new password typed again.
        remote: The client's address, for the audit trail.

    Returns:
        How many other sessions were ended.

    Raises:
        BadInput: The two new passwords differ, the new one is the current one, or it
            breaks the password policy; nothing was changed.
        Forbidden: The current password is not right; nothing was changed.
    """
    if new != repeated:
        raise BadInput(
            "The new password and its repetition differ; nothing was changed. Type the "
            "same new password in both boxes."
        )
    new_hash = hash_password(svc, new, user.username, user.display_name)
    # argon2 is slow on purpose: the current password is checked outside any transaction.
    if not check_password(svc, user.id, current):
        _refuse_current(svc, user, remote)
    if new == current:
        raise BadInput(
            "The new password is the same as your current one; nothing was changed. "
            "Choose a password you have not used here."
        )
    ended = _store_new_password(svc, user, new_hash, remote)
    logger.info("user id %s changed their password", user.id)
    return ended


def require_new_password(
    svc: Services, actor: CurrentUser, user_id: int, temporary_password: str = ""
) -> int:
    """Make a user choose a new password before any other page opens (an administrator's).

    Without a temporary password their sessions go on, but every page sends them to the
    change-password page until they have chosen one; the next sign-in does the same.
    With one (for someone who has forgotten theirs), it replaces their password, lifts a
    lock from failed sign-ins and ends every session they have; they sign in with it and
    must then choose their own.

    Args:
        svc: The app's services.
        actor: The administrator.
        user_id: The user.
        temporary_password: A password to give the user in person, or ``""``.

    Returns:
        How many of the user's sessions were ended.

    Raises:
        NotFound: No such user.
        BadInput: The temporary password breaks the password policy, or administrators
            tried to set their own (the Change password page is for that).
    """
    if temporary_password and user_id == actor.id:
        raise BadInput(
            "You cannot set a temporary password for yourself; change your own password "
            "on the Change password page."
        )
    values: dict[str, object] = {"must_change_password": True}
    if temporary_password:
        with svc.engine.connect() as conn:
            row = conn.execute(
                sa.select(db.users.c.username, db.users.c.display_name).where(
                    db.users.c.id == user_id
                )
            ).one_or_none()
            conn.rollback()
        if row is None:
            raise NotFound("There is no such user.")
        values.update(
            password_hash=hash_password(svc, temporary_password, row.username, row.display_name),
            failed_logins=0,
            locked_until=None,
        )
    with svc.engine.begin() as conn:
        result = conn.execute(sa.update(db.users).where(db.users.c.id == user_id).values(values))
        if not result.rowcount:
            raise NotFound("There is no such user.")
        ended = revoke_user_sessions(conn, user_id) if temporary_password else 0
        record(
            conn,
            actor.id,
            actor.username,
            "password_reset_required",
            "user",
            user_id,
            {"temporary_password": bool(temporary_password), "sessions_revoked": ended},
        )
    logger.info("user id %s must choose a new password", user_id)
    return ended
