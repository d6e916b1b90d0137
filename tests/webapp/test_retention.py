"""Retention with a controlled clock: audio goes at approval (or after its period),
unapproved drafts go after theirs, keys are destroyed, and legal holds keep everything."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from webapp import crypto, db
from webapp.context import aad
from webapp.services.retention import apply_retention


def _approve(svc, recording_id, login_as, resolve_all, web):
    approver = login_as("practitioner")
    version = resolve_all(approver, svc, recording_id)
    response = approver.post_json(
        f"/notes/{recording_id}/approve", {"password": web.PASSWORD, "version": version}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return approver


def _recording(svc, recording_id):
    with svc.engine.connect() as conn:
        return conn.execute(
            sa.select(db.recordings).where(db.recordings.c.id == recording_id)
        ).one_or_none()


def _blobs(svc) -> list[Path]:
    return [p for p in (svc.vault.store.root / "blobs").rglob("*") if p.is_file()]


def _hold(svc, login_as, reference="CR-2026-0042"):
    from webapp.services.auth import load_user
    from webapp.services.holds import place_hold

    manager = login_as("manager")
    with svc.engine.connect() as conn:
        user_id = conn.execute(
            sa.select(db.users.c.id).where(db.users.c.username == manager.username)
        ).scalar_one()
    return place_hold(svc, load_user(svc, user_id), reference)


def test_audio_is_gone_at_approval_and_its_old_key_cannot_open_a_restored_copy(
    drafted, svc, login_as, resolve_all, web
):
    _, recording_id = drafted
    before = _recording(svc, recording_id)
    [blob] = _blobs(svc)
    backup = blob.read_bytes()  # a copy taken before deletion, as a backup would hold
    approver = _approve(svc, recording_id, login_as, resolve_all, web)

    after = _recording(svc, recording_id)
    assert after.audio_blob is None and after.audio_deleted_at is not None
    assert after.wrapped_key != before.wrapped_key
    assert _blobs(svc) == []
    # The only key now held cannot decrypt the restored blob.
    restored = svc.vault.store.path_of(before.audio_blob)
    restored.write_bytes(backup)
    new_key = svc.vault.data_key(recording_id, after.wrapped_key)
    with pytest.raises(crypto.DecryptionError), restored.open("rb") as handle:
        b"".join(crypto.iter_decrypt(new_key, handle, aad("recording", recording_id, "audio")))
    # The approved note is kept and still readable, re-encrypted under the new key.
    text = approver.get(f"/notes/{recording_id}/note.txt")
    assert text.status_code == 200 and "CR-2026-0042" in text.get_data(as_text=True)
    audio = approver.get(f"/recordings/{recording_id}/audio")
    assert audio.status_code == 404 and "retention" in audio.get_data(as_text=True)
    with svc.engine.connect() as conn:
        entry = conn.execute(
            sa.select(db.audit_log).where(db.audit_log.c.action == "retention_audio_deleted")
        ).one()
    assert entry.record_id == recording_id
    assert json.loads(entry.detail) == {"key_destroyed": True, "reason": "approved"}


def test_a_policy_that_keeps_audio_for_days_deletes_it_only_when_the_period_ends(
    make_app, sqlite_url, tmp_path, data_dir, web, resolve_all
):
    from policies.access import load_access_policy
    from webapp.services.users import create_user

    policy = tmp_path / "access.toml"
    policy.write_text(
        Path(load_access_policy().source)
        .read_text()
        .replace("audio_days_after_approval = 0", "audio_days_after_approval = 7")
    )
    app = make_app(sqlite_url, POLICY_FILE=str(policy))
    svc = app.extensions["carenotes"]
    create_user(svc, "sam", web.PASSWORD, "social_worker", ("North",))
    create_user(svc, "pat", web.PASSWORD, "practitioner", ("North",))
    worker, approver = web.Browser(app), web.Browser(app)
    worker.login("sam")
    approver.login("pat")
    recording_id = web.upload(worker, data_dir / "jfk.flac").get_json()["url"].rsplit("/", 1)[-1]
    web.drain(svc)
    version = resolve_all(approver, svc, recording_id)
    response = approver.post_json(
        f"/notes/{recording_id}/approve", {"password": web.PASSWORD, "version": version}
    )
    assert response.status_code == 200
    assert _recording(svc, recording_id).audio_blob is not None
    assert apply_retention(svc, now=db.utcnow() + timedelta(days=6)).audio_deleted == 0
    result = apply_retention(svc, now=db.utcnow() + timedelta(days=7, minutes=1))
    assert (result.audio_deleted, result.drafts_deleted) == (1, 0)
    assert _recording(svc, recording_id).audio_blob is None and _blobs(svc) == []


def test_a_draft_nobody_approves_is_deleted_whole_after_its_period(drafted, svc):
    worker, recording_id = drafted
    assert apply_retention(svc).drafts_deleted == 0
    later = db.utcnow() + timedelta(days=svc.policy.unapproved_draft_days, minutes=1)
    result = apply_retention(svc, now=later)
    assert result.drafts_deleted == 1
    with svc.engine.connect() as conn:
        for table in (db.recordings, db.notes, db.jobs, db.note_versions):
            assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == 0
        actions = conn.execute(sa.select(db.audit_log.c.action)).scalars().all()
    assert "retention_draft_deleted" in actions
    assert worker.get(f"/notes/{recording_id}").status_code == 404
    assert _blobs(svc) == []


def test_a_legal_hold_keeps_a_case_untouched_until_it_is_lifted(
    drafted, svc, login_as, resolve_all, web
):
    from webapp.services.holds import lift_hold

    _, recording_id = drafted
    hold_id = _hold(svc, login_as, " cr-2026-0042 ")
    _approve(svc, recording_id, login_as, resolve_all, web)
    # Held: the audio survives approval and every later purge.
    assert _recording(svc, recording_id).audio_blob is not None
    result = apply_retention(svc, now=db.utcnow() + timedelta(days=3650))
    assert (result.audio_deleted, result.drafts_deleted, result.held) == (0, 0, 1)
    assert len(_blobs(svc)) == 1

    from webapp.services.auth import load_user

    with svc.engine.connect() as conn:
        actions = conn.execute(sa.select(db.audit_log.c.action)).scalars().all()
    assert "legal_hold_set" in actions and "retention_held" in actions
    governance = login_as("information_governance")
    with svc.engine.connect() as conn:
        governance_id = conn.execute(
            sa.select(db.users.c.id).where(db.users.c.username == governance.username)
        ).scalar_one()
    lift_hold(svc, load_user(svc, governance_id), hold_id, "Proceedings concluded")
    assert apply_retention(svc).audio_deleted == 1
    assert _blobs(svc) == []


def test_a_held_draft_is_not_deleted_but_other_cases_still_are(
    drafted, svc, login_as, web, data_dir
):

    worker, held_id = drafted
    response = web.upload(worker, data_dir / "jfk.flac", case_reference="CR-OTHER-1")
    other_id = response.get_json()["url"].rsplit("/", 1)[-1]
    web.drain(svc)
    _hold(svc, login_as)
    result = apply_retention(svc, now=db.utcnow() + timedelta(days=365))
    assert (result.drafts_deleted, result.held) == (1, 1)
    assert _recording(svc, held_id) is not None and _recording(svc, other_id) is None
