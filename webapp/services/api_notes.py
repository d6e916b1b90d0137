"""Approved notes for a case-management system: list them, mark one imported.

Only approved notes of the token's teams are ever read here; a draft, a transcript,
audio, or a note outside the token's teams is "not found", the same answer as for an
id that never existed. Each successful call is written to the audit trail in the same
transaction as what it read or changed, under the token's id (never the token).
Fetching one note whole is :mod:`webapp.services.api_note_detail`.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from policies import BadInput, Conflict, Forbidden, NotFound
from webapp import db
from webapp.context import Services
from webapp.services.api_auth import ApiCaller
from webapp.services.audit_trail import record
from webapp.text import clean_line, has_nul

__all__ = [
    "MAX_PAGE",
    "NotePage",
    "import_record",
    "list_approved",
    "mark_imported",
    "parse_cursor",
    "visible_note",
    "when",
]

logger = logging.getLogger(__name__)

#: Most notes one page of the list holds.
MAX_PAGE = 100
_NOTE_ID = re.compile(r"[0-9a-f]{32}")
_HIDDEN = "There is no approved note with this id for this token's teams."
_MAX_REFERENCE = 200
_MAX_SYSTEM = 40


@dataclass(frozen=True)
class NotePage:
    """One page of approved notes.

    Attributes:
        notes: The notes, oldest approval first.
        next_cursor: Pass as ``cursor`` for the next page; ``None`` on the last page.
    """

    notes: tuple[dict[str, Any], ...]
    next_cursor: str | None


def _cursor(approved_at: datetime, note_id: str) -> str:
    text = f"{db.as_utc(approved_at).isoformat()}|{note_id}"  # type: ignore[union-attr]
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def parse_cursor(value: str) -> tuple[datetime, str]:
    """Read a ``cursor`` the list gave out.

    Raises:
        BadInput: It is not one the list gave out.
    """
    problem = BadInput(
        "The cursor is not one this API gave out: pass next_cursor from the previous "
        "page unchanged, or leave it out to start from the first page.",
        field="cursor",
    )
    if len(value) > 200:
        raise problem
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        at_text, note_id = text.split("|")
        at = db.as_utc(datetime.fromisoformat(at_text))
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise problem from None
    if at is None or not _NOTE_ID.fullmatch(note_id):
        raise problem
    return at, note_id


def _teams_for(conn: sa.Connection, caller: ApiCaller, team: str | None) -> list[int]:
    """The teams to list: the one asked for (when the token covers it), else all its own."""
    if team is None:
        return sorted(caller.team_ids)
    team_id = conn.execute(sa.select(db.teams.c.id).where(db.teams.c.name == team)).scalar()
    if team_id is None or int(team_id) not in caller.team_ids:
        # The same answer whether the team exists or not, so names cannot be probed.
        raise Forbidden(
            f"This token is not scoped to a team called {team!r}; ask an administrator "
            "for a token that covers it, or leave 'team' out to list all its teams."
        )
    return [int(team_id)]


def _approved_rows(teams: Iterable[int]) -> Any:
    n, r, i, t = db.notes, db.recordings, db.note_imports, db.teams
    return (
        sa.select(
            n.c.id,
            n.c.approved_at,
            n.c.approved_sha256,
            r.c.id.label("recording_id"),
            r.c.visit_type,
            r.c.visit_date,
            r.c.wrapped_key,
            r.c.case_ref_enc,
            t.c.name.label("team"),
            i.c.imported_at,
        )
        .join(r, r.c.id == n.c.recording_id)
        .join(t, t.c.id == r.c.team_id)
        .outerjoin(i, i.c.note_id == n.c.id)
        .where(n.c.state == "approved", n.c.approved_at.is_not(None), r.c.team_id.in_(teams))
    )


def list_approved(
    svc: Services,
    caller: ApiCaller,
    endpoint: str,
    *,
    team: str | None = None,
    approved_since: datetime | None = None,
    not_imported: bool = False,
    limit: int = 50,
    cursor: str | None = None,
) -> NotePage:
    """List the approved notes of the token's teams, oldest approval first.

    Args:
        svc: The app's services.
        caller: The accepted token.
        endpoint: The route called, for the audit trail.
        team: Only this team's notes (a team the token covers).
        approved_since: Only notes approved at or after this time.
        not_imported: Only notes not yet marked imported.
        limit: Notes per page, 1 to :data:`MAX_PAGE`.
        cursor: ``next_cursor`` of the previous page.

    Raises:
        Forbidden: ``team`` is not one of the token's teams.
        BadInput: A bad ``limit`` or ``cursor``.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise BadInput(f"limit must be from 1 to {MAX_PAGE}.", field="limit")
    after = parse_cursor(cursor) if cursor else None
    n, i = db.notes, db.note_imports
    with svc.engine.begin() as conn:
        teams = _teams_for(conn, caller, team)
        query = _approved_rows(teams)
        if approved_since is not None:
            query = query.where(n.c.approved_at >= db.as_utc(approved_since))
        if not_imported:
            query = query.where(i.c.id.is_(None))
        if after is not None:
            at, note_id = after
            query = query.where(
                sa.or_(n.c.approved_at > at, sa.and_(n.c.approved_at == at, n.c.id > note_id))
            )
        rows = conn.execute(query.order_by(n.c.approved_at, n.c.id).limit(limit + 1)).all()
        more, rows = len(rows) > limit, rows[:limit]
        record(
            conn,
            None,
            caller.actor,
            "api_notes_list",
            "api_token",
            caller.token_id,
            {
                "token": caller.token_id,
                "endpoint": endpoint,
                "team": team,
                "not_imported": not_imported,
                "notes": [row.id for row in rows],
            },
            teams=teams,
        )
    notes = tuple(_summary(svc, row) for row in rows)
    last = rows[-1] if rows else None
    return NotePage(
        notes=notes,
        next_cursor=_cursor(last.approved_at, last.id) if more and last is not None else None,
    )


