"""Single sign-on: starting an attempt, finishing it into a user, and signing out there.

An attempt's state, nonce and PKCE verifier travel in a signed cookie of their own
(``SameSite=Lax``, so the browser sends it back with the provider's redirect, which the
session cookie's ``Strict`` would not), good for ten minutes and for one callback.

A person is found by the provider's issuer and their subject there; failing that, the
first time, by the username claim (an existing local account is then linked); failing
that an account is made from their claims. Their role and teams come from their groups
through ``policies/sso.toml`` at every sign-in, so IT moves people between groups and
never re-enters them here. Every refusal is in the audit trail with its reason.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from itsdangerous import BadSignature, URLSafeTimedSerializer

from webapp import db
from webapp.context import Services
from webapp.services.audit_trail import record
from webapp.services.auth import NO_PASSWORD, revoke_user_sessions, unknown_username_tag
from webapp.services.sso_provider import (
    SignInRefused,
    authorization_url,
    exchange_code,
    provider_metadata,
)
from webapp.services.users import ensure_team, insert_user
from webapp.text import clean_line

__all__ = [
    "PENDING_COOKIE",
    "PENDING_SECONDS",
    "SignInRefused",
    "SignedIn",
    "begin_sign_in",
    "finish_sign_in",
    "sign_out_url",
]

logger = logging.getLogger(__name__)

#: The cookie that carries one attempt from the start to the callback.
PENDING_COOKIE = "carenotes_sso"
#: How long a sign-in at the provider may take.
PENDING_SECONDS = 600
#: Actor named in the audit trail for what single sign-on does to accounts.
SSO_ACTOR = "single sign-on"

_START_AGAIN = "Start again from the sign-in page."


@dataclass(frozen=True)
class SignedIn:
    """A finished single sign-on.

    Attributes:
        user_id: The person's account.
        next_path: Where they were going (already checked to be a path on this site).
    """

    user_id: int
    next_path: str


def _serializer(svc: Services) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(svc.settings.secret_key, salt="carenotes-sso-attempt")


def begin_sign_in(
    svc: Services, redirect_uri: str, next_path: str, remote: str = ""
) -> tuple[str, str]:
    """Start an attempt: the provider's sign-in address and the cookie to set.

    Args:
        svc: The app's services.
        redirect_uri: The callback address registered with the provider.
        next_path: Where to go afterwards (a path on this site).
        remote: The client's address, for the audit trail.

    Returns:
        ``(authorization URL, value of the PENDING_COOKIE cookie)``.

    Raises:
        SignInRefused: The provider cannot be reached, or its settings name another
            issuer (recorded in the audit trail).
    """
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    try:
        url = authorization_url(svc.settings, redirect_uri, state, nonce, verifier)
    except SignInRefused as exc:
        raise _refuse(svc, exc, remote) from None
    cookie = _serializer(svc).dumps({"s": state, "n": nonce, "v": verifier, "next": next_path})
    return url, cookie


def _refuse(
    svc: Services,
    exc: SignInRefused,
    remote: str,
    user_id: int | None = None,
    actor: str = SSO_ACTOR,
) -> SignInRefused:
    """Write the refusal to the audit trail (in its own transaction) and return it.

    Someone whose groups no longer give a role is also signed out everywhere.
    """
    with svc.engine.begin() as conn:
        if user_id is not None and exc.reason == "no_role":
            revoke_user_sessions(conn, user_id)
        record(
            conn,
            user_id,
            actor,
            "sign_in_failed",
            "user",
            user_id,
            {"via": "sso", "reason": exc.reason, "remote": remote},
        )
    logger.info("single sign-on refused (%s) for user id %s", exc.reason, user_id)
    return exc


def _pending(svc: Services, cookie: str | None, state: str) -> dict[str, str]:
    try:
        pending = _serializer(svc).loads(cookie or "", max_age=PENDING_SECONDS)
    except BadSignature:
        pending = None
    if not isinstance(pending, dict) or not hmac.compare_digest(str(pending.get("s", "")), state):
        raise SignInRefused(
            "This sign-in could not be finished: it was not started in this browser, it "
            f"was already used, or it took longer than ten minutes. {_START_AGAIN}",
            "state_mismatch",
        )
    return pending


def finish_sign_in(
    svc: Services, cookie: str | None, args: dict[str, str], redirect_uri: str, remote: str = ""
) -> SignedIn:
    """Finish an attempt from the provider's callback and return who signed in.

    Args:
        svc: The app's services.
        cookie: The PENDING_COOKIE cookie's value.
        args: The callback's query (``code``, ``state``, ``iss``, or ``error``).
        redirect_uri: The callback address (sent again with the code).
        remote: The client's address, for the audit trail.

    Raises:
        SignInRefused: The state does not match, the provider refused, the ID token
            failed a check, or the person may not use carenotes (disabled, or no group
            gives them a role). Each is recorded in the audit trail.
    """
    try:
        pending = _pending(svc, cookie, args.get("state", ""))
        if args.get("error"):
            code = "".join(ch for ch in args["error"][:40] if ch.isalnum() or ch == "_")
            raise SignInRefused(
                f"The council's sign-in service did not sign you in ({code}). {_START_AGAIN}",
                "provider_error",
            )
        if "iss" in args and args["iss"].rstrip("/") != svc.settings.oidc_issuer:
            raise SignInRefused(
                "The answer came from another sign-in service than the one carenotes is set "
                f"up to trust. {_START_AGAIN}",
                "wrong_issuer",
            )
        claims = exchange_code(
            svc.settings, redirect_uri, args.get("code", ""), pending["v"], pending["n"]
        )
    except SignInRefused as exc:
        raise _refuse(svc, exc, remote) from None
    return SignedIn(user_id=_user_from_claims(svc, claims, remote), next_path=pending["next"])


def _groups(svc: Services, claims: dict[str, Any]) -> list[str]:
    name = svc.settings.oidc_groups_claim
    if name not in claims and name in (claims.get("_claim_names") or {}):
        raise SignInRefused(
            "You are in too many groups for the sign-in service to list them all, so "
            "carenotes cannot tell your role. Ask IT to send only the groups assigned to "
            "the application (see docs/deployment.md).",
            "groups_overage",
            403,
        )
    value = claims.get(name, [])
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def _username(svc: Services, claims: dict[str, Any]) -> str:
    value = claims.get(svc.settings.oidc_username_claim)
    username = value.strip() if isinstance(value, str) else ""
    ok = 0 < len(username) <= 120 and all(
        ch.isascii() and (ch.isalnum() or ch in "._-@") for ch in username
    )
    if not ok:
        raise SignInRefused(
            "The sign-in service did not send a usable username (the "
            f"{svc.settings.oidc_username_claim!r} claim). Ask IT to check "
            "CARENOTES_OIDC_USERNAME_CLAIM.",
            "no_username",
            403,
        )
    return username


def _by_subject(conn: sa.Connection, issuer: str, subject: str) -> Any:
    users = db.users
    return conn.execute(
        sa.select(users).where(users.c.oidc_issuer == issuer, users.c.oidc_subject == subject)
    ).one_or_none()


def _by_username(conn: sa.Connection, username: str) -> Any:
    """The account to link at someone's first sign-in, if one has their username."""
    users = db.users
    rows = conn.execute(
        sa.select(users).where(sa.func.lower(users.c.username) == username.lower())
    ).all()
    if len(rows) > 1 or (rows and rows[0].oidc_subject is not None):
        raise SignInRefused(
            f"Your username matches a carenotes account that cannot be linked to you "
            f"({'several accounts' if len(rows) > 1 else 'it is linked to someone else'}). "
            "Ask an administrator to sort the accounts out.",
            "account_conflict",
            403,
        )
    return rows[0] if rows else None


