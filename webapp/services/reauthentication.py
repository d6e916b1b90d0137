"""Approving by signing in again at the council's identity provider, for accounts with no
password.

An account made by single sign-on, with carenotes passwords switched off, has no
password to re-enter when approving a note. Its approve button sends the browser to the
provider instead, asking it to sign the person in again whatever session it already
holds (``prompt=login`` and ``max_age=0``). The ID token that comes back is checked as at
sign-in (signature, issuer, audience, expiry, this attempt's nonce), and also that it
names the same person (``sub``) as the account approving, and that they signed in just
now: its ``auth_time`` no earlier than the request (less a little clock difference) and
within the last five minutes. Only then is the note approved, with every check that
approving with a password makes (``services.approval``).

An attempt (its state, nonce and PKCE verifier, the note and version being approved,
and the carenotes session it belongs to) is kept on the server, in ``app_state``, for
ten minutes and one use. The provider's redirect back arrives without the session
cookie (``SameSite=Strict``), so the callback only moves the browser on to a page of
carenotes, which the cookie does reach, and the approval is finished there.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from policies import Forbidden
from webapp import db
from webapp.context import Services
from webapp.services.approval import (
    ApprovalResult,
    approve_reauthenticated,
    check_approvable,
    record_refusal,
)
from webapp.services.auth import CurrentUser
from webapp.services.sso import PENDING_SECONDS
from webapp.services.sso_provider import SignInRefused, authorization_url, exchange_code

__all__ = [
    "FRESH_SECONDS",
    "Attempt",
    "approve",
    "begin",
    "is_attempt",
    "signs_in_again",
    "take",
]

logger = logging.getLogger(__name__)

#: How recent the sign-in at the provider must be when the approval is finished.
FRESH_SECONDS = 300
#: Clock difference allowed between this machine and the provider.
_CLOCK_SKEW_SECONDS = 30
#: ``app_state`` names of attempts start with this.
_PREFIX = "reauth:"

_AGAIN = "The note was not approved: approve it again to try once more."

#: What each of the ID token's failed checks means, in words.
_TOKEN_PROBLEMS = {
    "token_exchange_failed": "the sign-in service did not accept the code it had sent",
    "no_id_token": "the sign-in service sent no ID token",
    "bad_signature": "the answer was not signed by the council's sign-in service",
    "wrong_issuer": "the answer came from another sign-in service",
    "wrong_audience": "the answer was meant for another application",
    "expired": "the answer had expired",
    "bad_nonce": "the answer belongs to another attempt",
    "no_subject": "the answer did not say who signed in",
    "provider_unreachable": "the sign-in service could not be reached",
}


class _Refused(Exception):
    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Attempt:
    """An approval waiting for its approver to sign in again at the provider.

    Attributes:
        recording_id: The note's recording.
        version: The note version being approved.
        nonce: The nonce the ID token must carry.
        verifier: The PKCE code verifier.
        started_at: When the approver pressed the button (seconds since the epoch).
        user_id: The approver.
        session_id: The carenotes session the attempt belongs to (hash of its token).
    """

    recording_id: str
    version: int
    nonce: str
    verifier: str
    started_at: float
    user_id: int
    session_id: str


def _name(state: str) -> str:
    return _PREFIX + hashlib.sha256(state.encode()).hexdigest()[:56]


def signs_in_again(svc: Services, user: CurrentUser) -> bool:
    """Whether ``user`` approves by signing in again at the provider, not with a password.

    So it is for an account with no password, where single sign-on is set up.
    """
    return bool(svc.settings.oidc_issuer) and not user.has_password


def _subject(svc: Services, user_id: int) -> tuple[str | None, str | None]:
    with svc.engine.connect() as conn:
        row = conn.execute(
            sa.select(db.users.c.oidc_issuer, db.users.c.oidc_subject).where(
                db.users.c.id == user_id
            )
        ).one()
    return row.oidc_issuer, row.oidc_subject


def begin(
    svc: Services, user: CurrentUser, recording_id: str, version: int, redirect_uri: str
) -> str:
    """Start an approval by signing in again; return the provider's sign-in address.

    Args:
        svc: The app's services.
        user: The approver (who has no password).
        recording_id: The note's recording.
        version: The note version being approved.
        redirect_uri: The callback address registered with the provider.

    Raises:
        Forbidden: The user may not approve this note, their account is not linked to
            the provider, or the provider cannot be reached.
        InvalidTransition, Conflict: The note is not ready to approve, or changed
            (nobody is sent to sign in for an approval that would be refused).
    """
    check_approvable(svc, user, recording_id, version)
    if _subject(svc, user.id)[1] is None:
        record_refusal(svc, user, recording_id, "not_linked")
        raise Forbidden(
            "Your account has neither a password nor a link to a council account, so you "
            "cannot prove who you are to approve. Ask an administrator for a temporary "
            "password. The note was not approved."
        )
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    try:
        url = authorization_url(
            svc.settings, redirect_uri, state, nonce, verifier, prompt="login", max_age="0"
        )
    except SignInRefused as exc:
        record_refusal(svc, user, recording_id, f"reauthentication_{exc.reason}")
        raise Forbidden(
            "The council's sign-in service could not be reached, so you could not sign in "
            f"again. {_AGAIN} Tell IT if it keeps happening."
        ) from None
    attempt = {
        "recording_id": recording_id,
        "version": version,
        "nonce": nonce,
        "verifier": verifier,
        "started_at": time.time(),
        "user_id": user.id,
        "session_id": user.session_id,
    }
    now = db.utcnow()
    with svc.engine.begin() as conn:
        conn.execute(  # attempts never finished
            sa.delete(db.app_state).where(
                db.app_state.c.name.startswith(_PREFIX, autoescape=True),
                db.app_state.c.updated_at < now - timedelta(seconds=PENDING_SECONDS),
            )
        )
        conn.execute(
            sa.insert(db.app_state).values(
                name=_name(state), value=json.dumps(attempt), updated_at=now
            )
        )
    logger.info("user %s signs in again to approve recording %s", user.id, recording_id)
    return url


def is_attempt(svc: Services, state: str) -> bool:
    """Whether ``state`` is that of an approval waiting for its approver to sign in again."""
    if not state:
        return False
    with svc.engine.connect() as conn:
        found = conn.execute(
            sa.select(db.app_state.c.name).where(db.app_state.c.name == _name(state))
        ).first()
    return found is not None


def take(svc: Services, user: CurrentUser, state: str) -> Attempt:
    """Remove and return the attempt ``state`` names: each is used once.

    Raises:
        Forbidden: There is no such attempt (used already, or older than ten minutes),
            or it was started by someone else or in another session.
    """
    with svc.engine.begin() as conn:
        row = conn.execute(
            sa.select(db.app_state).where(db.app_state.c.name == _name(state or "-"))
        ).one_or_none()
        if row is not None:
            conn.execute(sa.delete(db.app_state).where(db.app_state.c.name == row.name))
    started = db.as_utc(row.updated_at) if row is not None else None
    if row is None or started is None or db.utcnow() - started > timedelta(seconds=PENDING_SECONDS):
        raise Forbidden(
            "This approval could not be finished: it was finished already, or signing in "
            "again took longer than ten minutes. Open the note and approve it again."
        )
    attempt = Attempt(**json.loads(row.value))
    if attempt.user_id != user.id or attempt.session_id != user.session_id:
        record_refusal(svc, user, attempt.recording_id, "reauthentication_other_session")
        raise Forbidden(
            "This approval was started in another carenotes session, so it cannot be "
            "finished in this one. Open the note and approve it again."
        )
    return attempt


def approve(
    svc: Services,
    user: CurrentUser,
    attempt: Attempt,
    args: dict[str, str],
    redirect_uri: str,
) -> ApprovalResult:
    """Check the provider's answer and, if it shows the approver just signed in, approve.

    Args:
        svc: The app's services.
        user: The approver (the attempt is theirs: see :func:`take`).
        attempt: The approval waiting.
        args: The provider's answer (``code``, ``state``, ``iss``, or ``error``).
        redirect_uri: The callback address (sent again with the code).

    Raises:
        Forbidden: The answer is refused: an error, a failed check of the ID token,
            another person, or a sign-in that was not just now (each audited).
        InvalidTransition, Conflict: As approving with a password would.
    """
    try:
        signed_in_at = _signed_in_again(svc, user, attempt, args, redirect_uri)
    except _Refused as exc:
        record_refusal(svc, user, attempt.recording_id, f"reauthentication_{exc.reason}")
        logger.info("re-authentication of user %s refused (%s)", user.id, exc.reason)
        raise Forbidden(str(exc)) from None
    return approve_reauthenticated(svc, user, attempt.recording_id, attempt.version, signed_in_at)


def _signed_in_again(
    svc: Services, user: CurrentUser, attempt: Attempt, args: dict[str, str], redirect_uri: str
) -> datetime:
    """When the approver signed in again, from the provider's checked answer."""
    settings = svc.settings
    if args.get("error"):
        code = "".join(ch for ch in args["error"][:40] if ch.isalnum() or ch == "_")
        raise _Refused(
            f"The council's sign-in service did not sign you in again ({code}). {_AGAIN}",
            "provider_error",
        )
    if "iss" in args and args["iss"].rstrip("/") != settings.oidc_issuer:
        raise _Refused(
            "The answer came from another sign-in service than the one carenotes is set up "
            f"to trust. {_AGAIN}",
            "wrong_issuer",
        )
    try:
        claims = exchange_code(
            settings, redirect_uri, args.get("code", ""), attempt.verifier, attempt.nonce
        )
    except SignInRefused as exc:
        words = _TOKEN_PROBLEMS.get(exc.reason, "the answer failed a check")
        raise _Refused(
            f"Signing in again could not be confirmed: {words}. {_AGAIN}", exc.reason
        ) from None
    issuer, subject = _subject(svc, user.id)
    if subject is None or issuer != settings.oidc_issuer or claims["sub"] != subject:
        raise _Refused(
            "You signed in again as someone else. Approving needs the person signed in to "
            f"carenotes to sign in again with their own council account. {_AGAIN}",
            "other_person",
        )
    auth_time = claims.get("auth_time")
    if not isinstance(auth_time, int | float) or isinstance(auth_time, bool):
        raise _Refused(
            "The council's sign-in service did not say when you signed in, so carenotes "
            f"cannot tell that you just did. {_AGAIN} Tell IT if it keeps happening.",
            "no_auth_time",
        )
    now = time.time()
    if auth_time < attempt.started_at - _CLOCK_SKEW_SECONDS or auth_time < now - FRESH_SECONDS:
        raise _Refused(
            "The council's sign-in service let you through on an earlier sign-in instead of "
            f"asking you to sign in again just now. {_AGAIN} Sign in when you are asked.",
            "stale_sign_in",
        )
    if auth_time > now + _CLOCK_SKEW_SECONDS:
        raise _Refused(
            "The council's sign-in service says you signed in in the future: this "
            f"machine's clock or the service's is wrong. {_AGAIN} Tell IT.",
            "future_sign_in",
        )
    return datetime.fromtimestamp(auth_time, UTC)
