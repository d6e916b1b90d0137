"""Transcription and drafting are separate jobs; a failed stage is tried again from there."""

from __future__ import annotations

import sqlalchemy as sa

from webapp import db
from webapp.pipeline import run_one_job


def _upload(web, browser, data_dir) -> str:
    response = web.upload(browser, data_dir / "jfk.flac")
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["url"].rsplit("/", 1)[-1]


def _jobs(svc) -> list[tuple[str, str]]:
    with svc.engine.connect() as conn:
        return [
            tuple(row)
            for row in conn.execute(
                sa.select(db.jobs.c.kind, db.jobs.c.state).order_by(db.jobs.c.id)
            )
        ]


def _recording(svc):
    with svc.engine.connect() as conn:
        return conn.execute(sa.select(db.recordings)).one()


def _set_visit_type(svc, visit_type: str) -> None:
    with svc.engine.begin() as conn:
        conn.execute(sa.update(db.recordings).values(visit_type=visit_type))


def test_a_stage_worker_takes_only_its_own_kind_of_job(svc, login_as, data_dir, web):
    worker = login_as("social_worker")
    _upload(web, worker, data_dir)
    assert run_one_job(svc, "drafting-box", kinds=("draft",)) is None  # nothing to draft yet
    assert run_one_job(svc, "gpu-box", kinds=("transcribe",)) is not None
    assert run_one_job(svc, "gpu-box", kinds=("transcribe",)) is None
    assert _jobs(svc) == [("transcribe", "done"), ("draft", "queued")]
    assert run_one_job(svc, "drafting-box", kinds=("draft",)) is not None
    assert _jobs(svc) == [("transcribe", "done"), ("draft", "done")]
    assert _recording(svc).status == "draft_ready"


def test_a_failed_draft_keeps_the_transcript_and_try_again_drafts_without_transcribing(
    svc, login_as, data_dir, web
):
    worker = login_as("social_worker")
    recording_id = _upload(web, worker, data_dir)
    assert run_one_job(svc) is not None  # transcribed
    _set_visit_type(svc, "a-template-since-removed")
    assert run_one_job(svc) is not None  # drafting fails: no such template
    status = worker.get(f"/recordings/{recording_id}/status").get_json()
    assert (status["kind"], status["state"]) == ("draft", "failed")
    assert "no longer exists" in status["error"] and "Try again" in status["error"]
    page = worker.get(f"/recordings/{recording_id}").get_data(as_text=True)
    assert 'id="retry-form"' in page and 'id="retry-form" method="post" action' in page
    assert _recording(svc).status == "failed" and _recording(svc).transcript_enc is not None

    _set_visit_type(svc, "home-visit")  # an administrator restores it
    response = worker.post(f"/recordings/{recording_id}/retry")
    assert response.status_code == 302
    again = worker.post(f"/recordings/{recording_id}/retry", headers={"Accept": "application/json"})
    assert again.status_code == 409 and "failed" in again.get_json()["error"]
    assert web.drain(svc)
    transcriber = svc.model("transcriber")
    assert len(transcriber.calls) == 1  # the kept transcript was used
    assert _jobs(svc) == [("transcribe", "done"), ("draft", "failed"), ("draft", "done")]
    assert _recording(svc).status == "draft_ready" and _recording(svc).transcript_enc is None
    assert worker.get(f"/notes/{recording_id}").status_code == 200
    with svc.engine.connect() as conn:
        actions = conn.execute(sa.select(db.audit_log.c.action)).scalars().all()
    assert "job_retried" in actions and actions.count("draft_created") == 1


def test_a_failed_transcription_is_tried_again_from_the_audio(make_app, sqlite_url, data_dir, web):
    from webapp.services.users import create_user

    transcriber = web.FailsOnceTranscriber()
    app = make_app(sqlite_url, TRANSCRIBER=transcriber)
    svc = app.extensions["carenotes"]
    create_user(svc, "sam", web.PASSWORD, "social_worker", ("North",))
    create_user(svc, "meg", web.PASSWORD, "manager", ("North",))
    worker, manager = web.Browser(app), web.Browser(app)
    worker.login("sam")
    manager.login("meg")
    recording_id = _upload(web, worker, data_dir)
    assert web.drain(svc)
    assert _jobs(svc) == [("transcribe", "failed")]
    # A manager reads the team's work but does not process it.
    assert manager.post(f"/recordings/{recording_id}/retry").status_code == 403
    response = worker.post(
        f"/recordings/{recording_id}/retry", headers={"Accept": "application/json"}
    )
    assert response.status_code == 202 and response.get_json() == {"kind": "transcribe"}
    assert len(web.drain(svc)) == 2
    assert _jobs(svc) == [("transcribe", "failed"), ("transcribe", "done"), ("draft", "done")]
    assert _recording(svc).status == "draft_ready"


