"""Uploads are checked, encrypted and queued; jobs run to a draft exactly once."""

from __future__ import annotations

import io
from pathlib import Path

import sqlalchemy as sa

from webapp import db
from webapp.pipeline import job_status, run_one_job


def _count(svc, table) -> int:
    with svc.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def _blobs(svc) -> list[Path]:
    return [p for p in (svc.vault.store.root / "blobs").iterdir() if p.is_file()]


def test_a_real_recording_is_stored_encrypted_and_queued(svc, login_as, data_dir, web):
    worker = login_as("social_worker")
    response = web.upload(worker, data_dir / "jfk.flac")
    assert response.status_code == 201, response.get_data(as_text=True)
    recording_id = response.get_json()["url"].rsplit("/", 1)[-1]
    blobs = _blobs(svc)
    assert len(blobs) == 1
    original = (data_dir / "jfk.flac").read_bytes()
    stored = blobs[0].read_bytes()
    assert original[:4] not in stored[:64] and original[1000:1032] not in stored
    with svc.engine.connect() as conn:
        rec = conn.execute(sa.select(db.recordings)).one()
        status = job_status(conn, recording_id)
    assert rec.audio_bytes == len(original) and rec.audio_type == "flac"
    assert b"CR-2026-0042" not in rec.case_ref_enc
    assert status.state == "queued" and status.attempts == 0


def test_a_text_file_named_mp3_is_refused_with_a_clear_message(svc, login_as, tmp_path, web):
    fake = tmp_path / "visit.mp3"
    fake.write_text("This is not audio at all, just some notes typed into a file.\n" * 20)
    worker = login_as("social_worker")
    response = web.upload(worker, fake)
    assert response.status_code == 400
    message = response.get_json()["error"]
    assert "visit.mp3" in message and "not a recording" in message
    assert _count(svc, db.recordings) == 0 and _count(svc, db.jobs) == 0
    assert _blobs(svc) == []


def test_an_empty_file_is_refused_as_empty(svc, login_as, tmp_path, web):
    empty = tmp_path / "visit.m4a"
    empty.write_bytes(b"")
    response = web.upload(login_as("social_worker"), empty)
    assert response.status_code == 400
    assert (
        "visit.m4a" in response.get_json()["error"] and "is empty" in response.get_json()["error"]
    )
    assert _count(svc, db.recordings) == 0 and _blobs(svc) == []


def test_a_file_with_audio_magic_bytes_that_does_not_decode_is_refused(
    svc, login_as, tmp_path, web
):
    fake = tmp_path / "broken.wav"
    fake.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 200)
    worker = login_as("social_worker")
    response = web.upload(worker, fake)
    assert response.status_code == 400
    assert "broken.wav" in response.get_json()["error"]
    assert _count(svc, db.recordings) == 0 and _blobs(svc) == []
    assert list((svc.vault.store.root / "plain").iterdir()) == []


def test_an_upload_over_the_size_limit_is_refused(make_app, sqlite_url, data_dir, web):
    app = make_app(sqlite_url, MAX_CONTENT_LENGTH=50_000)
    svc = app.extensions["carenotes"]
    from webapp.services.users import create_user

    create_user(svc, "sam", web.PASSWORD, "social_worker", ("North",))
    browser = web.Browser(app)
    browser.login("sam")
    response = web.upload(browser, data_dir / "jfk.flac")
    assert response.status_code == 413
    assert "larger than this service accepts" in response.get_json()["error"]
    assert _count(svc, db.recordings) == 0 and _blobs(svc) == []


def test_a_visit_type_that_policy_forbids_recording_is_refused_with_the_reason(
    svc, login_as, data_dir, web
):
    worker = login_as("social_worker")
    response = web.upload(worker, data_dir / "jfk.flac", visit_type="mental-capacity-assessment")
    assert response.status_code == 403
    assert "not permitted" in response.get_json()["error"]
    assert _count(svc, db.recordings) == 0 and _blobs(svc) == []


def test_missing_consent_for_a_participant_is_refused(svc, login_as, data_dir, web):
    worker = login_as("social_worker")
    response = web.upload(worker, data_dir / "jfk.flac", participant_consent=["0"])
    assert response.status_code == 400
    assert "Consent to record has not been confirmed for Mrs P" in response.get_json()["error"]
    assert _count(svc, db.recordings) == 0 and _blobs(svc) == []


def test_a_manager_cannot_upload(svc, login_as, data_dir, web):
    manager = login_as("manager")
    response = web.upload(manager, data_dir / "jfk.flac")
    assert response.status_code == 403
    assert _count(svc, db.recordings) == 0


def test_a_queued_job_runs_to_a_draft_with_progress_and_an_audit_entry(
    svc, login_as, data_dir, web
):
    worker = login_as("social_worker")
    recording_id = web.upload(worker, data_dir / "jfk.flac").get_json()["url"].rsplit("/", 1)[-1]
    assert run_one_job(svc) is not None
    # Transcribed: the transcript is kept, sealed, and a drafting job is waiting.
    status = worker.get(f"/recordings/{recording_id}/status").get_json()
    assert (status["kind"], status["state"], status["stage"]) == (
        "draft",
        "queued",
        "waiting to draft",
    )
    assert status["percent"] == 30 and status["review_url"] is None
    with svc.engine.connect() as conn:
        rec = conn.execute(sa.select(db.recordings)).one()
    assert rec.status == "transcribed" and b"sertraline" not in rec.transcript_enc
    assert _count(svc, db.notes) == 0
    assert run_one_job(svc) is not None
    assert run_one_job(svc) is None
    status = worker.get(f"/recordings/{recording_id}/status").get_json()
    assert status["state"] == "done" and status["percent"] == 100
    assert status["review_url"] == f"/notes/{recording_id}"
    assert _count(svc, db.notes) == 1
    transcriber = svc.model("transcriber")
    assert transcriber.calls == [(data_dir / "jfk.flac").stat().st_size]
    assert list((svc.vault.store.root / "plain").iterdir()) == []
    with svc.engine.connect() as conn:
        actions = conn.execute(sa.select(db.audit_log.c.action)).scalars().all()
    assert "upload" in actions and "draft_created" in actions
    with svc.engine.connect() as conn:
        rec = conn.execute(sa.select(db.recordings)).one()
    assert rec.transcript_enc is None  # the note holds the transcript now