def when(value: Any) -> str | None:
    """A stored time as ISO 8601 in UTC, to the second; ``None`` for none."""
    at = db.as_utc(value)
    return at.isoformat(timespec="seconds") if at else None


def _summary(svc: Services, row: Any) -> dict[str, Any]:
    key = svc.vault.data_key(row.recording_id, row.wrapped_key)
    case_reference = svc.vault.open_text(
        key, "recording", row.recording_id, "case_reference", row.case_ref_enc
    )
    return {
        "id": row.id,
        "team": row.team,
        "case_reference": clean_line(case_reference),
        "visit_type": row.visit_type,
        "visit_date": row.visit_date,
        "approved_at": when(row.approved_at),
        "text_sha256": row.approved_sha256,
        "imported": row.imported_at is not None,
        "imported_at": when(row.imported_at),
        "url": f"/api/v1/notes/{row.id}",
    }


def visible_note(
    conn: sa.Connection, caller: ApiCaller, note_id: str, *, lock: bool = False
) -> Any:
    """The approved note's row joined with its recording and team.

    Args:
        conn: A connection.
        caller: The accepted token.
        note_id: The note's id.
        lock: Hold the note's row to the end of the transaction (PostgreSQL; SQLite's
            transactions already hold the write lock), so that racing calls about the
            same note take turns.

    Raises:
        NotFound: No approved note with this id in the token's teams (the same answer
            for a draft, another team's note and an id that never existed).
    """
    if not isinstance(note_id, str) or not _NOTE_ID.fullmatch(note_id) or not caller.team_ids:
        raise NotFound(_HIDDEN)
    n, r = db.notes, db.recordings
    query = (
        sa.select(n, r.c.team_id, r.c.owner_id, r.c.visit_type, r.c.visit_date, r.c.wrapped_key)
        .add_columns(r.c.case_ref_enc, r.c.participants_enc, db.teams.c.name.label("team"))
        .join(r, r.c.id == n.c.recording_id)
        .join(db.teams, db.teams.c.id == r.c.team_id)
        .where(
            n.c.id == note_id,
            n.c.state == "approved",
            n.c.approved_at.is_not(None),
            r.c.team_id.in_(sorted(caller.team_ids)),
        )
    )
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update(of=n)
    row = conn.execute(query).one_or_none()
    if row is None:
        raise NotFound(_HIDDEN)
    return row