def _user_from_claims(svc: Services, claims: dict[str, Any], remote: str) -> int:
    """Find, link or create the person's account and bring its role and teams up to date."""
    issuer, subject = svc.settings.oidc_issuer, str(claims["sub"])
    user_id: int | None = None
    actor = SSO_ACTOR
    try:
        with svc.engine.begin() as conn:
            row = _by_subject(conn, issuer, subject)
            username = ""
            if row is None:  # their first sign-in: the username claim links or names them
                username = _username(svc, claims)
                actor = unknown_username_tag(svc, username)
                row = _by_username(conn, username)
            if row is not None:
                user_id, actor = int(row.id), row.username
            if row is not None and not row.active:
                raise SignInRefused(
                    "Your carenotes account is disabled. Ask an administrator if you need it.",
                    "disabled",
                    403,
                )
            membership = svc.group_map.membership(_groups(svc, claims))
            if not membership.role:
                raise SignInRefused(
                    "None of your groups gives you a role in carenotes, so you cannot sign "
                    "in. Ask IT to add you to one of the carenotes groups.",
                    "no_role",
                    403,
                )
            if row is None and not svc.settings.oidc_create_users:
                raise SignInRefused(
                    "You have no carenotes account yet. Ask an administrator to add you.",
                    "no_account",
                    403,
                )
            if row is None:
                user_id = _create(conn, issuer, subject, username, claims, membership.role)
                actor = username
            else:
                _link(conn, row, issuer, subject)
            assert user_id is not None  # noqa: S101 - found or created just above
            _apply_membership(conn, user_id, membership.role, membership.teams)
            record(
                conn, user_id, actor, "sign_in", "user", user_id, {"remote": remote, "via": "sso"}
            )
    except SignInRefused as exc:
        raise _refuse(svc, exc, remote, user_id, actor) from None
    return user_id


