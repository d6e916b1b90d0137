"""Retention: audio is not kept for ever, nor are drafts nobody approves.

Periods come from the access policy (``[retention]`` in ``policies/access.toml``).
Approved notes are kept. Their audio is deleted once the period after approval has
passed (by default, as the note is approved). A recording never approved is deleted
whole after its period. A legal hold on a case reference pauses both.

Deletion is crypto-shredding: the data key that could decrypt the deleted data is
destroyed, so a copy of the blob restored from a backup stays unreadable. Deleting a
recording whole removes its wrapped key with the row. Deleting only the audio of an
approved note re-encrypts what is kept (note, versions, addenda, case details) under a
fresh data key and overwrites the wrapped key, then deletes the blob.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from webapp import crypto, db
from webapp.context import Services, aad
from webapp.services.audit_trail import record
from webapp.services.holds import case_reference_of, held_references, normalise_reference

__all__ = [
    "RETENTION_EVERY_S",
    "RetentionResult",
    "RetentionSchedule",
    "apply_retention",
    "delete_audio",
]

logger = logging.getLogger(__name__)

# Every encrypted column of what a recording keeps after its audio goes:
# (table, record type in the associated data, id column, {column: field name}).
_SEALED = (
    (db.notes, "note", {
        "transcript_enc": "transcript",
        "draft_enc": "draft",
        "work_enc": "work",
        "approved_text_enc": "approved_text",
    }),
    (db.note_versions, "note_version", {"before_enc": "before", "after_enc": "after"}),
    (db.addenda, "addendum", {"text_enc": "text"}),
    (db.quality_samples, "quality_sample", {"comment_enc": "comment"}),
    (db.note_imports, "note_import", {"reference_enc": "reference"}),
)  # fmt: skip


@dataclass(frozen=True)
class RetentionResult:
    """What a retention run deleted, and what a legal hold kept.

    Attributes:
        audio_deleted: Recordings whose audio was deleted (their approved note is kept).
        drafts_deleted: Unapproved recordings deleted whole (audio, transcript, draft).
        held: Recordings due for deletion but kept because their case is on legal hold.
    """

    audio_deleted: int
    drafts_deleted: int
    held: int = 0


def _reseal(old: bytes, new: bytes, blob: bytes | None, rtype: str, rid: str, name: str) -> Any:
    if blob is None:
        return None
    associated = aad(rtype, rid, name)
    return crypto.encrypt(new, crypto.decrypt(old, blob, associated), associated)


def _rekey(svc: Services, conn: sa.Connection, rec: Any) -> bytes:
    """Re-encrypt everything the recording keeps under a fresh key; return the new wrap."""
    old = svc.vault.data_key(rec.id, rec.wrapped_key)
    new, wrapped = svc.vault.new_key(rec.id)
    r = db.recordings
    conn.execute(
        sa.update(r)
        .where(r.c.id == rec.id)
        .values(
            case_ref_enc=_reseal(old, new, rec.case_ref_enc, "recording", rec.id, "case_reference"),
            participants_enc=_reseal(
                old, new, rec.participants_enc, "recording", rec.id, "participants"
            ),
            transcript_enc=_reseal(old, new, rec.transcript_enc, "recording", rec.id, "transcript"),
            interpreter_name_enc=_reseal(
                old, new, rec.interpreter_name_enc, "recording", rec.id, "interpreter_name"
            ),
        )
    )
    note_ids = [
        row.id
        for row in conn.execute(sa.select(db.notes.c.id).where(db.notes.c.recording_id == rec.id))
    ]
    for table, rtype, fields in _SEALED:
        where = table.c.id.in_(note_ids) if table is db.notes else table.c.note_id.in_(note_ids)
        rows = conn.execute(sa.select(table.c.id, *(table.c[c] for c in fields)).where(where))
        for row in rows.all():
            values = {
                column: _reseal(old, new, getattr(row, column), rtype, row.id, name)
                for column, name in fields.items()
            }
            conn.execute(sa.update(table).where(table.c.id == row.id).values(**values))
    return wrapped


def _shred_audio(svc: Services, recording_id: str, now: datetime, why: str) -> bool:
    """Destroy the audio's key and blob; return whether there was audio to delete."""
    r = db.recordings
    with svc.engine.begin() as conn:
        query = sa.select(r).where(r.c.id == recording_id)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        rec = conn.execute(query).one_or_none()
        if rec is None or rec.audio_blob is None:
            return False
        wrapped = _rekey(svc, conn, rec)
        conn.execute(
            sa.update(r)
            .where(r.c.id == recording_id)
            .values(wrapped_key=wrapped, audio_blob=None, audio_deleted_at=now)
        )
        record(
            conn,
            None,
            "system",
            "retention_audio_deleted",
            "recording",
            recording_id,
            {"reason": why, "key_destroyed": True},
        )
    # After the commit: the key that opened the blob no longer exists anywhere.
    svc.vault.store.delete(rec.audio_blob)
    return True


