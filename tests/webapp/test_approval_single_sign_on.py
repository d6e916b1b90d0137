"""Approving with no password: signing in again at a real OpenID Connect provider.

An account made by single sign-on, with carenotes passwords switched off, approves by
signing in again at the provider (oidc-provider, started by the tests). The provider's
redirect back is sent here without the session cookie, as a browser sends it
(``SameSite=Strict``); the page it answers with moves on to finish the approval.
"""

from __future__ import annotations

import html
import json
import re
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

GROUP_MAP = """
version = "test"

[[groups]]
group = "carenotes-practitioners"
role = "practitioner"

[[groups]]
group = "carenotes-social-workers"
role = "social_worker"

[[groups]]
group = "team-north"
teams = ["North"]
"""

APPROVER = "sub-ama-31"
WORKER = "sub-wyn-32"


@pytest.fixture
def sso_only_app(make_app: Any, sqlite_url: str, oidc_provider: Any, tmp_path: Any) -> Any:
    groups = tmp_path / "sso.toml"
    groups.write_text(GROUP_MAP, encoding="utf-8")
    config = oidc_provider.app_config(OIDC_GROUP_MAP_FILE=str(groups), PASSWORD_SIGN_IN=False)
    return make_app(sqlite_url, **config)


def _signed_in(app: Any, provider: Any, web: Any, subject: str, name: str, role: str) -> Any:
    provider.set_account(
        subject,
        name=name.replace(".", " ").title(),
        preferred_username=name,
        groups=[role, "team-north"],
    )
    browser = web.Browser(app)
    assert provider.sign_in(browser, subject).status_code == 200
    return browser


def _audit(svc: Any, action: str) -> list[Any]:
    from webapp import db

    with svc.engine.connect() as conn:
        return conn.execute(
            sa.select(db.audit_log)
            .where(db.audit_log.c.action == action)
            .order_by(db.audit_log.c.id)
        ).all()


def _attempts(svc: Any) -> int:
    from webapp import db

    with svc.engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count())
            .select_from(db.app_state)
            .where(db.app_state.c.name.startswith("reauth:"))
        ).scalar_one()


def _continue_link(response: Any) -> str:
    found = re.search(r'href="([^"]+)" id="continue"', response.get_data(as_text=True))
    assert found is not None, response.get_data(as_text=True)
    return html.unescape(found.group(1))


@pytest.fixture
def checked(sso_only_app: Any, oidc_provider: Any, web: Any, data_dir: Any, resolve_all: Any):
    """A draft checked by a worker, and an approver with no password, both signed in by
    single sign-on; returns ``(app, approver's browser, recording id, version)``."""
    svc = sso_only_app.extensions["carenotes"]
    worker = _signed_in(
        sso_only_app, oidc_provider, web, WORKER, "wyn.hale", "carenotes-social-workers"
    )
    response = web.upload(worker, data_dir / "jfk.flac")
    assert response.status_code == 201, response.get_data(as_text=True)
    recording_id = response.get_json()["url"].rsplit("/", 1)[-1]
    assert len(web.drain(svc)) == 2
    version = resolve_all(worker, svc, recording_id)
    approver = _signed_in(
        sso_only_app, oidc_provider, web, APPROVER, "ama.osei", "carenotes-practitioners"
    )
    return sso_only_app, approver, recording_id, version


def _press_approve(approver: Any, recording_id: str, version: int) -> str:
    """Press the approve button; return the provider's sign-in address it leads to."""
    page = approver.post(f"/notes/{recording_id}/approve", {"version": str(version)})
    assert page.status_code == 200, page.get_data(as_text=True)
    url = _continue_link(page)
    query = parse_qs(urlsplit(url).query)
    assert (query["prompt"], query["max_age"]) == (["login"], ["0"])
    return url


def _come_back(app: Any, approver: Any, callback: str) -> Any:
    """The provider's redirect back (no session cookie), then the page it moves on to."""
    back = app.test_client().get(callback)
    assert back.status_code == 200, back.get_data(as_text=True)
    assert "carenotes_session" not in back.headers.get("Set-Cookie", "")
    return approver.get(_continue_link(back))


def test_an_account_with_no_password_approves_by_signing_in_again_at_the_provider(
    checked: Any, oidc_provider: Any, state: Any
) -> None:
    app, approver, recording_id, version = checked
    svc = app.extensions["carenotes"]
    page = approver.get(f"/notes/{recording_id}").get_data(as_text=True)
    assert 'id="approve-password"' not in page
    assert "Sign in again to approve and lock the note" in page

    url = _press_approve(approver, recording_id, version)
    assert state(svc, recording_id)[3].state == "draft"  # nothing approved yet
    finished = _come_back(app, approver, oidc_provider.sign_in_there(url, APPROVER))
    assert finished.status_code == 302
    assert finished.headers["Location"] == f"/notes/{recording_id}"

    note = state(svc, recording_id)[3]
    assert note.state == "approved"
    entry = _audit(svc, "approve")[-1]
    assert entry.actor == "ama.osei" and entry.actor_id == note.approved_by
    detail = json.loads(entry.detail)
    assert detail["how"] == "re-authenticated with the identity provider"
    assert detail["sha256"] == note.approved_sha256
    assert "The note is approved and locked." in approver.get(f"/notes/{recording_id}").get_data(
        as_text=True
    )
    assert _attempts(svc) == 0


