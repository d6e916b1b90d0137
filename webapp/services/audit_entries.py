"""The audit trail as its page shows it: the entries a user may see, newest first, in
words, with whether the chain and its signed checkpoint are intact. Looking is audited.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from policies import BadInput
from webapp import audit, db, integrity
from webapp.context import Services
from webapp.services import holds
from webapp.services.access import require
from webapp.services.audit_trail import display_names, record, who_did_it
from webapp.services.auth import CurrentUser

__all__ = ["AUDIT_WORDS", "AuditPage", "audit_page"]

#: Entries shown on one page of the audit trail.
_PAGE = 200
#: The longest action name a filter may ask for.
_MAX_ACTION = 60

#: Each audit action in words, for the audit trail page.
AUDIT_WORDS = {
    "upload": "uploaded a recording",
    "listen": "listened to the recording",
    "view": "opened the note",
    "edit": "edited a statement",
    "flag_resolve": "resolved a flagged statement",
    "section_reviewed": "marked a section reviewed",
    "speaker_rename": "named a speaker",
    "add": "added a statement of their own",
    "restore": "restored a deleted statement",
    "reorder": "moved a statement",
    "send_for_approval": "sent the note for approval",
    "return_for_changes": "returned the note for changes",
    "approve": "approved the note",
    "approve_refused": "was refused approval",
    "addendum": "added an addendum",
    "download": "downloaded the note",
    "draft_created": "drafted the note",
    "job_failed": "processing failed",
    "job_retried": "asked for processing to be tried again",
    "sign_in": "signed in",
    "sign_in_failed": "failed to sign in",
    "sign_out": "signed out",
    "password_change": "changed their password",
    "password_change_failed": "gave a wrong current password when changing it",
    "password_reset_required": "required a user to choose a new password",
    "user_create": "created a user",
    "user_update": "changed a user's role or teams",
    "user_disable": "disabled a user",
    "user_enable": "enabled a user",
    "sessions_revoked": "ended a user's sessions",
    "keys_rotate": "rotated the master key",
    "legal_hold_set": "placed a legal hold",
    "legal_hold_cleared": "lifted a legal hold",
    "retention_audio_deleted": "deleted the audio (retention policy)",
    "retention_draft_deleted": "deleted an unapproved draft (retention policy)",
    "retention_held": "kept a case under legal hold (retention policy)",
    "sample_drawn": "drew notes for a second read",
    "sample_reviewed": "recorded a second read",
    "subject_access_export": "exported a subject access request",
    "audit_view": "looked at the audit trail",
    "dashboard_view": "looked at the team dashboard",
    "oversight_note_view": "looked at how a note was reviewed",
    "api_notes_list": "listed approved notes through the API",
    "api_note_fetch": "fetched the approved note through the API",
    "api_note_imported": "marked the note imported through the API",
    "api_refused": "was refused by the API",
    "api_token_create": "made an API token",
    "api_token_revoke": "revoked an API token",
}


@dataclass(frozen=True)
class AuditPage:
    """One page of the audit trail.

    Attributes:
        entries: Each entry as people read it (``id``, ``at``, ``actor``, ``action``,
            ``code``, ``record``, ``detail``), newest first.
        check: Whether the chain and its signed checkpoint are intact.
        older: The id to ask for entries before, when there may be more.
        choices: ``(action, words)`` for the filter, in the order of their words.
    """

    entries: list[dict[str, Any]]
    check: audit.AuditCheck
    older: int | None
    choices: list[tuple[str, str]]


def _team_filter(user: CurrentUser) -> Any:
    """Entries about the records of the user's teams, whoever did them.

    An entry names its record's teams as they were when it was written. Entries from
    before that was recorded are matched by their recording's or note's team (which
    never changes); any other such entry is for administrators only.
    """
    log = db.audit_log.c
    if not user.team_ids:
        return sa.false()
    named = sa.or_(*(log.teams.contains(f",{int(team)},") for team in sorted(user.team_ids)))
    recs = sa.select(db.recordings.c.id).where(db.recordings.c.team_id.in_(user.team_ids))
    note_ids = sa.select(db.notes.c.id).where(db.notes.c.recording_id.in_(recs))
    earlier = sa.and_(
        log.teams.is_(None),
        sa.or_(
            sa.and_(log.record_type == "recording", log.record_id.in_(recs)),
            sa.and_(log.record_type == "note", log.record_id.in_(note_ids)),
        ),
    )
    return sa.or_(named, earlier)


def _case_references(
    svc: Services, conn: sa.Connection, rows: Sequence[Any], team_ids: frozenset[int]
) -> dict[str, str]:
    """Case references of the recordings and notes the entries are about, in these teams."""
    note_ids = {r.record_id for r in rows if r.record_type == "note" and r.record_id}
    rec_ids = {r.record_id for r in rows if r.record_type == "recording" and r.record_id}
    by_note = dict(
        conn.execute(
            sa.select(db.notes.c.id, db.notes.c.recording_id).where(db.notes.c.id.in_(note_ids))
        ).all()
    )
    recs = conn.execute(
        sa.select(
            db.recordings.c.id, db.recordings.c.wrapped_key, db.recordings.c.case_ref_enc
        ).where(
            db.recordings.c.id.in_(rec_ids | set(by_note.values())),
            db.recordings.c.team_id.in_(team_ids),
        )
    ).all()
    refs = {rec.id: holds.case_reference_of(svc, rec) for rec in recs}
    refs.update({note: refs[rec] for note, rec in by_note.items() if rec in refs})
    return refs


def _user_id(record_id: str | None) -> int | None:
    return int(record_id) if record_id and record_id.isdigit() and len(record_id) < 19 else None


def _people_in(rows: Sequence[Any]) -> set[int]:
    """The users the entries name: who did each, and whom a user entry is about."""
    people = {row.actor_id for row in rows if row.actor_id is not None}
    about = (_user_id(row.record_id) for row in rows if row.record_type == "user")
    return people | {user_id for user_id in about if user_id is not None}


def _detail_words(detail: str | None) -> str:
    if not detail:
        return ""
    try:
        facts = json.loads(detail)
    except ValueError:
        return detail
    if not isinstance(facts, dict):
        return str(facts)
    return "; ".join(
        f"{key.replace('_', ' ')}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
        for key, v in facts.items()
        if v not in (None, "", [])
    )


def _audit_query(user: CurrentUser, action: str, before: str) -> Any:
    """The newest page of entries the user may see, of this action, before this entry.

    Raises:
        BadInput: ``action`` is not an action's name or ``before`` not an entry's number.
    """
    query = sa.select(db.audit_log).order_by(db.audit_log.c.id.desc()).limit(_PAGE)
    if not user.can("manage_users"):
        query = query.where(_team_filter(user))
    if action:
        if len(action) > _MAX_ACTION or not all(ch.isalnum() or ch in "._-" for ch in action):
            raise BadInput("Choose an action from the list to filter the audit trail.")
        query = query.where(db.audit_log.c.action == action)
    if before:
        if not before.isdigit() or len(before) > 18:
            raise BadInput("'before' must be the number of an audit entry.")
        query = query.where(db.audit_log.c.id < int(before))
    return query


def _chain_check(svc: Services) -> audit.AuditCheck:
    """Whether the chain is intact and matches its signed checkpoint."""
    with svc.engine.connect() as conn:
        # verify() may switch its connection to streaming; keep it to itself.
        check = audit.verify(conn, db.audit_log)
    with svc.engine.connect() as conn:
        signed = integrity.check_checkpoint(conn, svc.vault.ring, check.checked)
        conn.rollback()
    if check.ok and not signed.ok:
        check = audit.AuditCheck(False, check.checked, None, signed.problem)
    return check


def _record_words(row: Any, refs: dict[str, str], names: dict[int, str]) -> str:
    """What an entry is about: a case, a person, or the kind of record and its id."""
    if row.record_id in refs:
        return f"case {refs[row.record_id]}"
    if row.record_type == "user" and _user_id(row.record_id) in names:
        return names[int(row.record_id)]
    if row.record_type and row.record_id:
        return f"{row.record_type.replace('_', ' ')} {row.record_id[:8]}"
    return ""


def audit_page(svc: Services, user: CurrentUser, action: str, before: str) -> AuditPage:
    """The audit entries the user may see, newest first, and whether the chain is intact.

    Args:
        svc: The app's services.
        user: Who is looking (a manager or an administrator); the look is audited.
        action: Only entries of this action; empty for every action.
        before: Only entries before this entry's number; empty for the newest.

    Raises:
        Forbidden: The user's role may not see the audit trail.
        BadInput: ``action`` or ``before`` is not what it should be.
    """
    require(user, "audit", "Only managers and administrators can see the audit trail.")
    query = _audit_query(user, action, before)
    check = _chain_check(svc)
    with svc.engine.begin() as conn:
        rows = conn.execute(query).all()
        # Case references are case content: only for roles that may read it.
        refs = _case_references(svc, conn, rows, user.team_ids) if user.can("case_content") else {}
        names = display_names(conn, _people_in(rows))
        record(conn, user.id, user.username, "audit_view", None, None, {"action": action or None})
    entries = [
        {
            "id": row.id,
            "at": row.at,
            "actor": who_did_it(names, row.actor_id, row.actor),
            "action": AUDIT_WORDS.get(row.action, row.action.replace("_", " ")),
            "code": row.action,
            "record": _record_words(row, refs, names),
            "detail": _detail_words(row.detail),
        }
        for row in rows
    ]
    return AuditPage(
        entries=entries,
        check=check,
        older=entries[-1]["id"] if len(entries) == _PAGE else None,
        choices=sorted(AUDIT_WORDS.items(), key=lambda item: item[1]),
    )
