"""API tokens: made by an administrator, scoped to teams, kept only as a hash.

A token reads ``cnt_<prefix>_<secret>``: the prefix (8 characters) is public and tells
tokens apart on the admin page and in the audit trail; the secret is 256 random bits.
The database keeps the prefix and the SHA-256 of the whole token, never the token, so
a copy of the database lets nobody call the API. A token is shown once, when made.
Checking a request's token is :mod:`webapp.services.api_auth`.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from policies import BadInput, NotFound
from webapp import db
from webapp.context import Services
from webapp.services.audit_trail import record_by
from webapp.services.auth import CurrentUser
from webapp.text import clean

__all__ = [
    "ApiToken",
    "NewToken",
    "create_token",
    "expiry_after",
    "list_tokens",
    "revoke_token",
    "token_digest",
    "token_team_ids",
]

logger = logging.getLogger(__name__)

_PREFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
MAX_NAME = 120


@dataclass(frozen=True)
class NewToken:
    """A token just made: the only time its full text exists.

    Attributes:
        id: The token's id.
        name: What it is for (``Mosaic import``).
        prefix: Its public part, shown in lists.
        token: The full token, to give to the other system now; it is not kept.
    """

    id: int
    name: str
    prefix: str
    token: str


@dataclass(frozen=True)
class ApiToken:
    """A token as the admin page and ``carenotes api-tokens list`` show it.

    Attributes:
        id: The token's id.
        name: What it is for.
        prefix: Its public part.
        teams: Names of the teams whose approved notes it reads.
        can_mark_imported: Whether it may mark notes imported (else read only).
        created_at: When it was made.
        created_by: Who made it (a display name, or ``the command line``).
        expires_at: When it stops working, if ever.
        revoked_at: When it was revoked, if it was.
        last_used_at: Its last accepted call, if any.
    """

    id: int
    name: str
    prefix: str
    teams: tuple[str, ...]
    can_mark_imported: bool
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @property
    def scope(self) -> str:
        """``read`` or ``read+mark-imported``."""
        return "read+mark-imported" if self.can_mark_imported else "read"

    def state(self, now: datetime | None = None) -> str:
        """``active``, ``revoked`` or ``expired``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (now or db.utcnow()):
            return "expired"
        return "active"