def import_record(svc: Services, key: bytes, conn: sa.Connection, note_id: str) -> Any:
    """The note's import record (reference decrypted), or ``None`` if not imported."""
    row = conn.execute(
        sa.select(db.note_imports).where(db.note_imports.c.note_id == note_id)
    ).one_or_none()
    if row is None:
        return None
    return {
        "imported_at": when(row.imported_at),
        "system": row.system,
        "external_reference": svc.vault.open_text(
            key, "note_import", row.id, "reference", row.reference_enc
        ),
        "token_id": int(row.token_id),
    }


def _insert_import(
    svc: Services,
    conn: sa.Connection,
    caller: ApiCaller,
    note_id: str,
    key: bytes,
    system: str,
    reference: str,
) -> Any:
    """Store the note's import record, its reference sealed, and return it as read back."""
    import_id = uuid.uuid4().hex
    conn.execute(
        sa.insert(db.note_imports).values(
            id=import_id,
            note_id=note_id,
            token_id=caller.token_id,
            imported_at=db.utcnow(),
            system=system,
            reference_enc=svc.vault.seal(key, "note_import", import_id, "reference", reference),
        )
    )
    return import_record(svc, key, conn, note_id)


def mark_imported(
    svc: Services,
    caller: ApiCaller,
    note_id: str,
    reference: Any,
    system: Any,
    endpoint: str,
) -> tuple[dict[str, Any], bool]:
    """Record that an approved note was taken into the case-management system.

    Marking again with the same reference changes nothing and answers as the first
    time did, so a client may safely retry.

    Args:
        svc: The app's services.
        caller: The accepted token (it must be allowed to mark notes imported).
        note_id: The note's id.
        reference: The other system's reference for the note (1 to 200 characters).
        system: The other system's name (``Mosaic``, ``Liquidlogic``, ``Eclipse``).
        endpoint: The route called, for the audit trail.

    Returns:
        The import record, and whether it was made by this call.

    Raises:
        Forbidden: The token is read-only.
        NotFound: No approved note with this id in the token's teams.
        BadInput: A missing or over-long reference or system.
        Conflict: The note was already marked imported under another reference.
    """
    if not caller.can_mark_imported:
        raise Forbidden(
            "This token may read notes but not mark them imported; ask an administrator "
            "for a token with the read+mark-imported scope."
        )
    reference = _short_text(reference, "external_reference", _MAX_REFERENCE)
    system = _short_text(system, "system", _MAX_SYSTEM)
    vault = svc.vault
    with svc.engine.begin() as conn:
        row = visible_note(conn, caller, note_id, lock=True)
        key = vault.data_key(row.recording_id, row.wrapped_key)
        existing = import_record(svc, key, conn, row.id)
        if existing is not None:
            if (existing["external_reference"], existing["system"]) != (reference, system):
                raise Conflict(
                    f"This note was already marked imported into {existing['system']} "
                    f"with another reference (at {existing['imported_at']}); nothing was "
                    "changed. Mark it with the same reference, or ask an administrator."
                )
            detail_created = False
        else:
            existing = _insert_import(svc, conn, caller, row.id, key, system, reference)
            detail_created = True
        record(
            conn,
            None,
            caller.actor,
            "api_note_imported",
            "note",
            row.id,
            {
                "token": caller.token_id,
                "endpoint": endpoint,
                "system": system,
                "already": not detail_created,
            },
        )
    if detail_created:
        logger.info("note %s marked imported by API token %s", row.id, caller.token_id)
    return existing, detail_created


def _short_text(value: Any, name: str, longest: int) -> str:
    """A one-line text field of the request's body, or :class:`BadInput` saying why not."""
    ok = isinstance(value, str) and len(value) <= longest and not has_nul(value)
    text = clean_line(value) if ok else ""
    if not text:
        raise BadInput(
            f"'{name}' must be text of 1 to {longest} characters, on one line, with no "
            "control characters.",
            field=name,
        )
    return text
