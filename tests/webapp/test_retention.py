"""Audio is deleted after its retention period; unapproved drafts too."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from webapp import db
from webapp.services.retention import apply_retention


def test_audio_is_deleted_after_the_period_but_the_approved_note_is_kept(
    drafted, svc, login_as, resolve_all, web
):
    _, recording_id = drafted
    approver = login_as("practitioner")
    version = resolve_all(approver, svc, recording_id)
    approver.post_json(
        f"/notes/{recording_id}/approve", {"password": web.PASSWORD, "version": version}
    )
    assert apply_retention(svc).audio_deleted == 0
    later = db.utcnow() + timedelta(days=svc.policy.audio_days_after_approval, minutes=1)
    result = apply_retention(svc, now=later)
    assert result.audio_deleted == 1 and result.drafts_deleted == 0
    assert not any((svc.vault.store.root / "blobs").iterdir())
    audio = approver.get(f"/recordings/{recording_id}/audio")
    assert audio.status_code == 404 and "retention" in audio.get_data(as_text=True)
    assert approver.get(f"/notes/{recording_id}/note.txt").status_code == 200


def test_a_draft_nobody_approves_is_deleted_whole_after_its_period(drafted, svc):
    worker, recording_id = drafted
    later = db.utcnow() + timedelta(days=svc.policy.unapproved_draft_days, minutes=1)
    result = apply_retention(svc, now=later)
    assert result.drafts_deleted == 1
    with svc.engine.connect() as conn:
        for table in (db.recordings, db.notes, db.jobs, db.note_versions):
            assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == 0
        actions = conn.execute(sa.select(db.audit_log.c.action)).scalars().all()
    assert "retention_draft_deleted" in actions
    assert worker.get(f"/notes/{recording_id}").status_code == 404
    assert not any((svc.vault.store.root / "blobs").iterdir())
