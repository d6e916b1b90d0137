"""Every route × every role × own team / other team answers as the policy says.

A record outside what a user may see answers 404 (never 403, so its existence is
not given away); a record they may see but not change answers 403.
"""

from __future__ import annotations

import pytest

# Who is asking: (role, team, is the uploader).
VIEWERS = {
    "owner": ("social_worker", "North", True),
    "peer_social_worker": ("social_worker", "North", False),
    "practitioner": ("practitioner", "North", False),
    "manager": ("manager", "North", False),
    "admin": ("admin", "North", False),
    "other_social_worker": ("social_worker", "South", False),
    "other_practitioner": ("practitioner", "South", False),
    "other_manager": ("manager", "South", False),
    "other_admin": ("admin", "South", False),
}

H = 404  # hidden
# Record routes. The note is a draft with unresolved flags, so an allowed approval
# answers 409 (not yet), downloads 409 (not approved) and addenda 409 (still a draft).
RECORD_ROUTES = {
    "GET /recordings/{id}": {"owner": 302, "practitioner": 302, "manager": 302},
    "GET /recordings/{id}/status": {"owner": 200, "practitioner": 200, "manager": 200},
    "GET /recordings/{id}/audio": {"owner": 200, "practitioner": 200, "manager": 200},
    "GET /notes/{id}": {"owner": 200, "practitioner": 200, "manager": 200},
    "JSON /notes/{id}/items/{item}": {"owner": 200, "practitioner": 200, "manager": 403},
    "JSON /notes/{id}/sections/{section}/reviewed": {
        "owner": 200,
        "practitioner": 200,
        "manager": 403,
    },
    "JSON /notes/{id}/speakers": {"owner": 200, "practitioner": 200, "manager": 403},
    "JSON /notes/{id}/sections/{section}/statements": {
        "owner": 200,
        "practitioner": 200,
        "manager": 403,
    },
    # The first of three statements, moved down by each who may: second, then third.
    "JSON /notes/{id}/items/{movable}/move": {"owner": 200, "practitioner": 200, "manager": 403},
    # The draft still has flags to check, so it cannot be sent yet, nor returned.
    "JSON /notes/{id}/send-for-approval": {"owner": 409, "practitioner": 409, "manager": 403},
    "JSON /notes/{id}/return": {"owner": 403, "practitioner": 409, "manager": 403},
    "JSON /notes/{id}/approve": {"owner": 403, "practitioner": 409, "manager": 403},
    "FORM /notes/{id}/addenda": {"owner": 409, "practitioner": 409, "manager": 403},
    "GET /notes/{id}/note.txt": {"owner": 409, "practitioner": 409, "manager": 409},
    "GET /notes/{id}/note.docx": {"owner": 409, "practitioner": 409, "manager": 409},
}
# Routes without a record: the answer depends on the role only.
ROLE_ROUTES = {
    "GET /recordings": {"social_worker": 200, "practitioner": 200, "manager": 200, "admin": 200},
    "GET /recordings/new": {
        "social_worker": 200,
        "practitioner": 200,
        "manager": 403,
        "admin": 403,
    },
    "GET /oversight/audit": {
        "social_worker": 403,
        "practitioner": 403,
        "manager": 200,
        "admin": 200,
    },
    "GET /admin/users": {"social_worker": 403, "practitioner": 403, "manager": 403, "admin": 200},
    # A subject access export is all of a case's content: never for an administrator.
    "GET /oversight/subject-access": {
        "social_worker": 403,
        "practitioner": 403,
        "manager": 403,
        "admin": 403,
    },
    "FORM /oversight/subject-access": {
        "social_worker": 403,
        "practitioner": 403,
        "manager": 403,
        "admin": 403,
    },
    "FORM /admin/users/{user}": {
        "social_worker": 403,
        "practitioner": 403,
        "manager": 403,
        "admin": 302,
    },
    "FORM /admin/users/{user}/disable": {
        "social_worker": 403,
        "practitioner": 403,
        "manager": 403,
        "admin": 302,
    },
    "GET /admin/api-tokens": {
        "social_worker": 403,
        "practitioner": 403,
        "manager": 403,
        "admin": 200,
    },
    # The API takes bearer tokens only: a signed-in session opens none of it.
    "GET /api/v1/notes": {
        "social_worker": 401,
        "practitioner": 401,
        "manager": 401,
        "admin": 401,
    },
    "GET /api/v1/notes/{note}": {
        "social_worker": 401,
        "practitioner": 401,
        "manager": 401,
        "admin": 401,
    },
    "JSON /api/v1/notes/{note}/imported": {
        "social_worker": 401,
        "practitioner": 401,
        "manager": 401,
        "admin": 401,
    },
}


def _call(browser, route, ids, version):
    method, path = route.split(" ", 1)
    url = path.format(**ids)
    if method == "GET":
        return browser.get(url)
    if method == "FORM":
        return browser.post(
            url, {"text": "An addendum.", "role": "social_worker", "teams": "North"}
        )
    body = {
        "action": "confirm",
        "version": version,
        "label": "SPEAKER_1",
        "name": "Social worker",
        "password": "correct horse battery staple",
        "text": "A statement of the practitioner's own.",
        "direction": "down",
        "comment": "Please check the second section.",
    }
    return browser.post_json(url, body)


