"""A worker killed mid-job (kill -9): the job is taken over and finishes exactly once."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

from webapp import db
from webapp.pipeline import run_one_job

ROOT = Path(__file__).resolve().parents[2]


def _job(svc):
    """The recording's transcription job (the one the killed worker held)."""
    with svc.engine.connect() as conn:
        return conn.execute(sa.select(db.jobs).where(db.jobs.c.kind == "transcribe")).one()


def test_a_worker_killed_mid_job_is_replaced_and_the_job_finishes_once(
    make_app, database_url, keyring, data_dir, tmp_path, web
):
    app = make_app(database_url, JOB_LEASE_SECONDS=2)
    svc = app.extensions["carenotes"]
    from webapp.services.users import create_user

    create_user(svc, "sam", web.PASSWORD, "social_worker", ("North",))
    browser = web.Browser(app)
    browser.login("sam")
    recording_id = web.upload(browser, data_dir / "jfk.flac").get_json()["url"].rsplit("/", 1)[-1]

    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CARENOTES_SECRET_KEY": "worker-secret-key-0123456789",
        "CARENOTES_MASTER_KEY": base64.urlsafe_b64encode(keyring.current.secret).decode(),
    }
    env.pop("CARENOTES_MASTER_KEY_FILE", None)
    worker = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("worker_process.py")),
            database_url,
            svc.settings.storage_dir,
            str(tmp_path / "worker-instance"),
            "doomed-worker",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            job = _job(svc)
            if job.state == "running" and job.stage == "transcribing" and job.progress > 0.06:
                break
            assert worker.poll() is None, worker.stdout.read().decode()
            time.sleep(0.2)
        else:
            raise AssertionError("the worker never started transcribing")
        plain = svc.vault.store.root / "plain"
        assert any(plain.iterdir()), "the killed worker had a decrypted copy open"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()

    assert _job(svc).state == "running"  # stuck until its lease runs out...
    assert run_one_job(svc, "replacement") is None  # ...which has not happened yet
    # A restart clears the plaintext copy the dead process left behind.
    replacement = make_app(database_url, JOB_LEASE_SECONDS=2)
    assert not any((svc.vault.store.root / "plain").iterdir())
    replacement_svc = replacement.extensions["carenotes"]
    deadline = time.monotonic() + 30
    ran = None
    while ran is None and time.monotonic() < deadline:
        time.sleep(0.5)
        ran = run_one_job(replacement_svc, "replacement")
    job = _job(svc)
    assert (job.state, job.attempts, job.worker_id) == ("done", 2, "replacement")
    # Transcribed once; the drafting it queued runs once too.
    assert run_one_job(replacement_svc, "drafter") is not None
    with svc.engine.connect() as conn:
        kinds = conn.execute(sa.select(db.jobs.c.kind, db.jobs.c.state)).all()
    assert sorted(kinds) == [("draft", "done"), ("transcribe", "done")]
    with svc.engine.connect() as conn:
        notes = conn.execute(
            sa.select(sa.func.count())
            .select_from(db.notes)
            .where(db.notes.c.recording_id == recording_id)
        ).scalar_one()
    assert notes == 1
    assert run_one_job(replacement_svc, "another") is None
