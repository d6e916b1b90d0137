"""Approval of a reviewed note (password re-entered, hash recorded, note locked) and addenda.

Approval is a conditional UPDATE on the version the approver saw: of two approvals,
or an edit and an approval, arriving together, exactly one succeeds.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from policies.errors import BadInput, Forbidden, InvalidTransition
from webapp import db
from webapp.context import Services
from webapp.services.access import get_recording
from webapp.services.audit_trail import record
from webapp.services.auth import CurrentUser, check_password, count_password_failure
from webapp.services.dashboard import review_figures
from webapp.services.exports import render_text
from webapp.services.notes import MAX_TEXT, blockers, note_meta, note_row, stale_error
from webapp.text import clean

__all__ = ["ApprovalResult", "add_addendum", "approve_note"]

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


def _record_refusal(
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
        _record_refusal(svc, user, recording_id, "no_password")
        raise Forbidden(
            "Approving asks for your carenotes password, and your account, made when you "
            "first signed in with your council account, has none. Ask an administrator to "
            "give you a temporary one (on the Users page). The note was not approved."
        )
    password_ok = check_password(svc, user.id, password)
    if not password_ok:
        # Guessing through the approval form counts like guessing at sign-in.
        locked = _record_refusal(svc, user, recording_id, "password", count_failure=True)
        if locked:
            raise Forbidden(
                "The password was wrong too many times: the account is locked for a while "
                "and you have been signed out. The note was not approved."
            )
        raise Forbidden("The password was not right; the note was not approved.")
    with svc.engine.begin() as conn:
        conn.execute(sa.update(db.users).where(db.users.c.id == user.id).values(failed_logins=0))
    vault = svc.vault
    with svc.engine.begin() as conn:
        rec = get_recording(svc, conn, user, recording_id, need="approve")
        note = note_row(conn, recording_id, lock=True)
        if note.state == "approved":
            if note.approved_by == user.id:
                return ApprovalResult(sha256=note.approved_sha256, already=True)
            raise stale_error(conn, note, expected_version)
        if note.version != expected_version:
            raise stale_error(conn, note, expected_version)
        key = vault.data_key(rec.id, rec.wrapped_key)
        work = vault.open_json(key, "note", note.id, "work", note.work_enc)
        draft = vault.open_json(key, "note", note.id, "draft", note.draft_enc)
        problems = blockers(draft, work)
        if problems:
            raise InvalidTransition("The note cannot be approved yet. " + " ".join(problems))
        meta = note_meta(svc, key, rec)
        text = render_text(meta, draft, work)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        now = db.utcnow()
        updated = conn.execute(
            sa.update(db.notes)
            .where(
                db.notes.c.id == note.id,
                db.notes.c.version == expected_version,
                db.notes.c.state == "draft",
            )
            .values(
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
        )
        if updated.rowcount != 1:
            raise stale_error(conn, note_row(conn, recording_id), expected_version)
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
            {"sha256": digest, "version": note.version + 1},
        )
    logger.info("note %s approved by user %s", note.id, user.id)
    # Raw audio goes at approval unless the policy keeps it for a while (or a legal
    # hold keeps it); the approved note itself is kept.
    from webapp.services.retention import delete_audio

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