def _held(svc: Services, conn: sa.Connection, rows: list[Any]) -> set[str]:
    held = held_references(svc, conn)
    if not held:
        return set()
    return {row.id for row in rows if normalise_reference(case_reference_of(svc, row)) in held}


def delete_audio(svc: Services, recording_id: str, now: datetime | None = None) -> bool:
    """Delete a just-approved recording's audio when the policy keeps it for 0 days.

    Args:
        svc: The app's services.
        recording_id: The recording whose note was approved.
        now: The time to record (UTC); the current time by default.

    Returns:
        Whether the audio was deleted (not when policy keeps it, nor under a legal hold).
    """
    if svc.policy.audio_days_after_approval > 0:
        return False
    with svc.engine.connect() as conn:
        rec = conn.execute(
            sa.select(db.recordings).where(db.recordings.c.id == recording_id)
        ).one_or_none()
        if rec is None or _held(svc, conn, [rec]):
            return False
    return _shred_audio(svc, recording_id, now or db.utcnow(), "approved")


def _delete_whole(svc: Services, rec: Any) -> None:
    r, n = db.recordings, db.notes
    with svc.engine.begin() as conn:
        note_ids = sa.select(n.c.id).where(n.c.recording_id == rec.id)
        for table in (db.note_versions, db.addenda, db.quality_samples):
            conn.execute(sa.delete(table).where(table.c.note_id.in_(note_ids)))
        conn.execute(sa.delete(n).where(n.c.recording_id == rec.id))
        conn.execute(sa.delete(db.jobs).where(db.jobs.c.recording_id == rec.id))
        # The row carries the wrapped data key: with it goes every way to read the rest.
        conn.execute(sa.delete(r).where(r.c.id == rec.id))
        record(
            conn,
            None,
            "system",
            "retention_draft_deleted",
            "recording",
            rec.id,
            {"key_destroyed": True},
            teams={rec.team_id},
        )
    if rec.audio_blob:
        svc.vault.store.delete(rec.audio_blob)


def apply_retention(svc: Services, now: datetime | None = None) -> RetentionResult:
    """Delete what the retention policy says is due; each deletion is audited.

    Args:
        svc: The app's services.
        now: The time to judge by (UTC); the current time by default.

    Returns:
        How many recordings were affected, and how many a legal hold kept.
    """
    now = now or db.utcnow()
    policy = svc.policy
    audio_cutoff = now - timedelta(days=policy.audio_days_after_approval)
    draft_cutoff = now - timedelta(days=policy.unapproved_draft_days)
    r, n = db.recordings, db.notes
    with svc.engine.connect() as conn:
        audio_due = conn.execute(
            sa.select(r)
            .join(n, n.c.recording_id == r.c.id)
            .where(n.c.state == "approved", n.c.approved_at <= audio_cutoff)
            .where(r.c.audio_blob.is_not(None))
        ).all()
        drafts_due = conn.execute(
            sa.select(r).where(r.c.status != "approved", r.c.created_at < draft_cutoff)
        ).all()
        held = _held(svc, conn, [*audio_due, *drafts_due])
    audio_deleted = sum(
        _shred_audio(svc, rec.id, now, "retention period")
        for rec in audio_due
        if rec.id not in held
    )
    drafts = [rec for rec in drafts_due if rec.id not in held]
    for rec in drafts:
        _delete_whole(svc, rec)
    if held:
        with svc.engine.begin() as conn:
            record(conn, None, "system", "retention_held", None, None, {"recordings": len(held)})
    if audio_deleted or drafts or held:
        logger.info(
            "retention: audio deleted for %d recordings, %d unapproved drafts deleted, "
            "%d kept under legal hold",
            audio_deleted,
            len(drafts),
            len(held),
        )
    return RetentionResult(audio_deleted=audio_deleted, drafts_deleted=len(drafts), held=len(held))


#: How often a running worker applies the retention rules: the in-process worker, or
#: ``carenotes sweep`` where Celery workers run the jobs.
RETENTION_EVERY_S = 3600.0


class RetentionSchedule:
    """Applies the retention rules at once, then every :data:`RETENTION_EVERY_S` seconds.

    Call it as often as you like (every round of a worker's loop): it applies the rules
    only when they are due. A failure is logged, not raised, and tried again when next
    due.
    """

    def __init__(self, svc: Services, *, remove_stale_temp: bool = False) -> None:
        """Args:
        svc: The app's services.
        remove_stale_temp: Also remove decrypted copies that a process on this store
            left behind when it died (the in-process worker shares the web app's store).
        """
        self.svc = svc
        self.remove_stale_temp = remove_stale_temp
        self._next = time.monotonic()

    def __call__(self) -> None:
        if time.monotonic() < self._next:
            return
        self._next = time.monotonic() + RETENTION_EVERY_S
        try:
            apply_retention(self.svc)
            if self.remove_stale_temp:
                self.svc.vault.store.remove_stale_temp()
        except Exception:
            logger.exception("retention run failed; it will be tried again in an hour")
