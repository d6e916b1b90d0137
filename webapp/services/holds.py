"""Legal holds: while a case reference is on hold, nothing about it is deleted.

A hold's case reference is sealed under the hold's own data key (wrapped by the
master key, like a recording's), so the table holds no case reference in plain text.
Placing and lifting a hold are audited; the audit entry names the hold, not the case.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from policies.errors import BadInput, NotFound
from webapp import db
from webapp.context import Services
from webapp.services.access import require
from webapp.services.audit_trail import record
from webapp.services.auth import CurrentUser

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


@dataclass(frozen=True)
class Hold:
    """One legal hold, decrypted for a page.

    Attributes:
        id: The hold's id.
        case_reference: The case reference held.
        set_by: Who placed it (display name).
        set_at: When, as ``DD Mon YYYY HH:MM`` UTC.
    """

    id: str
    case_reference: str
    set_by: str
    set_at: str


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


def place_hold(svc: Services, user: CurrentUser, case_reference: str) -> str:
    """Place a legal hold on a case reference; return the hold's id.

    Raises:
        Forbidden: The user's role may not manage holds.
        BadInput: The reference is empty, too long, or already held.
    """
    require(user, "legal_hold", _NOT_ALLOWED)
    reference = " ".join(case_reference.split())
    if not reference or len(reference) > 64:
        raise BadInput("Enter the case reference to hold (up to 64 characters).")
    hold_id = uuid.uuid4().hex
    key, wrapped = svc.vault.new_key(f"hold-{hold_id}")
    with svc.engine.begin() as conn:
        if normalise_reference(reference) in held_references(svc, conn):
            raise BadInput("That case reference is already on legal hold.")
        conn.execute(
            sa.insert(db.legal_holds).values(
                id=hold_id,
                case_ref_enc=svc.vault.seal(
                    key, "legal_hold", hold_id, "case_reference", reference
                ),
                wrapped_key=wrapped,
                set_by=user.id,
                set_at=db.utcnow(),
            )
        )
        record(conn, user.id, user.username, "legal_hold_set", "legal_hold", hold_id)
    logger.info("legal hold %s placed by user %s", hold_id, user.id)
    return hold_id


def lift_hold(svc: Services, user: CurrentUser, hold_id: str) -> None:
    """Lift a legal hold; deletion then resumes at the next purge.

    Raises:
        Forbidden: The user's role may not manage holds.
        NotFound: No such active hold.
    """
    require(user, "legal_hold", _NOT_ALLOWED)
    with svc.engine.begin() as conn:
        updated = conn.execute(
            sa.update(db.legal_holds)
            .where(db.legal_holds.c.id == hold_id, db.legal_holds.c.cleared_at.is_(None))
            .values(cleared_by=user.id, cleared_at=db.utcnow())
        )
        if updated.rowcount != 1:
            raise NotFound("There is no such legal hold, or it was already lifted.")
        record(conn, user.id, user.username, "legal_hold_cleared", "legal_hold", hold_id)
    logger.info("legal hold %s lifted by user %s", hold_id, user.id)


def list_holds(svc: Services, user: CurrentUser) -> list[Hold]:
    """The active holds, newest first, for someone who may manage them."""
    require(user, "legal_hold", _NOT_ALLOWED)
    with svc.engine.connect() as conn:
        rows = conn.execute(
            sa.select(db.legal_holds, db.users.c.display_name)
            .join(db.users, db.users.c.id == db.legal_holds.c.set_by)
            .where(db.legal_holds.c.cleared_at.is_(None))
            .order_by(db.legal_holds.c.set_at.desc())
        ).all()
    return [
        Hold(
            id=row.id,
            case_reference=hold_reference(svc, row),
            set_by=row.display_name,
            set_at=db.shown_time(row.set_at),
        )
        for row in rows
    ]
