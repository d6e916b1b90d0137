"""Sign-in, lockout, server-side sessions and their timeouts, CSRF, headers, settings."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from policies.errors import ConfigError
from webapp import db

TEMPLATES = Path(__file__).resolve().parents[2] / "webapp" / "templates"


def _actions(svc):
    with svc.engine.connect() as conn:
        return conn.execute(sa.select(db.audit_log.c.action)).scalars().all()


def test_signing_in_sets_a_secure_httponly_samesite_cookie_and_is_audited(app, svc, make_user, web):
    make_user("sam", "social_worker")
    browser = web.Browser(app)
    response = browser.login("sam")
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert browser.get("/recordings").status_code == 200
    assert "sign_in" in _actions(svc)


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(app, svc, make_user, web):
    make_user("sam", "social_worker")
    browser = web.Browser(app)
    wrong_password = browser.login("sam", "not the right password")
    unknown_user = browser.login("nobody", "not the right password")
    assert wrong_password.status_code == unknown_user.status_code == 401
    message = "The username or password is not right"
    assert message in wrong_password.get_data(as_text=True)
    assert message in unknown_user.get_data(as_text=True)
    assert _actions(svc).count("sign_in_failed") == 2


def test_repeated_failures_lock_the_account_even_against_the_right_password(
    app, svc, make_user, web
):
    make_user("sam", "social_worker")
    browser = web.Browser(app)
    for _ in range(svc.settings.lockout_threshold):
        assert browser.login("sam", "guess guess guess").status_code == 401
    assert browser.login("sam").status_code == 401  # locked now
    with svc.engine.connect() as conn:
        locked_until = db.as_utc(conn.execute(sa.select(db.users.c.locked_until)).scalar_one())
    assert locked_until > db.utcnow() + timedelta(seconds=30)
    with svc.engine.begin() as conn:  # the lock runs out
        conn.execute(sa.update(db.users).values(locked_until=db.utcnow() - timedelta(seconds=1)))
    assert browser.login("sam").status_code == 302


def test_each_further_failure_doubles_the_lock(app, svc, make_user, web):
    make_user("sam", "social_worker")
    browser = web.Browser(app)
    waits = []
    for _ in range(svc.settings.lockout_threshold + 1):
        with svc.engine.begin() as conn:  # let each lock expire so the attempt counts
            conn.execute(sa.update(db.users).values(locked_until=None))
        browser.login("sam", "guess guess guess")
        with svc.engine.connect() as conn:
            until = db.as_utc(conn.execute(sa.select(db.users.c.locked_until)).scalar_one())
        waits.append(None if until is None else (until - db.utcnow()).total_seconds())
    assert waits[: svc.settings.lockout_threshold - 1] == [None] * (
        svc.settings.lockout_threshold - 1
    )
    base = svc.settings.lockout_base_seconds
    assert base - 5 < waits[-2] <= base and 2 * base - 5 < waits[-1] <= 2 * base


def test_signing_out_revokes_the_session_on_the_server(app, make_user, web):
    make_user("sam", "social_worker")
    browser = web.Browser(app)
    browser.login("sam")
    stolen = browser.client.get_cookie("carenotes_session").value
    assert browser.post("/logout").status_code == 302
    thief = web.Browser(app)
    thief.client.set_cookie("carenotes_session", stolen)
    response = thief.get("/recordings")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_disabling_a_user_ends_their_sessions_at_once(app, login_as):
    worker = login_as("social_worker")
    admin = login_as("admin")
    assert worker.get("/recordings").status_code == 200
    with app.extensions["carenotes"].engine.connect() as conn:
        user_id = conn.execute(
            sa.select(db.users.c.id).where(db.users.c.username == worker.username)
        ).scalar_one()
    assert admin.post(f"/admin/users/{user_id}/disable").status_code == 302
    assert worker.get("/recordings").status_code == 302
    assert worker.login(worker.username).status_code == 401


@pytest.mark.parametrize(
    ("column", "age"),
    [("last_seen_at", timedelta(minutes=31)), ("created_at", timedelta(hours=13))],
)
def test_idle_and_old_sessions_end(app, svc, login_as, column, age):
    worker = login_as("social_worker")
    with svc.engine.begin() as conn:
        conn.execute(sa.update(db.sessions).values({column: db.utcnow() - age}))
    response = worker.get("/recordings")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    with svc.engine.connect() as conn:
        assert conn.execute(sa.select(db.sessions.c.revoked_at)).scalar_one() is not None


def test_forms_and_scripts_without_the_csrf_token_are_refused(app, make_user, login_as, web):
    make_user("sam", "social_worker")
    browser = web.Browser(app)
    browser.refresh_token()
    response = browser.client.post("/login", data={"username": "sam", "password": web.PASSWORD})
    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)
    worker = login_as("social_worker")
    response = worker.client.post("/notes/x/items/y", json={"action": "confirm", "version": 1})
    assert response.status_code == 400


def test_pages_carry_the_security_headers(app, web):
    response = web.Browser(app).get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def test_no_template_has_inline_script_or_event_handlers():
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), template
        assert not re.search(r"\son[a-z]+\s*=", text), template
        assert "http://" not in text and "https://" not in text, template  # no CDN


def test_the_first_run_creates_one_admin_with_a_random_password(app, svc, web):
    from webapp.services.users import create_first_admin

    username, password = create_first_admin(svc)
    assert username == "admin" and len(password) >= 20
    assert create_first_admin(svc) is None
    assert web.Browser(app).login(username, password).status_code == 302


def test_production_start_up_without_a_secret_key_says_how_to_set_one(
    tmp_path, keyring, monkeypatch
):
    from webapp import create_app

    monkeypatch.delenv("CARENOTES_SECRET_KEY", raising=False)
    monkeypatch.setenv("CARENOTES_ENV", "production")
    with pytest.raises(ConfigError, match="CARENOTES_SECRET_KEY") as caught:
        create_app({"INSTANCE_PATH": str(tmp_path), "KEYRING": keyring, "RUN_WORKER": False})
    assert "carenotes keys generate" in str(caught.value)


def test_production_start_up_without_a_master_key_says_how_to_set_one(tmp_path, monkeypatch):
    from webapp import create_app

    for name in ("CARENOTES_MASTER_KEY", "CARENOTES_MASTER_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CARENOTES_ENV", "production")
    with pytest.raises(ConfigError, match="carenotes keys generate"):
        create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "s" * 32, "RUN_WORKER": False})


def test_guessing_the_password_at_approval_locks_the_account_and_signs_out(
    drafted, svc, login_as, state
):
    _, recording_id = drafted
    approver = login_as("practitioner")
    version = state(svc, recording_id)[0]
    for attempt in range(svc.settings.lockout_threshold):
        response = approver.post_json(
            f"/notes/{recording_id}/approve", {"password": f"guess {attempt}", "version": version}
        )
        assert response.status_code == 403
    assert "locked" in response.get_json()["error"]
    assert approver.get("/recordings").status_code == 302  # signed out
    assert approver.login(approver.username).status_code == 401  # locked
