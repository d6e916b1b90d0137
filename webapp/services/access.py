"""Who may see and do what to a recording and its note: teams, ownership, role."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from policies import CarenotesError, Forbidden, NotFound
from webapp import db
from webapp.context import Services
from webapp.services.auth import CurrentUser

__all__ = ["get_recording", "may_do", "readable_recordings", "require"]

_HIDDEN = "There is no such recording, or it is not shared with your teams."


def _may_see(user: CurrentUser, rec: Any) -> bool:
    if not user.can("case_content") or rec.team_id not in user.team_ids:
        return False
    return rec.owner_id == user.id or user.can("read_team")


def get_recording(
    svc: Services, conn: sa.Connection, user: CurrentUser, recording_id: str, need: str = "read"
) -> Any:
    """Return the recording row if ``user`` may do ``need`` to it.

    Args:
        svc: The app's services.
        conn: An open connection.
        user: The signed-in user.
        recording_id: The recording's id.
        need: ``"read"``, ``"edit"`` or ``"approve"``.

    Raises:
        NotFound: No such recording, or it is outside what the user may see (the
            same answer for both, so ids cannot be probed).
        Forbidden: The user may see it but not do ``need`` to it.
    """
    rec = conn.execute(
        sa.select(db.recordings).where(db.recordings.c.id == recording_id)
    ).one_or_none()
    if rec is None or not _may_see(user, rec):
        raise NotFound(_HIDDEN)
    if need == "edit":
        if not user.can("edit"):
            raise Forbidden("Your role can read this note but not change it.")
        if rec.owner_id != user.id and not user.can("edit_team"):
            raise Forbidden("Only the person who uploaded this recording can edit its note.")
    elif need == "approve":
        require(user, "approve", "Your role cannot approve notes; ask a practitioner.")
        if rec.owner_id == user.id and not svc.policy.allow_self_approval:
            raise Forbidden(
                "Council policy needs a second person to approve a note: ask another "
                "practitioner in your team to approve this one."
            )
    return rec


def may_do(svc: Services, user: CurrentUser, recording_id: str, need: str) -> bool:
    """Whether ``user`` may do ``need`` to the recording (see :func:`get_recording`)."""
    try:
        with svc.engine.connect() as conn:
            get_recording(svc, conn, user, recording_id, need=need)
    except CarenotesError:
        return False
    return True


def require(user: CurrentUser, permission: str, message: str) -> None:
    """Raise :class:`Forbidden` with ``message`` unless the user has ``permission``."""
    if not user.can(permission):
        raise Forbidden(message)


def readable_recordings(conn: sa.Connection, user: CurrentUser) -> list[Any]:
    """The recordings the user may see, newest first."""
    if not user.can("case_content") or not user.team_ids:
        return []
    query = sa.select(db.recordings).where(db.recordings.c.team_id.in_(user.team_ids))
    if not user.can("read_team"):
        query = query.where(db.recordings.c.owner_id == user.id)
    return list(conn.execute(query.order_by(db.recordings.c.created_at.desc())).all())
