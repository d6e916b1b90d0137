"""Approval of a reviewed note (password re-entered, hash recorded, note locked) and addenda.

Approval is a conditional UPDATE on the version the approver saw: of two approvals,
or an edit and an approval, arriving together, exactly one succeeds. Someone with no
password (an account made by single sign-on) signs in again at the council's provider
instead (``services.reauthentication``), and the same checks then apply.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from policies import BadInput, Forbidden, InvalidTransition
from webapp import db
from webapp.context import Services
from webapp.services.access import get_recording
from webapp.services.audit_trail import record
from webapp.services.auth import CurrentUser, check_password, count_password_failure
from webapp.services.dashboard import review_figures
from webapp.services.exports import render_text
from webapp.services.notes import (
    MAX_TEXT,
    blockers,
    note_meta,
    note_row,
    stale_error,
    update_open_note,
)
from webapp.services.retention import delete_audio
from webapp.services.sealed_notes import open_draft
from webapp.text import clean

if TYPE_CHECKING:
    from summarise import Draft

__all__ = [
    "ApprovalResult",
    "add_addendum",
    "approve_note",
    "approve_reauthenticated",
    "check_approvable",
    "record_refusal",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApprovalResult:
    """The outcome of an approval.

    Attributes:
        sha256: Hash of the approved text.
        already: True when the same person had already approved it (a double click).
    """

    sha256: str
    already: bool


def record_refusal(
    svc: Services, user: CurrentUser, recording_id: str, reason: str, *, count_failure: bool = False
) -> bool:
    """Audit a refused approval; with ``count_failure``, count it as a wrong password.

    Returns:
        True when counting the failure locked the account.
    """
    details: dict[str, object] = {"reason": reason}
    locked = False
    with svc.engine.begin() as conn:
        if count_failure:
            locked = count_password_failure(svc, conn, user.id)
            details["locked"] = locked
        record(conn, user.id, user.username, "approve_refused", "recording", recording_id, details)
    return locked


def approve_note(
    svc: Services, user: CurrentUser, recording_id: str, password: str, expected_version: int
) -> ApprovalResult:
    """Approve and lock a note after the reviewer re-enters their password.

    Raises:
        Forbidden: Wrong password, or the user may not approve this note.
        InvalidTransition: Flags are unresolved or sections unreviewed, or someone
            else approved it first.
        Conflict: The note changed since ``expected_version``.
    """
    with svc.engine.connect() as conn:
        get_recording(svc, conn, user, recording_id, need="approve")
        conn.rollback()
    if not user.has_password:
        record_refusal(svc, user, recording_id, "no_password")
        raise Forbidden(
            "Approving asks for your carenotes password, and your account, made when you "
            "first signed in with your council account, has none. Ask an administrator to "
            "give you a temporary one (on the Users page). The note was not approved."
        )
    password_ok = check_password(svc, user.id, password)
    if not password_ok:
        # Guessing through the approval form counts like guessing at sign-in.
        locked = record_refusal(svc, user, recording_id, "password", count_failure=True)
        if locked:
            raise Forbidden(
                "The password was wrong too many times: the account is locked for a while "
                "and you have been signed out. The note was not approved."
            )
        raise Forbidden("The password was not right; the note was not approved.")
    with svc.engine.begin() as conn:
        conn.execute(sa.update(db.users).where(db.users.c.id == user.id).values(failed_logins=0))
    return _approve(svc, user, recording_id, expected_version, {})


def approve_reauthenticated(
    svc: Services,
    user: CurrentUser,
    recording_id: str,
    expected_version: int,
    signed_in_at: datetime,
) -> ApprovalResult:
    """Approve and lock a note for someone who has just signed in again at the provider.

    The caller has checked the provider's ID token (``services.reauthentication``);
    everything else is checked as in :func:`approve_note`, and the audit entry says
    how the approver proved who they were.

    Raises:
        Forbidden: The user may not approve this note.
        InvalidTransition: Flags are unresolved or sections unreviewed, or someone
            else approved it first.
        Conflict: The note changed since ``expected_version``.
    """
    with svc.engine.connect() as conn:
        get_recording(svc, conn, user, recording_id, need="approve")
        conn.rollback()
    how = {
        "how": "re-authenticated with the identity provider",
        "signed_in_at": signed_in_at.isoformat(timespec="seconds"),
    }
    return _approve(svc, user, recording_id, expected_version, how)


def check_approvable(
    svc: Services, user: CurrentUser, recording_id: str, expected_version: int
) -> None:
    """Refuse now what approving would refuse, short of proving who the approver is.

    Before someone is sent to sign in again: a note they may not approve, one with
    open flags or unreviewed sections, or one changed since they saw it.

    Raises:
        Forbidden, InvalidTransition, Conflict: As :func:`approve_note` would.
    """
    with svc.engine.connect() as conn:
        _approvable(svc, conn, user, recording_id, expected_version)
        conn.rollback()


def _approvable(
    svc: Services,
    conn: sa.Connection,
    user: CurrentUser,
    recording_id: str,
    expected_version: int,
    lock: bool = False,
) -> tuple[Any, Any, bytes, dict[str, Any], Draft]:
    """The recording, note, data key, working state and draft of a note ready to approve.

    Raises:
        InvalidTransition, Conflict: It is approved already, has changed since
            ``expected_version``, or is not fully reviewed.
    """
    vault = svc.vault
    rec = get_recording(svc, conn, user, recording_id, need="approve")
    note = note_row(conn, recording_id, lock=lock)
    if note.state == "approved" or note.version != expected_version:
        raise stale_error(conn, note, expected_version)
    key = vault.data_key(rec.id, rec.wrapped_key)
    work = vault.open_json(key, "note", note.id, "work", note.work_enc)
    draft = open_draft(vault, key, note.id, note.draft_enc)
    problems = blockers(draft, work)
    if problems:
        raise InvalidTransition("The note cannot be approved yet. " + " ".join(problems))
    return rec, note, key, work, draft


def _approve(
    svc: Services,
    user: CurrentUser,
    recording_id: str,
    expected_version: int,
    how: dict[str, Any],
) -> ApprovalResult:
    """Lock the note as approved by ``user`` (who has proved who they are), audited."""
    vault = svc.vault
    with svc.engine.begin() as conn:
        get_recording(svc, conn, user, recording_id, need="approve")
        note = note_row(conn, recording_id, lock=True)
        if note.state == "approved" and note.approved_by == user.id:
            return ApprovalResult(sha256=note.approved_sha256, already=True)
        rec, note, key, work, draft = _approvable(
            svc, conn, user, recording_id, expected_version, lock=True
        )
        meta = note_meta(svc, key, rec)
        text = render_text(meta, draft, work)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        now = db.utcnow()
        update_open_note(
            conn,
            recording_id,
            note.id,
            expected_version,
            state="approved",
            version=note.version + 1,
            updated_at=now,
            approved_by=user.id,
            approved_at=now,
            approved_sha256=digest,
            approved_text_enc=vault.seal(key, "note", note.id, "approved_text", text),
            # Counts and shares only, for the team dashboard (no text).
            review_figures=review_figures(draft, work),
        )
        conn.execute(
            sa.update(db.recordings).where(db.recordings.c.id == rec.id).values(status="approved")
        )
        record(
            conn,
            user.id,
            user.username,
            "approve",
            "note",
            note.id,
            {"sha256": digest, "version": note.version + 1, **how},
        )
    logger.info("note %s approved by user %s", note.id, user.id)
    # Raw audio goes at approval unless the policy keeps it for a while (or a legal
    # hold keeps it); the approved note itself is kept.
    try:
        delete_audio(svc, rec.id)
    except Exception:  # the approval stands; the next purge deletes the audio
        logger.exception("audio of recording %s not deleted at approval", rec.id)
    return ApprovalResult(sha256=digest, already=False)


def add_addendum(svc: Services, user: CurrentUser, recording_id: str, text: str) -> str:
    """Add an addendum to an approved note; return its id.

    Raises:
        InvalidTransition: The note is not approved yet (edit the draft instead).
        BadInput: Empty or over-long text.
    """
    text = clean(text).strip()
    if not text or len(text) > MAX_TEXT:
        raise BadInput(f"An addendum must be 1 to {MAX_TEXT} characters long.", field="text")
    vault = svc.vault
    with svc.engine.begin() as conn:
        rec = get_recording(svc, conn, user, recording_id, need="edit")
        note = note_row(conn, recording_id)
        if note.state != "approved":
            raise InvalidTransition("The note is still a draft: edit it directly instead.")
        key = vault.data_key(rec.id, rec.wrapped_key)
        addendum_id = uuid.uuid4().hex
        conn.execute(
            sa.insert(db.addenda).values(
                id=addendum_id,
                note_id=note.id,
                author_id=user.id,
                at=db.utcnow(),
                text_enc=vault.seal(key, "addendum", addendum_id, "text", text),
            )
        )
        record(conn, user.id, user.username, "addendum", "note", note.id, {"addendum": addendum_id})
    return addendum_id