def test_every_route_answers_every_role_in_every_team_as_the_policy_says(
    app, svc, make_user, login_as, drafted, state, web
):
    owner, recording_id = drafted
    _, work, draft, _ = state(svc, recording_id)
    flagged = next(i for i, item in work["items"].items() if item["flagged"])
    ids = {
        "id": recording_id,
        "item": flagged,
        "section": draft["sections"][0]["key"],
        "note": state(svc, recording_id)[3].id,
        "movable": next(
            ids[0]
            for ids in (
                [i for i, item in work["items"].items() if item["section"] == section["key"]]
                for section in draft["sections"]
            )
            if len(ids) >= 3
        ),
    }
    browsers = {"owner": owner}
    for name, (role, team, is_owner) in VIEWERS.items():
        if not is_owner:
            browsers[name] = login_as(role, team=team)
    victim = make_user("victim", "social_worker", ("North",))
    mismatches = []
    for route, allowed in RECORD_ROUTES.items():
        for name, browser in browsers.items():
            expected = allowed.get(name, H)
            got = _call(browser, route, ids, state(svc, recording_id)[0]).status_code
            if got != expected:
                mismatches.append(f"{route} as {name}: expected {expected}, got {got}")
    for route, by_role in ROLE_ROUTES.items():
        for name, browser in browsers.items():
            role = VIEWERS[name][0]
            got = _call(browser, route, {**ids, "user": victim}, 0).status_code
            if got != by_role[role]:
                mismatches.append(f"{route} as {name}: expected {by_role[role]}, got {got}")
            if route.endswith("/disable") and got == 302:
                browser.post(f"/admin/users/{victim}/enable")
    assert not mismatches, "\n".join(mismatches)


@pytest.mark.parametrize(
    "route", ["GET /recordings", "GET /notes/x", "GET /oversight/audit", "GET /admin/users"]
)
def test_a_visitor_who_is_not_signed_in_is_sent_to_sign_in(app, web, route):
    browser = web.Browser(app)
    response = browser.get(route.split(" ", 1)[1])
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_script_whose_session_ended_gets_401_not_a_page(app, web):
    browser = web.Browser(app)
    response = browser.client.post(
        "/notes/x/items/y",
        json={"action": "confirm", "version": 1},
        headers={"Accept": "application/json"},
    )
    assert response.status_code in (400, 401)


def test_an_admin_moving_a_user_to_another_team_changes_what_they_see(
    app, svc, make_user, login_as, drafted
):
    owner, recording_id = drafted
    admin = login_as("admin")
    practitioner = login_as("practitioner", team="South")
    assert practitioner.get(f"/notes/{recording_id}").status_code == 404
    import sqlalchemy as sa

    from webapp import db

    with svc.engine.connect() as conn:
        user_id = conn.execute(
            sa.select(db.users.c.id).where(db.users.c.username == practitioner.username)
        ).scalar_one()
    response = admin.post(f"/admin/users/{user_id}", {"role": "practitioner", "teams": "North"})
    assert response.status_code == 302
    assert practitioner.get(f"/notes/{recording_id}").status_code == 200
    with svc.engine.connect() as conn:
        actions = conn.execute(sa.select(db.audit_log.c.action)).scalars().all()
    assert "user_update" in actions


def test_every_api_route_is_in_the_matrix(app):
    listed = {route.split(" ", 1)[1].replace("{note}", "<note_id>") for route in ROLE_ROUTES}
    api_rules = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/api/")}
    # The OpenAPI description is public; every other API route must be checked above.
    assert api_rules - {"/api/v1/openapi.json"} <= listed


def test_a_manager_sees_only_their_teams_in_the_audit_trail(svc, login_as, drafted):
    owner, recording_id = drafted
    north = login_as("manager", team="North")
    south = login_as("manager", team="South")
    north_page = north.get("/oversight/audit").get_data(as_text=True)
    south_page = south.get("/oversight/audit").get_data(as_text=True)
    shown_as = owner.username.title()  # the full name make_user gives
    assert shown_as in north_page and "uploaded a recording" in north_page
    assert "case CR-2026-0042" in north_page  # what the entry is about, for a manager
    assert shown_as not in south_page and "CR-2026-0042" not in south_page
    assert "The audit chain is intact" in north_page
    # Administrators manage accounts, not cases: no case references for them.
    admin_page = login_as("admin").get("/oversight/audit").get_data(as_text=True)
    assert "uploaded a recording" in admin_page and "CR-2026-0042" not in admin_page
    only = north.get("/oversight/audit?action=upload").get_data(as_text=True)
    assert "uploaded a recording</span>" in only and "opened the note</span>" not in only


def test_an_administrator_is_not_offered_a_button_to_disable_themselves(svc, login_as):
    import sqlalchemy as sa

    from webapp import db

    admin = login_as("admin")
    other = login_as("social_worker")
    with svc.engine.connect() as conn:
        ids = dict(conn.execute(sa.select(db.users.c.username, db.users.c.id)).all())
    page = admin.get("/admin/users").get_data(as_text=True)
    assert f"/admin/users/{ids[other.username]}/disable" in page
    assert f"/admin/users/{ids[admin.username]}/disable" not in page
    refused = admin.post(f"/admin/users/{ids[admin.username]}/disable")
    assert refused.status_code == 400 and "your own account" in refused.get_data(as_text=True)


def test_the_audit_trail_pages_back_through_older_entries(svc, login_as, drafted, monkeypatch):
    import re

    from webapp.services import audit_entries

    monkeypatch.setattr(audit_entries, "_PAGE", 2)
    manager = login_as("manager")
    first = manager.get("/oversight/audit").get_data(as_text=True)
    shown = [int(n) for n in re.findall(r"<tr><td>(\d+)</td>", first)]
    assert len(shown) == 2 and shown[0] > shown[1]
    link = re.search(r'href="(/oversight/audit\?before=\d+)">Older entries', first)
    assert link, first
    older = manager.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    earlier = [int(n) for n in re.findall(r"<tr><td>(\d+)</td>", older)]
    assert earlier and max(earlier) < min(shown)