def test_a_job_whose_lease_expired_is_run_again_and_finishes_exactly_once(
    svc, login_as, data_dir, web
):
    worker = login_as("social_worker")
    recording_id = web.upload(worker, data_dir / "jfk.flac").get_json()["url"].rsplit("/", 1)[-1]
    # A worker claims the job and dies: its lease is left running, already expired.
    with svc.engine.begin() as conn:
        conn.execute(
            sa.update(db.jobs).values(
                state="running",
                worker_id="dead-worker",
                attempts=1,
                lease_until=db.utcnow() - __import__("datetime").timedelta(seconds=1),
            )
        )
    assert run_one_job(svc, "second-worker") is not None
    assert run_one_job(svc, "third-worker") is not None  # the drafting it queued
    assert run_one_job(svc, "fourth-worker") is None
    with svc.engine.connect() as conn:
        job = conn.execute(sa.select(db.jobs).where(db.jobs.c.kind == "transcribe")).one()
        notes = conn.execute(
            sa.select(sa.func.count())
            .select_from(db.notes)
            .where(db.notes.c.recording_id == recording_id)
        ).scalar_one()
    assert (job.state, job.attempts, job.worker_id) == ("done", 2, "second-worker")
    assert notes == 1


def test_a_job_with_a_live_lease_is_not_taken_by_another_worker(svc, login_as, data_dir, web):
    worker = login_as("social_worker")
    web.upload(worker, data_dir / "jfk.flac")
    with svc.engine.begin() as conn:
        conn.execute(
            sa.update(db.jobs).values(
                state="running",
                worker_id="busy-worker",
                attempts=1,
                lease_until=db.utcnow() + __import__("datetime").timedelta(seconds=60),
            )
        )
    assert run_one_job(svc, "other-worker") is None


def test_a_failing_transcriber_leaves_a_readable_reason(make_app, sqlite_url, data_dir, web):
    from policies.errors import BadInput

    class Silent:
        def transcribe(self, path, options, progress=None):
            raise BadInput("audio.flac: no speech was found in the recording.")

    from webapp.services.users import create_user

    app = make_app(sqlite_url, TRANSCRIBER=Silent())
    svc = app.extensions["carenotes"]
    create_user(svc, "sam", web.PASSWORD, "social_worker", ("North",))
    browser = web.Browser(app)
    browser.login("sam")
    recording_id = web.upload(browser, data_dir / "jfk.flac").get_json()["url"].rsplit("/", 1)[-1]
    run_one_job(svc)
    status = browser.get(f"/recordings/{recording_id}/status").get_json()
    assert status["state"] == "failed"
    assert "no speech was found" in status["error"]
    assert run_one_job(svc) is None


def test_the_form_without_a_file_says_what_is_missing(login_as, web):
    worker = login_as("social_worker")
    response = worker.client.post(
        "/recordings",
        data={**web.upload_form(), "csrf_token": worker.token, "audio": (io.BytesIO(b""), "")},
        headers={"Accept": "application/json"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "Choose a recording" in response.get_json()["error"]


def test_the_list_shows_own_recordings_by_case_reference_and_hides_others(
    svc, login_as, data_dir, web
):
    mine = login_as("social_worker")
    other = login_as("social_worker")
    web.upload(mine, data_dir / "jfk.flac", case_reference="CR-MINE-1")
    web.upload(other, data_dir / "jfk.flac", case_reference="CR-THEIRS-2")
    page = mine.get("/recordings").get_data(as_text=True)
    assert "CR-MINE-1" in page and "CR-THEIRS-2" not in page
    team_view = login_as("practitioner").get("/recordings").get_data(as_text=True)
    assert "CR-MINE-1" in team_view and "CR-THEIRS-2" in team_view


def test_an_upload_without_a_visit_type_is_refused_with_a_clear_message(
    svc, login_as, data_dir, web
):
    from webapp.services.upload_details import VISIT_TYPE_MISSING

    worker = login_as("social_worker")
    response = web.upload(worker, data_dir / "jfk.flac", visit_type="")
    assert response.status_code == 400
    assert response.get_json()["error"] == VISIT_TYPE_MISSING
    assert "Choose the visit type" in VISIT_TYPE_MISSING
    assert _count(svc, db.recordings) == 0 and _blobs(svc) == []


def test_the_upload_form_chooses_no_visit_type_for_the_worker(login_as):
    page = login_as("social_worker").get("/recordings/new").get_data(as_text=True)
    visit_types = page.split('id="visit_type"', 1)[1].split("</select>", 1)[0]
    assert '<option value="" selected>Choose the visit type</option>' in visit_types
    assert visit_types.count("selected") == 1
    assert 'data-missing="Choose the visit type' in visit_types