def test_signing_in_again_as_someone_else_leaves_the_note_unapproved(
    checked: Any, oidc_provider: Any, state: Any
) -> None:
    app, approver, recording_id, version = checked
    svc = app.extensions["carenotes"]
    oidc_provider.set_account(
        "sub-eve-33", preferred_username="eve.grey", groups=["carenotes-practitioners"]
    )
    url = _press_approve(approver, recording_id, version)
    finished = _come_back(app, approver, oidc_provider.sign_in_there(url, "sub-eve-33"))
    assert finished.status_code == 302
    assert finished.headers["Location"].endswith("#approve-button")
    page = approver.get(f"/notes/{recording_id}").get_data(as_text=True)
    assert "Not approved: You signed in again as someone else" in page
    assert state(svc, recording_id)[3].state == "draft"
    assert '"reauthentication_other_person"' in _audit(svc, "approve_refused")[-1].detail
    assert not _audit(svc, "approve")


def test_a_sign_in_from_before_the_approval_was_asked_for_is_refused(
    checked: Any, oidc_provider: Any, state: Any
) -> None:
    app, approver, recording_id, version = checked
    svc = app.extensions["carenotes"]
    url = _press_approve(approver, recording_id, version)
    callback = oidc_provider.sign_in_there(url, APPROVER)
    # What a provider that let the person through on an hour-old sign-in would send.
    oidc_provider.tamper_next_id_token(auth_time=int(time.time()) - 3600)
    finished = _come_back(app, approver, callback)
    assert finished.headers["Location"].endswith("#approve-button")
    page = approver.get(f"/notes/{recording_id}").get_data(as_text=True)
    assert "Not approved: The council&#39;s sign-in service let you through on an earlier" in page
    assert state(svc, recording_id)[3].state == "draft"
    assert '"reauthentication_stale_sign_in"' in _audit(svc, "approve_refused")[-1].detail


def test_an_id_token_of_another_attempt_is_refused(
    checked: Any, oidc_provider: Any, state: Any
) -> None:
    app, approver, recording_id, version = checked
    svc = app.extensions["carenotes"]
    callback = oidc_provider.sign_in_there(
        _press_approve(approver, recording_id, version), APPROVER
    )
    oidc_provider.tamper_next_id_token(nonce="a-nonce-from-another-attempt")
    _come_back(app, approver, callback)
    page = approver.get(f"/notes/{recording_id}").get_data(as_text=True)
    assert "the answer belongs to another attempt" in page
    assert state(svc, recording_id)[3].state == "draft"
    assert '"reauthentication_bad_nonce"' in _audit(svc, "approve_refused")[-1].detail


def test_cancelling_at_the_provider_leaves_the_note_unapproved(checked: Any, state: Any) -> None:
    app, approver, recording_id, version = checked
    svc = app.extensions["carenotes"]
    url = _press_approve(approver, recording_id, version)
    attempt_state = parse_qs(urlsplit(url).query)["state"][0]
    callback = f"/auth/sso/callback?error=access_denied&state={attempt_state}"
    _come_back(app, approver, callback)
    page = approver.get(f"/notes/{recording_id}").get_data(as_text=True)
    assert "did not sign you in again (access_denied)" in page
    assert 'id="approve-error" role="alert"' in page and "autofocus" in page
    assert state(svc, recording_id)[3].state == "draft"


def test_an_approval_is_finished_once_and_only_in_the_session_that_asked_for_it(
    checked: Any, oidc_provider: Any, web: Any, state: Any
) -> None:
    app, approver, recording_id, version = checked
    svc = app.extensions["carenotes"]
    callback = oidc_provider.sign_in_there(
        _press_approve(approver, recording_id, version), APPROVER
    )
    back = app.test_client().get(callback)
    finish = _continue_link(back)

    # The same person in another browser: not the session that asked.
    elsewhere = web.Browser(app)
    assert oidc_provider.sign_in(elsewhere, APPROVER).status_code == 200
    refused = elsewhere.get(finish)
    assert refused.status_code == 403
    assert "started in another carenotes session" in refused.get_data(as_text=True)
    # Refused there, it is used up: the session that asked must start again too.
    again = approver.get(finish)
    assert again.status_code == 403
    assert "finished already" in again.get_data(as_text=True)
    assert state(svc, recording_id)[3].state == "draft"


def test_a_note_with_open_flags_sends_nobody_to_sign_in_again(
    sso_only_app: Any, oidc_provider: Any, web: Any, data_dir: Any, state: Any
) -> None:
    svc = sso_only_app.extensions["carenotes"]
    worker = _signed_in(
        sso_only_app, oidc_provider, web, WORKER, "wyn.hale", "carenotes-social-workers"
    )
    response = web.upload(worker, data_dir / "jfk.flac")
    recording_id = response.get_json()["url"].rsplit("/", 1)[-1]
    web.drain(svc)
    approver = _signed_in(
        sso_only_app, oidc_provider, web, APPROVER, "ama.osei", "carenotes-practitioners"
    )
    version = state(svc, recording_id)[0]
    refused = approver.post(f"/notes/{recording_id}/approve", {"version": str(version)})
    assert refused.status_code == 302
    assert refused.headers["Location"].endswith("#approve-button")
    page = approver.get(f"/notes/{recording_id}").get_data(as_text=True)
    assert "Not approved: The note cannot be approved yet." in page
    assert _attempts(svc) == 0
    assert state(svc, recording_id)[3].state == "draft"
