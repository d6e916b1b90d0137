"""Retention: audio is not kept for ever, nor are drafts nobody approves.

Periods come from the access policy (``[retention]`` in ``policies/access.toml``).
Approved notes themselves are kept; their audio is deleted once the period after
approval has passed. A draft never approved is deleted whole after its period.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from webapp import db
from webapp.context import Services
from webapp.services.audit_trail import record

__all__ = ["RetentionResult", "apply_retention"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionResult:
    """What a retention run deleted.

    Attributes:
        audio_deleted: Recordings whose audio was deleted (their approved note is kept).
        drafts_deleted: Unapproved recordings deleted whole (audio, transcript, draft).
    """

    audio_deleted: int
    drafts_deleted: int


def apply_retention(svc: Services, now: datetime | None = None) -> RetentionResult:
    """Delete what the retention policy says is due; each deletion is audited.

    Args:
        svc: The app's services.
        now: The time to judge by (UTC); the current time by default.

    Returns:
        How many recordings were affected.
    """
    now = now or db.utcnow()
    policy = svc.policy
    audio_cutoff = now - timedelta(days=policy.audio_days_after_approval)
    draft_cutoff = now - timedelta(days=policy.unapproved_draft_days)
    r, n = db.recordings, db.notes
    with svc.engine.connect() as conn:
        audio_due = conn.execute(
            sa.select(r.c.id, r.c.audio_blob)
            .join(n, n.c.recording_id == r.c.id)
            .where(n.c.state == "approved", n.c.approved_at < audio_cutoff)
            .where(r.c.audio_blob.is_not(None))
        ).all()
        drafts_due = conn.execute(
            sa.select(r.c.id, r.c.audio_blob).where(
                r.c.status != "approved", r.c.created_at < draft_cutoff
            )
        ).all()
    for recording_id, blob in audio_due:
        with svc.engine.begin() as conn:
            conn.execute(
                sa.update(r)
                .where(r.c.id == recording_id)
                .values(audio_blob=None, audio_deleted_at=now)
            )
            record(conn, None, "system", "retention_audio_deleted", "recording", recording_id)
        svc.vault.store.delete(blob)
    for recording_id, blob in drafts_due:
        with svc.engine.begin() as conn:
            note_ids = sa.select(n.c.id).where(n.c.recording_id == recording_id)
            conn.execute(
                sa.delete(db.note_versions).where(db.note_versions.c.note_id.in_(note_ids))
            )
            conn.execute(sa.delete(db.addenda).where(db.addenda.c.note_id.in_(note_ids)))
            conn.execute(sa.delete(n).where(n.c.recording_id == recording_id))
            conn.execute(sa.delete(db.jobs).where(db.jobs.c.recording_id == recording_id))
            conn.execute(sa.delete(r).where(r.c.id == recording_id))
            record(conn, None, "system", "retention_draft_deleted", "recording", recording_id)
        if blob:
            svc.vault.store.delete(blob)
    if audio_due or drafts_due:
        logger.info(
            "retention: audio deleted for %d recordings, %d unapproved drafts deleted",
            len(audio_due),
            len(drafts_due),
        )
    return RetentionResult(audio_deleted=len(audio_due), drafts_deleted=len(drafts_due))
