"""Writing to the hash-chained audit log from services (never case content).

Each entry names the teams of the record it is about as they are when it is written:
a recording's team, a note's recording's team, a legal hold's team, a user's teams.
The audit trail page shows a manager the entries about their teams' records only,
whoever did them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from webapp import audit, db, integrity

if TYPE_CHECKING:
    from webapp.services.auth import CurrentUser

__all__ = ["display_names", "record", "record_by", "record_teams", "who_did_it"]

#: What the audit trail page calls an entry written by carenotes itself.
_SYSTEM_WORDS = {"system": "carenotes (a scheduled job or the command line)"}


def display_names(conn: sa.Connection, user_ids: Iterable[int]) -> dict[int, str]:
    """The names people are shown by (their full names), for these user ids."""
    wanted = {int(i) for i in user_ids}
    if not wanted:
        return {}
    rows = conn.execute(
        sa.select(db.users.c.id, db.users.c.display_name).where(db.users.c.id.in_(wanted))
    )
    return {int(user_id): name for user_id, name in rows}


def who_did_it(names: dict[int, str], actor_id: int | None, actor: str) -> str:
    """The name an audit entry's actor is shown by: their full name when they had an
    account, else what the entry recorded (an unknown sign-in name, or the system)."""
    if actor_id is not None and actor_id in names:
        return names[actor_id]
    return _SYSTEM_WORDS.get(actor, actor)


def record_teams(conn: sa.Connection, record_type: str | None, record_id: Any) -> set[int]:
    """The teams the record belongs to now (none for an unknown record or none at all)."""
    if record_type is None or record_id is None:
        return set()
    rid = str(record_id)
    r, n = db.recordings, db.notes
    query: Any
    if record_type == "recording":
        query = sa.select(r.c.team_id).where(r.c.id == rid)
    elif record_type == "note":
        query = sa.select(r.c.team_id).join(n, n.c.recording_id == r.c.id).where(n.c.id == rid)
    elif record_type == "legal_hold":
        query = sa.select(db.legal_holds.c.team_id).where(db.legal_holds.c.id == rid)
    elif record_type == "user":
        if not rid.isdigit() or len(rid) > 18:
            return set()
        query = sa.select(db.user_teams.c.team_id).where(db.user_teams.c.user_id == int(rid))
    else:
        return set()
    return {int(t) for t in conn.execute(query).scalars() if t is not None}


def record(
    conn: sa.Connection,
    actor_id: int | None,
    actor: str,
    action: str,
    record_type: str | None = None,
    record_id: Any = None,
    detail: dict[str, Any] | None = None,
    teams: Iterable[int] | None = None,
) -> int:
    """Append one audit entry in the caller's transaction and return its id.

    Args:
        conn: The connection whose transaction the change is part of, so the entry
            is written if and only if the change is.
        actor_id: User id, or ``None`` for the system or an unknown user.
        actor: Username (or ``"system"``).
        action: What happened, e.g. ``"approve"``.
        record_type: Kind of record, e.g. ``"note"``.
        record_id: The record's id.
        detail: Ids, counts and states only; never case content.
        teams: The record's teams, when the record is already gone (a deletion);
            by default they are read from the record itself.
    """
    scope = set(teams) if teams is not None else record_teams(conn, record_type, record_id)
    entry_id = audit.append(
        conn,
        db.audit_log,
        actor_id=actor_id,
        actor=actor,
        action=action,
        record_type=record_type,
        record_id=None if record_id is None else str(record_id),
        detail=detail,
        teams=scope,
    )
    integrity.write_checkpoint(conn)  # the signed head moves with every entry
    return entry_id


def record_by(
    conn: sa.Connection,
    user: CurrentUser | None,
    action: str,
    record_type: str | None = None,
    record_id: Any = None,
    detail: dict[str, Any] | None = None,
    teams: Iterable[int] | None = None,
) -> int:
    """Append one audit entry for an action by ``user``, or by the system when ``None``.

    ``None`` stands for the command line; the other arguments are as for :func:`record`.
    """
    return record(
        conn,
        user.id if user else None,
        user.username if user else "system",
        action,
        record_type,
        record_id,
        detail,
        teams,
    )
