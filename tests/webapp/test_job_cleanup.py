"""Decrypted working copies are gone at the end of every job, whatever its outcome, and
at start-up, including those a worker killed mid-job left behind."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import sqlalchemy as sa

from webapp import db

REPO = Path(__file__).resolve().parents[2]
LEFT_BEHIND = b"PLAINTEXT-LEFT-BY-A-KILLED-WORKER " * 2000


class CrashingTranscriber:
    """A Transcriber whose model crashes after opening the decrypted copy it was given."""

    def __init__(self) -> None:
        self.paths: list[Path] = []

    def transcribe(self, path, options, progress=None):
        self.paths.append(Path(path))
        assert Path(path).stat().st_size > 0  # the decrypted copy is there while it runs
        raise RuntimeError("the model crashed")


def _plain_entries(svc) -> list[Path]:
    return sorted((svc.vault.store.root / "plain").iterdir())


def _killed_worker_copy(svc) -> Path:
    """A decrypted copy left in the store by a worker process killed with SIGKILL."""
    store = svc.vault.store
    key = b"\x07" * 32
    aad = b"left-behind"
    child = textwrap.dedent(
        f"""
        import io, time
        from pathlib import Path
        from webapp.storage import BlobStore, new_blob_name
        store = BlobStore(Path({str(store.root)!r}))
        name = new_blob_name()
        store.put_stream(name, {key!r}, io.BytesIO({LEFT_BEHIND!r}), {aad!r})
        with store.decrypted_copy(name, {key!r}, {aad!r}) as plain:
            print(plain, flush=True)
            time.sleep(60)
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", child], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        plain = Path(process.stdout.readline().strip())
        assert plain.read_bytes() == LEFT_BEHIND
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    assert plain.exists()  # the kill left plaintext behind
    return plain


def _signed_in(app, web):
    from webapp.services.users import create_user

    create_user(app.extensions["carenotes"], "sam", web.PASSWORD, "social_worker", ("North",))
    browser = web.Browser(app)
    assert browser.login("sam").status_code == 302
    return browser


def _job_states(svc) -> list[str]:
    with svc.engine.connect() as conn:
        return list(conn.execute(sa.select(db.jobs.c.state).order_by(db.jobs.c.id)).scalars())


def test_a_copy_left_by_a_killed_worker_is_removed_when_the_next_job_ends(
    svc, login_as, data_dir, web
):
    worker = login_as("social_worker")
    assert web.upload(worker, data_dir / "jfk.flac").status_code == 201
    left = _killed_worker_copy(svc)

    assert len(web.drain(svc)) == 2  # transcription, then drafting

    assert _job_states(svc) == ["done", "done"]
    assert not left.exists() and not left.parent.exists()
    assert _plain_entries(svc) == []


def test_a_failing_job_removes_its_own_copy_and_one_left_by_a_killed_worker(
    make_app, database_url, data_dir, web
):
    crashing = CrashingTranscriber()
    app = make_app(database_url, TRANSCRIBER=crashing, JOB_MAX_ATTEMPTS=1)
    svc = app.extensions["carenotes"]
    worker = _signed_in(app, web)
    assert web.upload(worker, data_dir / "jfk.flac").status_code == 201
    left = _killed_worker_copy(svc)

    assert len(web.drain(svc)) == 1

    assert _job_states(svc) == ["failed"]
    assert crashing.paths and not crashing.paths[0].exists()
    assert not left.exists()
    assert _plain_entries(svc) == []


def test_a_job_refused_for_its_input_also_ends_with_no_copy_left(
    make_app, database_url, data_dir, web
):
    app = make_app(database_url, TRANSCRIBER=web.FailsOnceTranscriber())
    svc = app.extensions["carenotes"]
    worker = _signed_in(app, web)
    assert web.upload(worker, data_dir / "jfk.flac").status_code == 201
    left = _killed_worker_copy(svc)

    assert len(web.drain(svc)) == 1

    assert _job_states(svc) == ["failed"]
    assert not left.exists()
    assert _plain_entries(svc) == []


def test_the_end_of_a_job_leaves_a_copy_another_thread_is_using_alone(svc, login_as, data_dir, web):
    import io

    from webapp.storage import new_blob_name

    worker = login_as("social_worker")
    assert web.upload(worker, data_dir / "jfk.flac").status_code == 201
    store = svc.vault.store
    name, key = new_blob_name(), b"\x09" * 32
    store.put_stream(name, key, io.BytesIO(b"in use elsewhere"), b"aad")
    with store.decrypted_copy(name, key, b"aad") as in_use:
        assert len(web.drain(svc)) == 2
        assert in_use.read_bytes() == b"in use elsewhere"
    assert _plain_entries(svc) == []
    store.delete(name)


def test_a_copy_left_by_a_killed_worker_is_removed_at_start_up(make_app, database_url):
    first = make_app(database_url)
    left = _killed_worker_copy(first.extensions["carenotes"])

    make_app(database_url)  # the same store, started again

    assert not left.exists()
    assert _plain_entries(first.extensions["carenotes"]) == []
