"""Passwords: the policy on every new password, changing one's own, a new one required by
an administrator or on first start, and failed sign-ins for unknown names kept hashed."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from policies.errors import BadInput
from webapp import db

NEW_PASSWORD = "lamp orchard velvet quarry"


def _audit(svc, action=None):
    query = sa.select(db.audit_log).order_by(db.audit_log.c.id)
    if action:
        query = query.where(db.audit_log.c.action == action)
    with svc.engine.connect() as conn:
        return conn.execute(query).all()


def _user(svc, username):
    with svc.engine.connect() as conn:
        return conn.execute(sa.select(db.users).where(db.users.c.username == username)).one()


def _location(response):
    parts = urlsplit(response.headers["Location"])
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _change(browser, current, new, repeated=None, page="/account/password"):
    """Send the change-password form as the page does (to its own address)."""
    browser.refresh_token(page)
    return browser.post(
        page,
        {
            "current_password": current,
            "new_password": new,
            "repeat_password": new if repeated is None else repeated,
        },
    )


# --- The policy on new passwords -------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "words"),
    [
        ("Password2026!", "most common passwords"),
        ("qwertyqwerty", "most common passwords"),
        ("priya patel at home", "must not contain your username, your name"),
        ("ppatel-garden-gate", "must not contain your username, your name"),
    ],
)
def test_an_administrator_cannot_give_a_new_user_a_common_password_or_one_holding_their_name(
    login_as, svc, password, words
):
    admin = login_as("admin")
    response = admin.post(
        "/admin/users",
        {
            "username": "ppatel",
            "display_name": "Priya Patel",
            "role": "social_worker",
            "teams": "North",
            "password": password,
        },
    )
    assert response.status_code == 400
    assert words in response.get_data(as_text=True)
    with svc.engine.connect() as conn:
        assert conn.execute(sa.select(db.users).where(db.users.c.username == "ppatel")).all() == []


def test_the_command_line_and_services_apply_the_same_policy(svc):
    from webapp.services.users import create_user

    with pytest.raises(BadInput, match="most common passwords"):
        create_user(svc, "sam", "football1999", "social_worker", ("North",))
    with pytest.raises(BadInput, match="your name"):
        create_user(svc, "sam", "Samantha rides again", "social_worker", display_name="Samantha")


def test_a_new_user_can_be_asked_to_choose_their_own_password_at_first_sign_in(
    app, svc, login_as, web
):
    admin = login_as("admin")
    response = admin.post(
        "/admin/users",
        {
            "username": "ppatel",
            "display_name": "Priya Patel",
            "role": "social_worker",
            "teams": "North",
            "password": web.PASSWORD,
            "must_change_password": "1",
        },
    )
    assert response.status_code == 302
    assert _user(svc, "ppatel").must_change_password is True
    assert "Must choose a new password" in admin.get("/admin/users").get_data(as_text=True)
    signed_in = web.Browser(app).login("ppatel")
    assert _location(signed_in) == "/account/password"


# --- Changing one's own password --------------------------------------------------------


def test_a_user_changes_their_own_password_and_their_other_sessions_end(app, svc, make_user, web):
    make_user("sam", "social_worker")
    here, elsewhere = web.Browser(app), web.Browser(app)
    assert here.login("sam").status_code == 302 and elsewhere.login("sam").status_code == 302
    page = here.get("/account/password")
    assert page.status_code == 200
    assert 'autocomplete="new-password"' in page.get_data(as_text=True)
    assert "Change password" in here.get("/recordings").get_data(as_text=True)  # in the header

    response = _change(here, web.PASSWORD, NEW_PASSWORD)

    assert response.status_code == 302
    assert here.get("/recordings").status_code == 200  # this session goes on
    assert elsewhere.get("/recordings").status_code == 302  # the other one ended
    assert web.Browser(app).login("sam").status_code == 401  # the old password is gone
    assert web.Browser(app).login("sam", NEW_PASSWORD).status_code == 302
    (entry,) = _audit(svc, "password_change")
    assert entry.actor == "sam" and entry.record_id == str(_user(svc, "sam").id)
    assert json.loads(entry.detail)["other_sessions_ended"] == 1
    assert NEW_PASSWORD not in json.dumps([tuple(map(str, row)) for row in _audit(svc)])


def test_a_wrong_current_password_changes_nothing_and_counts_towards_the_lock(
    app, svc, make_user, web
):
    make_user("sam", "social_worker")
    browser = web.Browser(app)
    browser.login("sam")
    before = _user(svc, "sam").password_hash

    response = _change(browser, "not my password at all", NEW_PASSWORD)

    assert response.status_code == 403
    assert "current password is not right" in response.get_data(as_text=True)
    row = _user(svc, "sam")
    assert row.password_hash == before and row.failed_logins == 1
    assert [e.actor for e in _audit(svc, "password_change_failed")] == ["sam"]
    assert _audit(svc, "password_change") == []


@pytest.mark.parametrize(
    ("new", "repeated", "words"),
    [
        ("football1999!", None, "most common passwords"),
        ("sam from the north", None, "must not contain your username"),
        ("Samuel keeps bees", None, "must not contain your username"),  # the full name
        ("short one", None, "at least 12 characters"),
        (NEW_PASSWORD, "lamp orchard velvet quarrY", "differ"),
        ("correct horse battery staple", None, "same as your current one"),
    ],
)
def test_a_new_password_that_breaks_the_policy_is_refused_with_the_reason(
    app, svc, web, new, repeated, words
):
    from webapp.services.users import create_user

    create_user(svc, "sam", web.PASSWORD, "social_worker", ("North",), display_name="Samuel Keep")
    browser = web.Browser(app)
    browser.login("sam")
    before = _user(svc, "sam").password_hash

    response = _change(browser, web.PASSWORD, new, repeated)

    assert response.status_code == 400
    assert words in response.get_data(as_text=True)
    assert _user(svc, "sam").password_hash == before
    assert _audit(svc, "password_change") == []


def test_the_change_password_page_needs_a_signed_in_user(app, web):
    response = web.Browser(app).get("/account/password")
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"


# --- A new password required --------------------------------------------------------------


def test_an_administrator_requires_a_new_password_and_the_user_reaches_no_other_page_first(
    app, svc, login_as, web
):
    admin = login_as("admin")
    worker = login_as("social_worker", username="sam")
    sam_id = _user(svc, "sam").id

    response = admin.post(f"/admin/users/{sam_id}/require-new-password")

    assert response.status_code == 302
    (entry,) = _audit(svc, "password_reset_required")
    assert (entry.actor, entry.record_id) == (admin.username, str(sam_id))
    # Their open session: every page leads to the change-password page, scripts get 403.
    for path in ("/recordings", "/recordings/new", "/", "/oversight/audit", "/login"):
        answer = worker.get(path)
        assert answer.status_code == 302, path
        assert urlsplit(answer.headers["Location"]).path == "/account/password", path
    assert _location(worker.get("/recordings")) == "/account/password?next=/recordings"
    answer = worker.client.get("/recordings/x/status", headers={"Accept": "application/json"})
    assert answer.status_code == 403 and "new password" in answer.get_json()["error"]
    assert worker.get("/account/password").status_code == 200
    # Signing in again leads there too, keeping where they were going.
    again = web.Browser(app)
    assert _location(again.client.get("/recordings")) == "/login?next=/recordings"
    again.refresh_token("/login")
    signed_in = again.client.post(
        "/login?next=/recordings/new",
        data={"username": "sam", "password": web.PASSWORD, "csrf_token": again.token},
    )
    assert _location(signed_in) == "/account/password?next=/recordings/new"

    changed = _change(again, web.PASSWORD, NEW_PASSWORD, page=_location(signed_in))

    assert changed.status_code == 302 and _location(changed) == "/recordings/new"
    assert again.get("/recordings").status_code == 200
    assert _user(svc, "sam").must_change_password is False
    (change,) = _audit(svc, "password_change")
    assert json.loads(change.detail)["required"] is True


def test_a_user_who_must_choose_a_new_password_can_still_sign_out(app, svc, login_as):
    from webapp.services.auth import load_user
    from webapp.services.passwords import require_new_password

    worker = login_as("social_worker", username="sam")
    login_as("admin", username="ada")
    require_new_password(svc, load_user(svc, _user(svc, "ada").id), _user(svc, "sam").id)
    worker.refresh_token("/account/password")
    response = worker.post("/logout")
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"
    assert [e.actor for e in _audit(svc, "sign_out")] == ["sam"]


def test_only_an_administrator_can_require_a_new_password(svc, login_as):
    worker = login_as("social_worker", username="sam")
    manager = login_as("manager")
    response = manager.post(f"/admin/users/{_user(svc, 'sam').id}/require-new-password")
    assert response.status_code == 403
    assert _user(svc, "sam").must_change_password is False
    assert worker.get("/recordings").status_code == 200


def test_the_first_administrator_must_choose_a_new_password_at_first_sign_in(app, svc, web):
    from webapp.services.users import create_first_admin

    username, printed = create_first_admin(svc)
    browser = web.Browser(app)

    response = browser.login(username, printed)

    assert _location(response) == "/account/password"
    assert urlsplit(browser.get("/admin/users").headers["Location"]).path == "/account/password"
    assert _change(browser, printed, NEW_PASSWORD).status_code == 302
    assert browser.get("/admin/users").status_code == 200
    assert web.Browser(app).login(username, printed).status_code == 401


# --- Failed sign-ins for names with no account ------------------------------------------


def test_a_failed_sign_in_for_an_unknown_name_keeps_a_keyed_hash_not_the_name(app, svc, web):
    typed = "Priya.Patel-my-secret-pass"
    browser = web.Browser(app)
    for name in (typed, typed.upper(), "someone.else"):
        assert browser.login(name, "whatever it was").status_code == 401

    entries = _audit(svc, "sign_in_failed")

    first, second, other = (entry.actor for entry in entries)
    assert first.startswith("unknown-user:") and first == second  # still seen together
    assert other.startswith("unknown-user:") and other != first
    trail = json.dumps([tuple(map(str, row)) for row in _audit(svc)]).lower()
    assert "priya" not in trail and "someone" not in trail
    # Keyed, so a list of likely names cannot be hashed and matched without the key.
    plain = hashlib.sha256(typed.casefold().encode()).hexdigest()[:16]
    assert plain not in first


def test_a_failed_sign_in_for_a_real_account_still_names_it(app, svc, make_user, web):
    make_user("sam", "social_worker")
    assert web.Browser(app).login("sam", "not the right password").status_code == 401
    assert [e.actor for e in _audit(svc, "sign_in_failed")] == ["sam"]


def test_an_administrator_gives_someone_who_forgot_their_password_a_temporary_one(
    app, svc, login_as, web
):
    admin = login_as("admin")
    forgetful = login_as("social_worker", username="sam")
    sam_id = _user(svc, "sam").id
    for _ in range(svc.settings.lockout_threshold):  # locked out after guessing
        web.Browser(app).login("sam", "was it this one perhaps")
    assert _user(svc, "sam").locked_until is not None
    temporary = "tin kettle lantern moss"

    response = admin.post(
        f"/admin/users/{sam_id}/require-new-password", {"temporary_password": temporary}
    )

    assert response.status_code == 302
    assert forgetful.get("/recordings").status_code == 302  # signed out everywhere
    row = _user(svc, "sam")
    assert row.must_change_password is True and row.locked_until is None
    browser = web.Browser(app)
    assert _location(browser.login("sam", temporary)) == "/account/password"
    assert _change(browser, temporary, NEW_PASSWORD).status_code == 302
    assert browser.get("/recordings").status_code == 200
    (entry,) = _audit(svc, "password_reset_required")
    assert json.loads(entry.detail)["temporary_password"] is True
    assert temporary not in json.dumps([tuple(map(str, row)) for row in _audit(svc)])


@pytest.mark.parametrize("temporary", ["Password2026!", "sam sam sam sam", "too short"])
def test_a_temporary_password_must_meet_the_policy_too(svc, login_as, temporary):
    admin = login_as("admin")
    login_as("social_worker", username="sam")
    before = _user(svc, "sam")

    response = admin.post(
        f"/admin/users/{before.id}/require-new-password", {"temporary_password": temporary}
    )

    assert response.status_code == 400
    after = _user(svc, "sam")
    assert (after.password_hash, after.must_change_password) == (before.password_hash, False)
    assert _audit(svc, "password_reset_required") == []


def test_administrators_cannot_set_a_temporary_password_for_themselves(svc, login_as):
    admin = login_as("admin", username="ada")
    response = admin.post(
        f"/admin/users/{_user(svc, 'ada').id}/require-new-password",
        {"temporary_password": "tin kettle lantern moss"},
    )
    assert response.status_code == 400
    assert "Change password page" in response.get_data(as_text=True)
    assert _user(svc, "ada").must_change_password is False
