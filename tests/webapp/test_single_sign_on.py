"""Single sign-on against a real OpenID Connect provider (oidc-provider, started by the tests).

The browser's side of the flow is the Flask test client (carenotes) and an HTTP client
(the provider's sign-in page); carenotes talks to the provider itself over HTTP.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
import sqlalchemy as sa

GROUP_MAP = """
version = "test"

[[groups]]
group = "carenotes-admins"
role = "admin"

[[groups]]
group = "carenotes-practitioners"
role = "practitioner"

[[groups]]
group = "carenotes-social-workers"
role = "social_worker"

[[groups]]
group = "team-north"
teams = ["North"]

[[groups]]
group = "team-south"
teams = ["South"]
"""


@pytest.fixture
def group_map_file(tmp_path: Any) -> str:
    path = tmp_path / "sso.toml"
    path.write_text(GROUP_MAP, encoding="utf-8")
    return str(path)


@pytest.fixture
def sso_app(make_app: Any, database_url: str, oidc_provider: Any, group_map_file: str) -> Any:
    return make_app(database_url, **oidc_provider.app_config(OIDC_GROUP_MAP_FILE=group_map_file))


def _user(svc: Any, **where: Any) -> Any:
    from webapp import db

    with svc.engine.connect() as conn:
        query = sa.select(db.users)
        for name, value in where.items():
            query = query.where(db.users.c[name] == value)
        return conn.execute(query).one_or_none()


def _teams(svc: Any, user_id: int) -> set[str]:
    from webapp import db

    with svc.engine.connect() as conn:
        return set(
            conn.execute(
                sa.select(db.teams.c.name)
                .join(db.user_teams, db.user_teams.c.team_id == db.teams.c.id)
                .where(db.user_teams.c.user_id == user_id)
            ).scalars()
        )


def _audit(svc: Any, action: str) -> list[Any]:
    from webapp import db

    with svc.engine.connect() as conn:
        return conn.execute(
            sa.select(db.audit_log)
            .where(db.audit_log.c.action == action)
            .order_by(db.audit_log.c.id)
        ).all()


def test_a_first_sign_in_creates_the_user_with_the_role_and_teams_their_groups_give(
    sso_app: Any, oidc_provider: Any, web: Any
) -> None:
    svc = sso_app.extensions["carenotes"]
    oidc_provider.set_account(
        "sub-alex-1",
        name="Alex Morgan",
        preferred_username="alex.morgan@council.example",
        groups=["carenotes-social-workers", "team-north", "unrelated-group"],
    )
    browser = web.Browser(sso_app)
    response = oidc_provider.sign_in(browser, "sub-alex-1", next_path="/recordings")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert 'url=/recordings"' in response.get_data(as_text=True)

    user = _user(svc, oidc_subject="sub-alex-1")
    assert user.username == "alex.morgan@council.example"
    assert user.display_name == "Alex Morgan"
    assert user.role == "social_worker"
    assert user.oidc_issuer == oidc_provider.issuer
    assert _teams(svc, user.id) == {"North"}
    page = browser.get("/recordings")
    assert page.status_code == 200
    assert "Alex Morgan" in page.get_data(as_text=True)
    assert "Change password" not in page.get_data(as_text=True)
    assert [row.record_id for row in _audit(svc, "user_create")][-1] == str(user.id)
    assert _audit(svc, "sign_in")[-1].actor_id == user.id


def test_a_second_sign_in_finds_the_same_user_by_subject_even_with_a_new_username(
    sso_app: Any, oidc_provider: Any, web: Any
) -> None:
    svc = sso_app.extensions["carenotes"]
    claims = {"name": "Bo Reed", "groups": ["carenotes-practitioners", "team-south"]}
    oidc_provider.set_account("sub-bo-2", preferred_username="bo.reed@council.example", **claims)
    assert oidc_provider.sign_in(web.Browser(sso_app), "sub-bo-2").status_code == 200
    first = _user(svc, oidc_subject="sub-bo-2")

    oidc_provider.set_account("sub-bo-2", preferred_username="bo.smith@council.example", **claims)
    assert oidc_provider.sign_in(web.Browser(sso_app), "sub-bo-2").status_code == 200
    again = _user(svc, oidc_subject="sub-bo-2")
    assert again.id == first.id
    assert again.role == "practitioner"
    assert len(_audit(svc, "user_create")) == 1
    assert [row.actor_id for row in _audit(svc, "sign_in")] == [first.id, first.id]


def test_an_existing_local_account_is_linked_by_username_at_first_sign_in(
    sso_app: Any, oidc_provider: Any, web: Any, make_user: Any
) -> None:
    svc = sso_app.extensions["carenotes"]
    # The local account an administrator made before single sign-on.
    local_id = make_user("casey.lee", "social_worker", ("North",))
    oidc_provider.set_account(
        "sub-casey-3",
        name="Casey Lee",
        preferred_username="Casey.Lee",
        groups=["carenotes-practitioners", "team-north", "team-south"],
    )
    assert oidc_provider.sign_in(web.Browser(sso_app), "sub-casey-3").status_code == 200
    user = _user(svc, id=local_id)
    assert (user.oidc_issuer, user.oidc_subject) == (oidc_provider.issuer, "sub-casey-3")
    assert user.role == "practitioner"
    assert _teams(svc, local_id) == {"North", "South"}
    assert not _audit(svc, "user_create")[1:]  # only the local account was ever created


def test_moving_someone_to_another_group_changes_their_role_at_their_next_sign_in(
    sso_app: Any, oidc_provider: Any, web: Any
) -> None:
    svc = sso_app.extensions["carenotes"]
    account = {"name": "Dee Park", "preferred_username": "dee.park"}
    oidc_provider.set_account(
        "sub-dee-4", groups=["carenotes-social-workers", "team-north"], **account
    )
    browser = web.Browser(sso_app)
    assert oidc_provider.sign_in(browser, "sub-dee-4").status_code == 200
    assert browser.get("/admin/users").status_code == 403  # not for a social worker

    oidc_provider.set_account("sub-dee-4", groups=["carenotes-admins", "team-south"], **account)
    browser = web.Browser(sso_app)
    assert oidc_provider.sign_in(browser, "sub-dee-4").status_code == 200
    user = _user(svc, oidc_subject="sub-dee-4")
    assert user.role == "admin"
    assert _teams(svc, user.id) == {"South"}
    users_page = browser.get("/admin/users")
    assert users_page.status_code == 200
    assert "Signs in with their council account" in users_page.get_data(as_text=True)
    change = _audit(svc, "user_update")[-1]
    assert (change.actor, change.record_id) == ("single sign-on", str(user.id))


def test_someone_whose_groups_no_longer_give_a_role_is_refused_and_signed_out(
    sso_app: Any, oidc_provider: Any, web: Any
) -> None:
    svc = sso_app.extensions["carenotes"]
    account = {"name": "Eli Shaw", "preferred_username": "eli.shaw"}
    oidc_provider.set_account("sub-eli-5", groups=["carenotes-social-workers"], **account)
    earlier = web.Browser(sso_app)
    assert oidc_provider.sign_in(earlier, "sub-eli-5").status_code == 200
    assert earlier.get("/recordings").status_code == 200

    oidc_provider.set_account("sub-eli-5", groups=["team-north"], **account)
    refused = oidc_provider.sign_in(web.Browser(sso_app), "sub-eli-5")
    assert refused.status_code == 403
    assert "None of your groups gives you a role" in refused.get_data(as_text=True)
    assert earlier.get("/recordings").status_code == 302  # their other session ended too
    entry = _audit(svc, "sign_in_failed")[-1]
    assert entry.actor == "eli.shaw"
    assert '"no_role"' in entry.detail


def test_a_newcomer_whose_groups_give_no_role_gets_no_account(
    sso_app: Any, oidc_provider: Any, web: Any
) -> None:
    svc = sso_app.extensions["carenotes"]
    oidc_provider.set_account("sub-fay-6", preferred_username="fay.holt", groups=["team-north"])
    assert oidc_provider.sign_in(web.Browser(sso_app), "sub-fay-6").status_code == 403
    assert _user(svc, oidc_subject="sub-fay-6") is None
    assert _user(svc, username="fay.holt") is None
    assert _audit(svc, "sign_in_failed")[-1].actor.startswith("unknown-user:")


def test_a_user_disabled_here_cannot_sign_in_through_the_provider(
    sso_app: Any, oidc_provider: Any, web: Any
) -> None:
    from webapp import db

    svc = sso_app.extensions["carenotes"]
    oidc_provider.set_account(
        "sub-gus-7", preferred_username="gus.ray", groups=["carenotes-practitioners"]
    )
    browser = web.Browser(sso_app)
    assert oidc_provider.sign_in(browser, "sub-gus-7").status_code == 200
    user = _user(svc, oidc_subject="sub-gus-7")
    with svc.engine.begin() as conn:
        conn.execute(sa.update(db.users).where(db.users.c.id == user.id).values(active=False))
    assert browser.get("/recordings").status_code == 302  # the session ends at once

    refused = oidc_provider.sign_in(web.Browser(sso_app), "sub-gus-7")
    assert refused.status_code == 403
    assert "disabled" in refused.get_data(as_text=True)
    assert '"disabled"' in _audit(svc, "sign_in_failed")[-1].detail


@pytest.mark.parametrize(
    ("claims", "reason", "words"),
    [
        (
            {"iss": "https://login.elsewhere.example/tenant/v2.0"},
            "wrong_issuer",
            "another sign-in service",
        ),
        ({"aud": "another-application"}, "wrong_audience", "another application"),
        (
            {"aud": ["carenotes", "another-application"], "azp": "another-application"},
            "wrong_audience",
            "another application",
        ),
        ({"nonce": "a-nonce-from-another-attempt"}, "bad_nonce", "nonce"),
        ({"exp": 1_700_000_000, "iat": 1_699_999_000}, "expired", "expired"),
    ],
    ids=["wrong-issuer", "wrong-audience", "other-authorised-party", "bad-nonce", "expired"],
)
def test_an_id_token_that_fails_a_check_is_refused_with_the_reason_in_the_audit_trail(
    sso_app: Any, oidc_provider: Any, web: Any, claims: dict[str, Any], reason: str, words: str
) -> None:
    svc = sso_app.extensions["carenotes"]
    oidc_provider.set_account(
        "sub-hal-8", preferred_username="hal.ives", groups=["carenotes-admins"]
    )
    browser = web.Browser(sso_app)
    callback = oidc_provider.callback_url(browser, "sub-hal-8")
    oidc_provider.tamper_next_id_token(**claims)
    refused = browser.client.get(callback)
    assert refused.status_code == 401
    assert words in refused.get_data(as_text=True)
    assert "Nobody was signed in" in refused.get_data(as_text=True)
    assert _user(svc, oidc_subject="sub-hal-8") is None
    assert browser.get("/recordings").status_code == 302
    entry = _audit(svc, "sign_in_failed")[-1]
    assert entry.actor == "single sign-on"
    assert f'"{reason}"' in entry.detail


def test_a_callback_whose_state_does_not_match_the_browsers_attempt_is_refused(
    sso_app: Any, oidc_provider: Any, web: Any
) -> None:
    svc = sso_app.extensions["carenotes"]
    oidc_provider.set_account(
        "sub-ivy-9", preferred_username="ivy.cole", groups=["carenotes-admins"]
    )
    started_here = web.Browser(sso_app)
    callback = oidc_provider.callback_url(started_here, "sub-ivy-9")

    elsewhere = web.Browser(sso_app)  # a link sent to someone else: no attempt of theirs
    refused = elsewhere.client.get(callback)
    assert refused.status_code == 401
    assert "not started in this browser" in refused.get_data(as_text=True)

    changed = callback.replace("state=", "state=x", 1)
    assert started_here.client.get(changed).status_code == 401
    assert _user(svc, oidc_subject="sub-ivy-9") is None
    reasons = [row.detail for row in _audit(svc, "sign_in_failed")[-2:]]
    assert all('"state_mismatch"' in detail for detail in reasons)


def test_a_callback_cannot_be_used_twice(sso_app: Any, oidc_provider: Any, web: Any) -> None:
    oidc_provider.set_account(
        "sub-jo-10", preferred_username="jo.wynn", groups=["carenotes-admins"]
    )
    browser = web.Browser(sso_app)
    callback = oidc_provider.callback_url(browser, "sub-jo-10")
    assert browser.client.get(callback).status_code == 200
    assert browser.client.get(callback).status_code == 401


def test_with_password_sign_in_switched_off_a_password_is_refused_but_single_sign_on_works(
    make_app: Any, database_url: str, oidc_provider: Any, group_map_file: str, web: Any
) -> None:
    from webapp.services.users import create_user

    app = make_app(
        database_url,
        **oidc_provider.app_config(OIDC_GROUP_MAP_FILE=group_map_file, PASSWORD_SIGN_IN=False),
    )
    svc = app.extensions["carenotes"]
    create_user(svc, "kim.local", web.PASSWORD, "admin", ("North",))
    browser = web.Browser(app)
    page = browser.get("/login").get_data(as_text=True)
    assert "Sign in with your council account" in page
    assert 'name="password"' not in page

    refused = browser.login("kim.local")
    assert refused.status_code == 403
    assert "switched off" in refused.get_data(as_text=True)
    assert browser.get("/admin/users").status_code == 302
    assert '"password_sign_in_off"' in _audit(svc, "sign_in_failed")[-1].detail

    oidc_provider.set_account(
        "sub-kim-11", preferred_username="kim.local", groups=["carenotes-admins"]
    )
    assert oidc_provider.sign_in(browser, "sub-kim-11").status_code == 200
    assert browser.get("/admin/users").status_code == 200


def test_signing_out_ends_the_session_here_and_at_the_provider(
    sso_app: Any, oidc_provider: Any, web: Any
) -> None:
    import requests

    svc = sso_app.extensions["carenotes"]
    oidc_provider.set_account(
        "sub-lou-12", preferred_username="lou.pike", groups=["carenotes-admins"]
    )
    browser = web.Browser(sso_app)
    assert oidc_provider.sign_in(browser, "sub-lou-12").status_code == 200
    assert browser.get("/admin/users").status_code == 200

    out = browser.post("/logout")
    assert out.status_code == 200
    assert "Sign out" not in out.get_data(as_text=True)  # the page is for someone signed out
    found = re.search(
        r'id="continue" href="([^"]+)"|href="([^"]+)" id="continue"', out.get_data(as_text=True)
    )
    assert found is not None
    there = html.unescape(found.group(1) or found.group(2))
    assert there.startswith(f"{oidc_provider.issuer}/session/end")
    assert "client_id=carenotes" in there
    assert "post_logout_redirect_uri=http%3A%2F%2Flocalhost%2Flogin" in there
    assert browser.get("/admin/users").status_code == 302
    assert _audit(svc, "sign_out")[-1].actor == "lou.pike"
    # The provider accepts the request and asks the browser to confirm signing out there.
    confirm = requests.get(there, timeout=10)
    assert confirm.status_code == 200
    assert "logout" in confirm.text.lower()


def test_a_password_user_signing_out_is_not_sent_to_the_provider(
    sso_app: Any, login_as: Any
) -> None:
    browser = login_as("admin")
    out = browser.post("/logout")
    assert out.headers["Location"].endswith("/login")


def test_a_provider_that_cannot_be_reached_is_said_so_and_nothing_breaks(
    make_app: Any, sqlite_url: str, group_map_file: str, web: Any
) -> None:
    app = make_app(
        sqlite_url,
        OIDC_ISSUER="http://127.0.0.1:9",
        OIDC_CLIENT_ID="carenotes",
        OIDC_CLIENT_SECRET="some-secret-for-a-provider-that-is-down",
        OIDC_GROUP_MAP_FILE=group_map_file,
    )
    response = web.Browser(app).get("/auth/sso/start")
    assert response.status_code == 503
    assert "could not be reached" in response.get_data(as_text=True)
    assert (
        '"provider_unreachable"' in _audit(app.extensions["carenotes"], "sign_in_failed")[-1].detail
    )


def test_a_provider_whose_settings_name_another_issuer_is_not_trusted(
    make_app: Any, sqlite_url: str, oidc_provider: Any, group_map_file: str, web: Any
) -> None:
    # The same provider reached by another name: its settings say 127.0.0.1, not localhost.
    pretender = oidc_provider.issuer.replace("127.0.0.1", "localhost")
    app = make_app(
        sqlite_url,
        **oidc_provider.app_config(OIDC_ISSUER=pretender, OIDC_GROUP_MAP_FILE=group_map_file),
    )
    response = web.Browser(app).get("/auth/sso/start")
    assert response.status_code == 401
    assert "name another issuer" in response.get_data(as_text=True)
    assert '"wrong_issuer"' in _audit(app.extensions["carenotes"], "sign_in_failed")[-1].detail


def test_without_single_sign_on_its_pages_do_not_exist(app: Any, web: Any) -> None:
    browser = web.Browser(app)
    assert browser.get("/auth/sso/start").status_code == 404
    assert browser.get("/auth/sso/callback?code=x&state=y").status_code == 404
    assert "council account" not in browser.get("/login").get_data(as_text=True)


def test_with_password_sign_in_switched_off_no_first_administrator_password_is_made(
    make_app: Any, sqlite_url: str, oidc_provider: Any, group_map_file: str
) -> None:
    from webapp.services.users import create_first_admin

    app = make_app(
        sqlite_url,
        **oidc_provider.app_config(OIDC_GROUP_MAP_FILE=group_map_file, PASSWORD_SIGN_IN=False),
    )
    svc = app.extensions["carenotes"]
    assert create_first_admin(svc) is None
    assert _user(svc, username="admin") is None


def test_claims_the_id_token_lacks_are_read_from_the_userinfo_endpoint(
    make_app: Any, sqlite_url: str, start_oidc_provider: Any, group_map_file: str, web: Any
) -> None:
    with start_oidc_provider(claims_in_userinfo_only=True) as provider:
        app = make_app(sqlite_url, **provider.app_config(OIDC_GROUP_MAP_FILE=group_map_file))
        svc = app.extensions["carenotes"]
        provider.set_account(
            "sub-max-13",
            name="Max Ford",
            preferred_username="max.ford",
            groups=["carenotes-practitioners", "team-south"],
        )
        assert provider.sign_in(web.Browser(app), "sub-max-13").status_code == 200
    user = _user(svc, oidc_subject="sub-max-13")
    assert (user.username, user.display_name, user.role) == ("max.ford", "Max Ford", "practitioner")
    assert _teams(svc, user.id) == {"South"}


def test_an_account_made_by_single_sign_on_is_told_why_it_cannot_approve_yet(
    svc: Any, drafted: Any, state: Any, resolve_all: Any
) -> None:
    from policies.errors import Forbidden
    from webapp import db
    from webapp.services.approval import approve_note
    from webapp.services.auth import NO_PASSWORD, load_user
    from webapp.services.users import create_user

    worker, recording_id = drafted
    version = resolve_all(worker, svc, recording_id)
    approver_id = create_user(
        svc, "nell.ward", "a long passphrase of hers", "practitioner", ("North",)
    )
    with svc.engine.begin() as conn:  # as single sign-on makes it: no password
        conn.execute(
            sa.update(db.users)
            .where(db.users.c.id == approver_id)
            .values(password_hash=NO_PASSWORD)
        )
    approver = load_user(svc, approver_id)
    assert not approver.has_password
    with pytest.raises(Forbidden, match="has none"):
        approve_note(svc, approver, recording_id, "", version)
    assert state(svc, recording_id)[3].approved_at is None
    entry = _audit(svc, "approve_refused")[-1]
    assert (entry.actor_id, '"no_password"' in entry.detail) == (approver_id, True)
    assert _user(svc, id=approver_id).failed_logins == 0


def test_a_linked_account_that_must_choose_a_new_password_is_still_asked_to(
    sso_app: Any, oidc_provider: Any, web: Any, make_user: Any
) -> None:
    from webapp import db

    svc = sso_app.extensions["carenotes"]
    local_id = make_user("ola.berg", "social_worker", ("North",))
    with svc.engine.begin() as conn:
        conn.execute(
            sa.update(db.users).where(db.users.c.id == local_id).values(must_change_password=True)
        )
    oidc_provider.set_account(
        "sub-ola-14", preferred_username="ola.berg", groups=["carenotes-social-workers"]
    )
    browser = web.Browser(sso_app)
    assert oidc_provider.sign_in(browser, "sub-ola-14").status_code == 200
    assert "/account/password" in browser.get("/recordings").headers["Location"]


def test_a_returning_person_is_found_by_subject_even_without_a_username_claim(
    sso_app: Any, oidc_provider: Any, web: Any
) -> None:
    svc = sso_app.extensions["carenotes"]
    oidc_provider.set_account(
        "sub-pia-15", preferred_username="pia.lund", groups=["carenotes-social-workers"]
    )
    assert oidc_provider.sign_in(web.Browser(sso_app), "sub-pia-15").status_code == 200
    oidc_provider.set_account("sub-pia-15", groups=["carenotes-social-workers"])
    assert oidc_provider.sign_in(web.Browser(sso_app), "sub-pia-15").status_code == 200
    assert _user(svc, oidc_subject="sub-pia-15").username == "pia.lund"


def test_a_username_already_linked_to_someone_else_is_not_linked_again(
    sso_app: Any, oidc_provider: Any, web: Any
) -> None:
    svc = sso_app.extensions["carenotes"]
    groups = ["carenotes-social-workers"]
    oidc_provider.set_account("sub-quin-16", preferred_username="quin.roe", groups=groups)
    assert oidc_provider.sign_in(web.Browser(sso_app), "sub-quin-16").status_code == 200
    oidc_provider.set_account("sub-other-17", preferred_username="Quin.Roe", groups=groups)
    refused = oidc_provider.sign_in(web.Browser(sso_app), "sub-other-17")
    assert refused.status_code == 403
    assert "linked to someone else" in refused.get_data(as_text=True)
    assert _user(svc, oidc_subject="sub-other-17") is None
    assert '"account_conflict"' in _audit(svc, "sign_in_failed")[-1].detail


def test_with_account_creation_off_only_people_with_an_account_may_sign_in(
    make_app: Any, sqlite_url: str, oidc_provider: Any, group_map_file: str, web: Any
) -> None:
    app = make_app(
        sqlite_url,
        **oidc_provider.app_config(OIDC_GROUP_MAP_FILE=group_map_file, OIDC_CREATE_USERS=False),
    )
    svc = app.extensions["carenotes"]
    oidc_provider.set_account(
        "sub-rae-18", preferred_username="rae.voss", groups=["carenotes-social-workers"]
    )
    refused = oidc_provider.sign_in(web.Browser(app), "sub-rae-18")
    assert refused.status_code == 403
    assert "no carenotes account yet" in refused.get_data(as_text=True)
    assert _user(svc, username="rae.voss") is None
    assert '"no_account"' in _audit(svc, "sign_in_failed")[-1].detail


def test_someone_in_too_many_groups_for_the_token_is_refused_saying_what_it_takes(
    sso_app: Any, oidc_provider: Any, web: Any
) -> None:
    # Entra ID leaves the groups out past 200 and points at Microsoft Graph instead.
    oidc_provider.set_account(
        "sub-sol-19",
        preferred_username="sol.kerr",
        _claim_names={"groups": "src1"},
        _claim_sources={
            "src1": {"endpoint": "https://graph.example/v1.0/users/x/getMemberObjects"}
        },
    )
    refused = oidc_provider.sign_in(web.Browser(sso_app), "sub-sol-19")
    assert refused.status_code == 403
    assert "too many groups" in refused.get_data(as_text=True)
    svc = sso_app.extensions["carenotes"]
    assert '"groups_overage"' in _audit(svc, "sign_in_failed")[-1].detail