def test_only_a_failed_recording_can_be_tried_again(svc, drafted):
    worker, recording_id = drafted
    response = worker.post(
        f"/recordings/{recording_id}/retry", headers={"Accept": "application/json"}
    )
    assert response.status_code == 409
    assert "draft ready" in response.get_json()["error"]
    assert len(_jobs(svc)) == 2


def test_the_people_listed_as_present_bound_the_speakers_looked_for(svc, login_as, data_dir, web):
    worker = login_as("social_worker")
    alone = {"participant_name": ["Sam"], "participant_role": ["Social worker"]}
    response = web.upload(worker, data_dir / "jfk.flac", **alone, participant_consent=["0"])
    assert response.status_code == 201, response.get_data(as_text=True)
    assert web.drain(svc)
    meeting = {
        "participant_name": [f"Person {i}" for i in range(8)],
        "participant_role": ["Other professional"] * 8,
        "participant_consent": [str(i) for i in range(8)],
    }
    assert web.upload(worker, data_dir / "jfk.flac", **meeting).status_code == 201
    assert web.upload(worker, data_dir / "jfk.flac").status_code == 201  # two present
    assert web.drain(svc)
    dictation, eight, two = svc.model("transcriber").options
    assert (dictation.num_speakers, eight.num_speakers, two.num_speakers) == (1, None, None)
    assert (eight.max_speakers, two.max_speakers) == (8, 2)


def test_a_dictation_is_drafted_as_the_workers_own_account(make_app, sqlite_url, data_dir, web):
    from transcribe.types import Segment, Transcript
    from webapp.services.users import create_user

    class OneVoice:
        def transcribe(self, path, options, progress=None):
            texts = (
                "Visited Mrs Jones at home to review her care package.",
                "She says the carers often arrive late and she is worried about falling.",
            )
            segments = tuple(
                Segment(id=i, start=4.0 * i, end=4.0 * i + 3.5, text=t, speaker="SPEAKER_1")
                for i, t in enumerate(texts)
            )
            return Transcript(segments=segments, language="en", duration=8.0, model="one-voice",
                              speakers=("SPEAKER_1",))  # fmt: skip

    app = make_app(sqlite_url, TRANSCRIBER=OneVoice())
    svc = app.extensions["carenotes"]
    create_user(svc, "sam", web.PASSWORD, "social_worker", ("North",))
    worker = web.Browser(app)
    worker.login("sam")
    response = web.upload(
        worker,
        data_dir / "jfk.flac",
        participant_name=["Sam Social Worker"],
        participant_role=["Social worker"],
        participant_consent=["0"],
    )
    recording_id = response.get_json()["url"].rsplit("/", 1)[-1]
    assert len(web.drain(svc)) == 2
    page = worker.get(f"/notes/{recording_id}").get_data(as_text=True)
    assert "The social worker" in page and "Speaker 1" not in page
    assert "quote</span>" not in page  # the worker's words are not quoted as the person's
    # Naming the role-labelled speaker puts the name where the note said "the social worker".
    version = int(page.split('data-version="', 1)[1].split('"', 1)[0])
    renamed = worker.post_json(
        f"/notes/{recording_id}/speakers",
        {"label": "social worker", "name": "Sam", "version": version},
    )
    assert renamed.status_code == 200, renamed.get_data(as_text=True)
    texts = " ".join(renamed.get_json()["items"].values())
    assert "Sam said" in texts and "social worker" not in texts.lower()


def test_a_model_server_that_is_down_queues_the_draft_again_with_the_reason(
    make_app, database_url, login_as, data_dir, web
):
    import socket

    from summarise.served import ServedDrafter

    with socket.socket() as probe:  # a port on this machine that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = make_app(
        database_url,
        DRAFTER=ServedDrafter(f"http://127.0.0.1:{port}/v1", "qwen2.5-7b", timeout=5),
        DRAFT_MODE="write",
    )
    svc = app.extensions["carenotes"]  # the same database and store as login_as's app
    worker = login_as("social_worker")
    recording_id = _upload(web, worker, data_dir)
    assert run_one_job(svc) is not None  # transcribed
    assert run_one_job(svc) is not None  # drafting: the server does not answer
    with svc.engine.connect() as conn:
        job = conn.execute(sa.select(db.jobs).where(db.jobs.c.kind == "draft")).one()
    assert job.state == "queued"  # tried again, not failed for good
    assert "cannot reach the model server" in job.error
    assert _recording(svc).status != "failed"
    status = worker.get(f"/recordings/{recording_id}/status").get_json()
    assert status["kind"] == "draft"