def _create(
    conn: sa.Connection, issuer: str, subject: str, username: str, claims: dict[str, Any], role: str
) -> int:
    name = claims.get("name")
    display = (clean_line(name) if isinstance(name, str) else "")[:120] or username
    user_id = insert_user(
        conn,
        username,
        display,
        NO_PASSWORD,
        role,
        must_change_password=False,
        oidc_issuer=issuer,
        oidc_subject=subject,
    )
    record(conn, None, SSO_ACTOR, "user_create", "user", user_id, {"role": role, "via": "sso"})
    logger.info("single sign-on created user id %s with role %s", user_id, role)
    return user_id


def _link(conn: sa.Connection, row: Any, issuer: str, subject: str) -> None:
    if row.oidc_subject is not None:
        return
    conn.execute(
        sa.update(db.users)
        .where(db.users.c.id == row.id)
        .values(oidc_issuer=issuer, oidc_subject=subject)
    )
    record(conn, None, SSO_ACTOR, "user_update", "user", row.id, {"linked": True, "via": "sso"})


def _apply_membership(conn: sa.Connection, user_id: int, role: str, teams: tuple[str, ...]) -> None:
    """Give the user the role and teams their groups give, auditing any change."""
    current_role = conn.execute(
        sa.select(db.users.c.role).where(db.users.c.id == user_id)
    ).scalar_one()
    current_teams = set(
        conn.execute(
            sa.select(db.user_teams.c.team_id).where(db.user_teams.c.user_id == user_id)
        ).scalars()
    )
    team_ids = sorted({ensure_team(conn, name) for name in teams})
    if current_role == role and current_teams == set(team_ids):
        return
    conn.execute(sa.update(db.users).where(db.users.c.id == user_id).values(role=role))
    conn.execute(sa.delete(db.user_teams).where(db.user_teams.c.user_id == user_id))
    for team_id in team_ids:
        conn.execute(sa.insert(db.user_teams).values(user_id=user_id, team_id=team_id))
    record(
        conn,
        None,
        SSO_ACTOR,
        "user_update",
        "user",
        user_id,
        {"role": role, "team_ids": team_ids, "via": "sso"},
    )


def sign_out_url(svc: Services, post_logout_redirect_uri: str) -> str | None:
    """The provider's sign-out address, or ``None`` when it has none (or cannot be reached).

    Args:
        svc: The app's services.
        post_logout_redirect_uri: Where the provider sends the browser back to.
    """
    try:
        endpoint = provider_metadata(svc.settings).end_session_endpoint
    except SignInRefused:
        return None
    if not endpoint:
        return None
    query = urlencode(
        {
            "client_id": svc.settings.oidc_client_id,
            "post_logout_redirect_uri": post_logout_redirect_uri,
        }
    )
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"
