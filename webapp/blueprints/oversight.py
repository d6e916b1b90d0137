"""Oversight: the audit trail, for managers (their teams) and administrators (all)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, render_template, request

from webapp import audit, db
from webapp.context import services
from webapp.services.access import require
from webapp.services.audit_trail import record
from webapp.web import current_user, login_required

bp = Blueprint("oversight", __name__, url_prefix="/oversight")

_PAGE = 200


def _team_filter(user: Any) -> Any:
    """Entries about the user's teams: their members' actions and their records."""
    members = sa.select(db.user_teams.c.user_id).where(db.user_teams.c.team_id.in_(user.team_ids))
    recs = sa.select(db.recordings.c.id).where(db.recordings.c.team_id.in_(user.team_ids))
    note_ids = sa.select(db.notes.c.id).where(db.notes.c.recording_id.in_(recs))
    log = db.audit_log.c
    return sa.or_(
        log.actor_id.in_(members),
        sa.and_(log.record_type == "recording", log.record_id.in_(recs)),
        sa.and_(log.record_type == "note", log.record_id.in_(note_ids)),
    )


@bp.get("/audit")
@login_required
def audit_trail() -> Any:
    """The newest audit entries the user may see, and whether the chain is intact."""
    user = current_user()
    require(user, "audit", "Only managers and administrators can see the audit trail.")
    svc = services()
    query = sa.select(db.audit_log).order_by(db.audit_log.c.id.desc()).limit(_PAGE)
    if not user.can("manage_users"):
        query = query.where(_team_filter(user))
    action = request.args.get("action", "").strip()
    if action:
        query = query.where(db.audit_log.c.action == action)
    with svc.engine.connect() as conn:
        # verify() may switch its connection to streaming; keep it to itself.
        check = audit.verify(conn, db.audit_log)
    with svc.engine.begin() as conn:
        rows = conn.execute(query).all()
        record(conn, user.id, user.username, "audit_view", None, None, {"action": action or None})
    return render_template("oversight/audit.html", rows=rows, check=check, action=action)
