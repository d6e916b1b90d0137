"""Writing to the hash-chained audit log from services (never case content)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from webapp import audit, db

__all__ = ["record"]


def record(
    conn: sa.Connection,
    actor_id: int | None,
    actor: str,
    action: str,
    record_type: str | None = None,
    record_id: Any = None,
    detail: dict[str, Any] | None = None,
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
    """
    return audit.append(
        conn,
        db.audit_log,
        actor_id=actor_id,
        actor=actor,
        action=action,
        record_type=record_type,
        record_id=None if record_id is None else str(record_id),
        detail=detail,
    )
