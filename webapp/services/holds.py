"""Legal holds: while a case reference is on hold, nothing about it is deleted.

A hold's case reference is sealed under the hold's own data key (wrapped by the
master key, like a recording's), so the table holds no case reference in plain text.
Placing and lifting a hold are audited; the audit entry names the hold, not the case.

A hold belongs to one team: only people in that team see it, and only information
governance in that team can lift it, giving a reason that goes in the audit trail.
Retention honours every active hold, whichever team placed it.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from policies import BadInput, NotFound
from webapp import db
from webapp.context import Services
from webapp.dates import written_time
from webapp.services.access import require
from webapp.services.audit_trail import record
from webapp.services.auth import CurrentUser
from webapp.text import clean

__all__ = [
    "Hold",
    "case_reference_of",
    "held_references",
    "hold_reference",
    "lift_hold",
    "list_holds",
    "place_hold",
]

logger = logging.getLogger(__name__)

_NOT_ALLOWED = "Only managers, administrators and information governance can manage legal holds."
_NOT_LIFTER = "Only information governance can lift a legal hold."
_MISSING = "There is no such legal hold in your teams, or it was already lifted."
#: Longest reason for lifting a hold (it goes in the audit trail).
MAX_REASON = 200


@dataclass(frozen=True)
class Hold:
    """One legal hold, decrypted for a page.

    Attributes:
        id: The hold's id.
        case_reference: The case reference held; empty for a role that may not read
            case content (an administrator).
        set_by: Who placed it (display name).
        set_at: When, as people write it in UK time (``1 December 2026 at 14:05``).
        team: The name of the team whose case it holds ("" for an older hold).
    """

    id: str
    case_reference: str
    set_by: str
    set_at: str
    team: str = ""


def normalise_reference(reference: str) -> str:
    """A case reference compared without case or surrounding spaces."""
    return " ".join(reference.split()).upper()


def case_reference_of(svc: Services, rec: Any, key: bytes | None = None) -> str:
    """Decrypt a recording's case reference."""
    key = key or svc.vault.data_key(rec.id, rec.wrapped_key)
    return svc.vault.open_text(key, "recording", rec.id, "case_reference", rec.case_ref_enc)


def hold_reference(svc: Services, row: Any) -> str:
    """Decrypt a legal hold row's case reference."""
    key = svc.vault.data_key(f"hold-{row.id}", row.wrapped_key)
    return svc.vault.open_text(key, "legal_hold", row.id, "case_reference", row.case_ref_enc)


def held_references(svc: Services, conn: sa.Connection) -> set[str]:
    """The (normalised) case references under an active hold."""
    rows = conn.execute(
        sa.select(db.legal_holds).where(db.legal_holds.c.cleared_at.is_(None))
    ).all()
    return {normalise_reference(hold_reference(svc, row)) for row in rows}


def _hold_team(user: CurrentUser, team_id: int | None) -> int:
    if team_id is None:
        if len(user.team_ids) != 1:
            raise BadInput("Choose which of your teams the held case belongs to.", field="team_id")
        return next(iter(user.team_ids))
    if team_id not in user.team_ids:
        raise BadInput("Choose one of your own teams.", field="team_id")
    return team_id


def _visible(user: CurrentUser) -> Any:
    """Holds of the user's teams; older holds without a team for those who can lift."""
    team_holds = db.legal_holds.c.team_id.in_(user.team_ids)
    if user.can("lift_legal_hold"):
        return sa.or_(team_holds, db.legal_holds.c.team_id.is_(None))
    return team_holds


