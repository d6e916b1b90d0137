"""The web app's commands: users create, keys generate/rotate, audit verify; the embedded worker."""

from __future__ import annotations

import argparse
import base64
import io
import time

import pytest
import sqlalchemy as sa

from webapp import db
from webapp.commands import add_commands
from webapp.crypto import KeyRing, MasterKey, generate_master_key


def _run(argv):
    parser = argparse.ArgumentParser(prog="carenotes")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture
def cli_env(monkeypatch, tmp_path, sqlite_url):
    key = generate_master_key()
    monkeypatch.setenv("CARENOTES_SECRET_KEY", "cli-secret-key-0123456789abcdef")
    monkeypatch.setenv("CARENOTES_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("CARENOTES_STORAGE_DIR", str(tmp_path / "storage"))
    monkeypatch.setenv("CARENOTES_MASTER_KEY", key)
    monkeypatch.setenv("CARENOTES_PASSWORD_MEMORY_KIB", "1024")
    monkeypatch.delenv("CARENOTES_MASTER_KEY_FILE", raising=False)
    monkeypatch.delenv("CARENOTES_PREVIOUS_MASTER_KEYS", raising=False)
    return key


def test_users_create_makes_a_user_who_can_sign_in(
    cli_env, monkeypatch, capsys, make_app, sqlite_url, web
):
    monkeypatch.setattr("sys.stdin", io.StringIO(web.PASSWORD + "\n"))
    assert (
        _run(
            [
                "users",
                "create",
                "pat",
                "--role",
                "practitioner",
                "--team",
                "North",
                "--password-stdin",
            ]
        )
        == 0
    )
    assert "Created user pat" in capsys.readouterr().out
    # The same master key as the command's: another would not open this database.
    app = make_app(sqlite_url, KEYRING=KeyRing(MasterKey.from_text(cli_env, source="test")))
    assert web.Browser(app).login("pat").status_code == 302


def test_audit_verify_passes_then_catches_an_edited_entry(cli_env, capsys, make_app, sqlite_url):
    app = make_app(sqlite_url, KEYRING=KeyRing(MasterKey.from_text(cli_env, source="test")))
    from webapp.services.users import create_user

    svc = app.extensions["carenotes"]
    create_user(svc, "pat", "correct horse battery staple", "practitioner", ("North",))
    assert _run(["audit", "verify"]) == 0
    assert "intact" in capsys.readouterr().out
    with svc.engine.begin() as conn:  # an intruder with direct database access
        conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
        conn.execute(sa.update(db.audit_log).values(actor="someone-else"))
    assert _run(["audit", "verify"]) == 1
    assert "NOT intact" in capsys.readouterr().err


def test_keys_rotate_rewraps_so_the_old_master_key_is_no_longer_needed(
    cli_env, monkeypatch, capsys, make_app, sqlite_url, data_dir, web
):
    old_ring = KeyRing(MasterKey.from_text(cli_env, source="test"))
    app = make_app(sqlite_url, KEYRING=old_ring)
    svc = app.extensions["carenotes"]
    from webapp.services.users import create_user

    create_user(svc, "sam", web.PASSWORD, "social_worker", ("North",))
    browser = web.Browser(app)
    browser.login("sam")
    recording_id = web.upload(browser, data_dir / "jfk.flac").get_json()["url"].rsplit("/", 1)[-1]
    new_key = generate_master_key()
    monkeypatch.setenv("CARENOTES_MASTER_KEY", new_key)
    monkeypatch.setenv("CARENOTES_PREVIOUS_MASTER_KEYS", cli_env)
    assert _run(["keys", "rotate"]) == 0
    assert "Re-wrapped 1 data key" in capsys.readouterr().out
    only_new = KeyRing(MasterKey.from_text(new_key, source="test"))
    fresh = make_app(sqlite_url, KEYRING=only_new)
    browser = web.Browser(fresh)
    browser.login("sam")
    audio = browser.get(f"/recordings/{recording_id}/audio")
    assert audio.status_code == 200 and audio.data == (data_dir / "jfk.flac").read_bytes()
    assert base64.urlsafe_b64decode(new_key) != base64.urlsafe_b64decode(cli_env)


def test_keys_generate_prints_a_usable_key(capsys):
    assert _run(["keys", "generate"]) == 0
    key = capsys.readouterr().out.strip()
    assert MasterKey.from_text(key, source="test").key_id


def test_the_embedded_worker_thread_processes_an_upload_by_itself(
    make_app, sqlite_url, data_dir, web
):
    app = make_app(sqlite_url, RUN_WORKER=True, WORKER_POLL_SECONDS=0.2)
    svc = app.extensions["carenotes"]
    from webapp.services.users import create_user

    create_user(svc, "sam", web.PASSWORD, "social_worker", ("North",))
    browser = web.Browser(app)
    browser.login("sam")
    recording_id = web.upload(browser, data_dir / "jfk.flac").get_json()["url"].rsplit("/", 1)[-1]
    deadline = time.monotonic() + 120
    status = {}
    while time.monotonic() < deadline:
        status = browser.get(f"/recordings/{recording_id}/status").get_json()
        if status["state"] in ("done", "failed"):
            break
        time.sleep(0.3)
    assert status["state"] == "done", status
    assert browser.get(f"/recordings/{recording_id}").status_code == 302


def test_serve_runs_the_app_under_gunicorn_and_stops_cleanly(cli_env, tmp_path, sqlite_url):
    import os
    import signal
    import socket
    import subprocess
    import sys
    import urllib.request
    from pathlib import Path

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    root = Path(__file__).resolve().parents[2]
    log = (tmp_path / "serve.log").open("w+b")
    env = {**os.environ, "PYTHONPATH": str(root), "CARENOTES_COOKIE_SECURE": "false"}
    server = subprocess.Popen(
        [sys.executable, "-m", "webapp.cli", "serve", "--port", str(port), "--threads", "4"],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:  # noqa: S310
                    assert r.status == 200
                    assert "gunicorn" in r.headers.get("Server", "")
                    break
            except OSError:
                assert server.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.3)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as r:  # noqa: S310
            assert r.status == 200 and "Sign in" in r.read().decode()
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    output = (tmp_path / "serve.log").read_text()
    assert "an administrator was created" in output and "username: admin" in output
    assert f"running on http://127.0.0.1:{port}/" in output
    assert "development server" not in output
    engine = db.create_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.scalar(sa.select(db.users.c.role)) == "admin"
    engine.dispose()