def token_digest(token: str) -> str:
    """The SHA-256 a token is kept as."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _team_ids(conn: sa.Connection, names: Sequence[str]) -> dict[str, int]:
    wanted = sorted({clean(n).strip() for n in names if n and clean(n).strip()})
    if not wanted:
        raise BadInput("Give at least one team whose approved notes the token may read.")
    if any(len(n) > 120 for n in wanted):
        raise BadInput("A team name is at most 120 characters long.")
    found = dict(
        conn.execute(
            sa.select(db.teams.c.name, db.teams.c.id).where(db.teams.c.name.in_(wanted))
        ).all()
    )
    missing = [n for n in wanted if n not in found]
    if missing:
        raise BadInput(
            f"There is no team called {', '.join(missing)}. Use a team's name as the "
            "Users page shows it.",
            field="teams",
        )
    return {name: int(team_id) for name, team_id in found.items()}


def expiry_after(day: str) -> datetime:
    """When a token given the last day ``day`` (``YYYY-MM-DD``) stops: that day's end, UK time.

    Raises:
        BadInput: ``day`` is not a calendar date written ``YYYY-MM-DD``.
    """
    text = (day or "").strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise BadInput("Write the last day as YYYY-MM-DD, e.g. 2027-03-31.", field="expires")
    try:
        last = date.fromisoformat(text)
    except ValueError:
        raise BadInput(
            f"{text} is not a calendar date; write the last day as YYYY-MM-DD.", field="expires"
        ) from None
    if last >= date.max:
        raise BadInput("The last day is too far ahead; leave it empty for no expiry.")
    following = last + timedelta(days=1)
    return datetime.combine(following, time(0), tzinfo=db.display_zone()).astimezone(UTC)


def create_token(
    svc: Services,
    name: str,
    teams: Sequence[str],
    *,
    can_mark_imported: bool = False,
    expires_at: datetime | None = None,
    actor: CurrentUser | None = None,
) -> NewToken:
    """Make a token for a case-management system and return it (the only time it is seen).

    Args:
        svc: The app's services.
        name: What the token is for, e.g. ``Mosaic import`` (1 to 120 characters).
        teams: Names of the teams whose approved notes it may read.
        can_mark_imported: Let it mark notes imported, as well as read them.
        expires_at: When it stops working (aware datetime); ``None`` for never.
        actor: The administrator making it; ``None`` for the command line.

    Returns:
        The new token, with its full text.

    Raises:
        BadInput: An empty or over-long name, no teams or an unknown one, or an expiry
            in the past.
    """
    name = clean(name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise BadInput(
            f"Name the token by what uses it (1 to {MAX_NAME} characters), e.g. Mosaic import.",
            field="name",
        )
    now = db.utcnow()
    if expires_at is not None and db.as_utc(expires_at) <= now:  # type: ignore[operator]
        raise BadInput("The expiry must be in the future.", field="expires")
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(8))
    token = f"cnt_{prefix}_{secrets.token_urlsafe(32)}"
    with svc.engine.begin() as conn:
        team_ids = _team_ids(conn, teams)
        token_id = conn.execute(
            sa.insert(db.api_tokens)
            .values(
                name=name,
                prefix=prefix,
                token_sha256=token_digest(token),
                can_mark_imported=bool(can_mark_imported),
                created_by=actor.id if actor else None,
                created_at=now,
                expires_at=expires_at,
                rate_window=0,
                rate_count=0,
            )
            .returning(db.api_tokens.c.id)
        ).scalar_one()
        conn.execute(
            sa.insert(db.api_token_teams),
            [{"token_id": token_id, "team_id": t} for t in team_ids.values()],
        )
        record_by(
            conn,
            actor,
            "api_token_create",
            "api_token",
            token_id,
            {
                "prefix": prefix,
                "teams": sorted(team_ids.values()),
                "mark_imported": bool(can_mark_imported),
                "expires_at": db.as_utc(expires_at).isoformat() if expires_at else None,  # type: ignore[union-attr]
            },
            teams=team_ids.values(),
        )
    logger.info("API token %s (%s) created", token_id, prefix)
    return NewToken(id=int(token_id), name=name, prefix=prefix, token=token)


def list_tokens(svc: Services) -> list[ApiToken]:
    """Every token, newest first (revoked and expired ones too)."""
    t = db.api_tokens
    with svc.engine.connect() as conn:
        rows = conn.execute(
            sa.select(t, db.users.c.display_name)
            .outerjoin(db.users, db.users.c.id == t.c.created_by)
            .order_by(t.c.id.desc())
        ).all()
        teams: dict[int, list[str]] = {}
        for token_id, team in conn.execute(
            sa.select(db.api_token_teams.c.token_id, db.teams.c.name)
            .join(db.teams, db.teams.c.id == db.api_token_teams.c.team_id)
            .order_by(db.teams.c.name)
        ):
            teams.setdefault(int(token_id), []).append(team)
    return [
        ApiToken(
            id=int(r.id),
            name=r.name,
            prefix=r.prefix,
            teams=tuple(teams.get(int(r.id), ())),
            can_mark_imported=bool(r.can_mark_imported),
            created_at=db.as_utc(r.created_at),  # type: ignore[arg-type]
            created_by=r.display_name or "the command line",
            expires_at=db.as_utc(r.expires_at),
            revoked_at=db.as_utc(r.revoked_at),
            last_used_at=db.as_utc(r.last_used_at),
        )
        for r in rows
    ]


def revoke_token(svc: Services, which: str | int, actor: CurrentUser | None = None) -> bool:
    """Revoke a token at once, by its id or its prefix.

    Args:
        svc: The app's services.
        which: The token's id, or its prefix (``cnt_`` optional).
        actor: The administrator revoking it; ``None`` for the command line.

    Returns:
        True if it was revoked now, False if it already was.

    Raises:
        NotFound: There is no such token.
    """
    t = db.api_tokens
    text = str(which).strip().removeprefix("cnt_")
    if text.isdigit() and len(text) < 10:
        where = t.c.id == int(text)
    elif re.fullmatch(r"[a-z0-9]{8}", text):
        where = t.c.prefix == text
    else:
        raise NotFound("There is no such API token: give its id or its prefix.")
    with svc.engine.begin() as conn:
        row = conn.execute(sa.select(t.c.id, t.c.prefix, t.c.revoked_at).where(where)).first()
        if row is None:
            raise NotFound("There is no such API token: give its id or its prefix.")
        if row.revoked_at is not None:
            return False
        conn.execute(
            sa.update(t)
            .where(t.c.id == row.id)
            .values(revoked_at=db.utcnow(), revoked_by=actor.id if actor else None)
        )
        record_by(
            conn,
            actor,
            "api_token_revoke",
            "api_token",
            row.id,
            {"prefix": row.prefix},
            teams=token_team_ids(conn, int(row.id)),
        )
    logger.info("API token %s revoked", row.id)
    return True


def token_team_ids(conn: sa.Connection, token_id: int) -> frozenset[int]:
    """The ids of the teams whose approved notes the token may read."""
    return frozenset(
        int(team)
        for team in conn.execute(
            sa.select(db.api_token_teams.c.team_id).where(db.api_token_teams.c.token_id == token_id)
        ).scalars()
    )
