"""Checking an API request's bearer token, and its rate limit.

Every call with a known token counts against that token's rate limit: a fixed window
held on the token's row, so every process serving the API shares it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from policies import NotAuthenticated, RateLimited
from webapp import db
from webapp.context import Services
from webapp.services.api_tokens import token_digest, token_team_ids
from webapp.services.audit_trail import record

__all__ = [
    "ApiCaller",
    "TokenRateLimited",
    "TokenRefused",
    "authenticate",
    "bearer_token",
    "record_refusal",
]

logger = logging.getLogger(__name__)

_TOKEN = re.compile(r"cnt_([a-z0-9]{8})_([A-Za-z0-9_-]{43})")
#: A header longer than this cannot hold a token (they are 56 characters).
_MAX_HEADER = 200


@dataclass(frozen=True)
class ApiCaller:
    """The token an API request came with, once accepted.

    Attributes:
        token_id: The token's id.
        prefix: Its public part.
        team_ids: The teams whose approved notes it may read.
        can_mark_imported: Whether it may mark notes imported.
        remaining: Calls left in the current rate-limit window.
    """

    token_id: int
    prefix: str
    team_ids: frozenset[int]
    can_mark_imported: bool
    remaining: int

    @property
    def actor(self) -> str:
        """How the audit trail names the caller (never the token itself)."""
        return f"API token {self.token_id} ({self.prefix})"


_REFUSED = (
    "The API token was not accepted: it is unknown, revoked or expired. Ask an "
    "administrator for a valid one and send it as 'Authorization: Bearer <token>'."
)


def bearer_token(header: str | None) -> str:
    """The token in an ``Authorization: Bearer <token>`` header.

    Raises:
        NotAuthenticated: The header is missing, not a bearer token, or cannot hold one.
    """
    if not header:
        raise NotAuthenticated(
            "This API needs a token: send it as 'Authorization: Bearer <token>'. Session "
            "cookies are not accepted here."
        )
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or len(header) > _MAX_HEADER or not _TOKEN.fullmatch(value):
        raise NotAuthenticated(_REFUSED)
    return value


class TokenRefused(NotAuthenticated):
    """A known token that no longer works (revoked or expired).

    Attributes:
        token_id: The token's id, for the audit trail.
        prefix: Its public part.
    """

    def __init__(self, token_id: int, prefix: str) -> None:
        super().__init__(_REFUSED)
        self.token_id = token_id
        self.prefix = prefix


class TokenRateLimited(RateLimited):
    """A token that used up its calls for the window.

    Attributes:
        token_id: The token's id, for the audit trail.
        prefix: Its public part.
        first: Whether this is the first call refused in the window (only that one is
            written to the audit trail, so a runaway client cannot flood it).
    """

    def __init__(
        self, message: str, *, retry_after: int, token_id: int, prefix: str, first: bool
    ) -> None:
        super().__init__(message, retry_after=retry_after)
        self.token_id = token_id
        self.prefix = prefix
        self.first = first


def authenticate(svc: Services, header: str | None, now: datetime | None = None) -> ApiCaller:
    """Accept the request's bearer token and count the call against its rate limit.

    Every call with a known token counts, a revoked or expired one's too, so that no
    token can call more often than the limit allows, whatever the answer.

    Args:
        svc: The app's services.
        header: The request's ``Authorization`` header.
        now: The time (for tests); the current time by default.

    Returns:
        The caller.

    Raises:
        NotAuthenticated: No token, or a malformed or unknown one.
        TokenRefused: A revoked or expired token (a :class:`NotAuthenticated`).
        TokenRateLimited: The token used up its calls in this window.
    """
    token = bearer_token(header)
    now = now or db.utcnow()
    window_seconds = svc.settings.api_rate_window_seconds
    window = int(now.timestamp()) // window_seconds
    t = db.api_tokens
    with svc.engine.begin() as conn:
        row = conn.execute(
            sa.select(
                t.c.id, t.c.prefix, t.c.can_mark_imported, t.c.expires_at, t.c.revoked_at
            ).where(t.c.token_sha256 == token_digest(token))
        ).first()
        if row is None:
            raise NotAuthenticated(_REFUSED)
        # One statement, so that concurrent calls on the same token each count once.
        count = conn.execute(
            sa.update(t)
            .where(t.c.id == row.id)
            .values(
                rate_count=sa.case((t.c.rate_window == window, t.c.rate_count + 1), else_=1),
                rate_window=window,
                last_used_at=now,
            )
            .returning(t.c.rate_count)
        ).scalar_one()
        teams = token_team_ids(conn, int(row.id))
    token_id, prefix = int(row.id), str(row.prefix)
    limit = svc.settings.api_rate_limit
    if count > limit:
        retry_after = max(1, (window + 1) * window_seconds - int(now.timestamp()))
        raise TokenRateLimited(
            f"This token has made its {limit} calls for this {window_seconds}-second "
            f"window; try again in {retry_after} seconds.",
            retry_after=retry_after,
            token_id=token_id,
            prefix=prefix,
            first=count == limit + 1,
        )
    expires = db.as_utc(row.expires_at)
    if row.revoked_at is not None or (expires is not None and expires <= now):
        raise TokenRefused(token_id, prefix)
    return ApiCaller(
        token_id=token_id,
        prefix=prefix,
        team_ids=teams,
        can_mark_imported=bool(row.can_mark_imported),
        remaining=limit - int(count),
    )


def record_refusal(
    svc: Services, token_id: int, prefix: str, team_ids: Iterable[int], detail: dict[str, Any]
) -> None:
    """Write a call refused to a known token to the audit trail.

    Args:
        svc: The app's services.
        token_id: The token's id.
        prefix: Its public part.
        team_ids: The token's teams (none when it was not accepted).
        detail: The endpoint, the answer's status and the note asked for.
    """
    with svc.engine.begin() as conn:
        # About the token, not the note: a refused id may belong to another team.
        record(
            conn,
            None,
            f"API token {token_id} ({prefix})",
            "api_refused",
            "api_token",
            token_id,
            detail,
            teams=team_ids,
        )