def place_hold(
    svc: Services, user: CurrentUser, case_reference: str, team_id: int | None = None
) -> str:
    """Place a legal hold on a case reference of one of the user's teams; return its id.

    Args:
        svc: The app's services.
        user: Who places it.
        case_reference: The case to hold.
        team_id: The team whose case it is; the user's only team when ``None``.

    Raises:
        Forbidden: The user's role may not manage holds.
        BadInput: The reference is empty or too long, the team is not theirs, or the
            case is already held for that team.
    """
    require(user, "legal_hold", _NOT_ALLOWED)
    reference = " ".join(clean(case_reference).split())
    if not reference or len(reference) > 64:
        raise BadInput(
            "Enter the case reference to hold (up to 64 characters).", field="case_reference"
        )
    team = _hold_team(user, team_id)
    hold_id = uuid.uuid4().hex
    key, wrapped = svc.vault.new_key(f"hold-{hold_id}")
    with svc.engine.begin() as conn:
        team_rows = conn.execute(
            sa.select(db.legal_holds).where(
                db.legal_holds.c.cleared_at.is_(None), db.legal_holds.c.team_id == team
            )
        ).all()
        if normalise_reference(reference) in {
            normalise_reference(hold_reference(svc, row)) for row in team_rows
        }:
            raise BadInput("That case reference is already on legal hold.", field="case_reference")
        conn.execute(
            sa.insert(db.legal_holds).values(
                id=hold_id,
                case_ref_enc=svc.vault.seal(
                    key, "legal_hold", hold_id, "case_reference", reference
                ),
                wrapped_key=wrapped,
                set_by=user.id,
                set_at=db.utcnow(),
                team_id=team,
            )
        )
        record(conn, user.id, user.username, "legal_hold_set", "legal_hold", hold_id)
    logger.info("legal hold %s placed by user %s", hold_id, user.id)
    return hold_id


def lift_hold(svc: Services, user: CurrentUser, hold_id: str, reason: str) -> None:
    """Lift a legal hold of the user's teams; deletion then resumes at the next purge.

    Args:
        svc: The app's services.
        user: Who lifts it (information governance).
        hold_id: The hold.
        reason: Why it is lifted, for the audit trail (no case details).

    Raises:
        Forbidden: The user's role may not lift holds.
        BadInput: No reason, or an over-long one.
        NotFound: No such active hold in the user's teams (the same answer for a hold
            of another team, so holds cannot be probed).
    """
    require(user, "lift_legal_hold", _NOT_LIFTER)
    why = " ".join(clean(reason).split())
    if not why:
        raise BadInput(
            "Say why the legal hold is being lifted; the reason is audited.", field="reason"
        )
    if len(why) > MAX_REASON:
        raise BadInput(f"A reason can be at most {MAX_REASON} characters long.", field="reason")
    with svc.engine.begin() as conn:
        updated = conn.execute(
            sa.update(db.legal_holds)
            .where(
                db.legal_holds.c.id == hold_id,
                db.legal_holds.c.cleared_at.is_(None),
                _visible(user),
            )
            .values(cleared_by=user.id, cleared_at=db.utcnow())
        )
        if updated.rowcount != 1:
            raise NotFound(_MISSING)
        record(
            conn,
            user.id,
            user.username,
            "legal_hold_cleared",
            "legal_hold",
            hold_id,
            {"reason": why},
        )
    logger.info("legal hold %s lifted by user %s", hold_id, user.id)


def list_holds(svc: Services, user: CurrentUser) -> list[Hold]:
    """The active holds of the user's teams, newest first, for someone who may manage them.

    Case references are shown only to roles that may read case content or answer
    subject access requests; an administrator sees that a hold exists, not its case.
    """
    require(user, "legal_hold", _NOT_ALLOWED)
    with svc.engine.connect() as conn:
        rows = conn.execute(
            sa.select(db.legal_holds, db.users.c.display_name, db.teams.c.name.label("team"))
            .join(db.users, db.users.c.id == db.legal_holds.c.set_by)
            .outerjoin(db.teams, db.teams.c.id == db.legal_holds.c.team_id)
            .where(db.legal_holds.c.cleared_at.is_(None), _visible(user))
            .order_by(db.legal_holds.c.set_at.desc())
        ).all()
    readable = user.can("case_content") or user.can("subject_access")
    return [
        Hold(
            id=row.id,
            case_reference=hold_reference(svc, row) if readable else "",
            set_by=row.display_name,
            set_at=written_time(row.set_at),
            team=row.team or "",
        )
        for row in rows
    ]
