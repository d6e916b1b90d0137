"""The API for case-management systems, over HTTP: only approved notes of the token's
teams, bearer tokens only, every call audited, rate-limited, clear JSON errors."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa

from webapp import db
from webapp.services.api_tokens import create_token, revoke_token


def _upload(web, svc, browser, data_dir, case_reference):
    response = web.upload(browser, data_dir / "jfk.flac", case_reference=case_reference)
    assert response.status_code == 201, response.get_data(as_text=True)
    recording_id = response.get_json()["url"].rsplit("/", 1)[-1]
    web.drain(svc)
    return recording_id


def _approve(web, svc, worker, approver, recording_id, resolve_all):
    version = resolve_all(worker, svc, recording_id)
    answer = approver.post_json(
        f"/notes/{recording_id}/approve", {"password": web.PASSWORD, "version": version}
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)


def _note_id(svc, recording_id):
    with svc.engine.connect() as conn:
        return conn.execute(
            sa.select(db.notes.c.id).where(db.notes.c.recording_id == recording_id)
        ).scalar_one()


@pytest.fixture
def notes(app, svc, login_as, data_dir, web, resolve_all):
    """An approved note and a draft in North, an approved note in South: their note ids."""
    ids = {}
    for team in ("North", "South"):
        worker = login_as("social_worker", team=team)
        approver = login_as("practitioner", team=team)
        recording_id = _upload(web, svc, worker, data_dir, f"CR-{team}-1")
        _approve(web, svc, worker, approver, recording_id, resolve_all)
        ids[team] = _note_id(svc, recording_id)
        if team == "North":
            ids["draft"] = _note_id(svc, _upload(web, svc, worker, data_dir, "CR-North-2"))
    return ids


class Api:
    """A client sending a bearer token and no cookies."""

    def __init__(self, app, token):
        self.client = app.test_client(use_cookies=False)
        self.token = token

    def _headers(self, token=None):
        return {"Authorization": f"Bearer {token or self.token}"}

    def get(self, path, token=None, **kwargs):
        return self.client.get(path, headers=self._headers(token), **kwargs)

    def mark(self, note_id, reference="MOS-1", system="Mosaic"):
        return self.client.post(
            f"/api/v1/notes/{note_id}/imported",
            json={"external_reference": reference, "system": system},
            headers=self._headers(),
        )


@pytest.fixture
def api(app, svc):
    """``api(teams, mark=False, **kwargs)``: a client with a new token for those teams.

    Teams North and South exist from the start.
    """
    with svc.engine.begin() as conn:
        for team in ("North", "South"):
            conn.execute(sa.insert(db.teams).values(name=team, created_at=db.utcnow()))

    def make(teams=("North",), mark=False, **kwargs):
        return Api(
            app, create_token(svc, "Mosaic import", teams, can_mark_imported=mark, **kwargs).token
        )

    return make


def _audit(svc, action=None):
    with svc.engine.connect() as conn:
        query = sa.select(db.audit_log).order_by(db.audit_log.c.id)
        if action:
            query = query.where(db.audit_log.c.action == action)
        return conn.execute(query).all()


def test_a_token_lists_and_fetches_only_its_own_teams_approved_notes(api, notes, svc):
    north = api(("North",))
    listed = north.get("/api/v1/notes")
    assert listed.status_code == 200, listed.get_data(as_text=True)
    body = listed.get_json()
    assert [n["id"] for n in body["notes"]] == [notes["North"]]
    assert body["next_cursor"] is None
    summary = body["notes"][0]
    assert summary["case_reference"] == "CR-North-1" and summary["team"] == "North"
    assert summary["imported"] is False
    from webapp.blueprints.api import OPENAPI_FILE

    schema = json.loads(OPENAPI_FILE.read_text())["components"]["schemas"]["NoteSummary"]
    assert set(summary) == set(schema["properties"]) == set(schema["required"])
    assert north.get(f"/api/v1/notes/{notes['North']}").status_code == 200
    # Another team's approved note and a draft of its own team answer as no note at all.
    for hidden in (notes["South"], notes["draft"], "0" * 32, "x" * 5000):
        answer = north.get(f"/api/v1/notes/{hidden}")
        assert answer.status_code == 404, hidden
        assert "no approved note" in answer.get_json()["error"]
    south = api(("South",)).get("/api/v1/notes").get_json()
    assert [n["id"] for n in south["notes"]] == [notes["South"]]
    both = api(("North", "South")).get("/api/v1/notes").get_json()
    assert {n["id"] for n in both["notes"]} == {notes["North"], notes["South"]}


def test_a_fetched_note_carries_its_heading_sections_actions_and_a_hash_that_matches(
    api, notes, svc
):
    answer = api(("North",)).get(f"/api/v1/notes/{notes['North']}")
    assert answer.status_code == 200
    note = answer.get_json()
    heading = note["heading"]
    assert heading["case_reference"] == "CR-North-1"
    assert heading["visit_type"] == "home-visit" and heading["visit_date"] == "2026-03-14"
    assert [p["name"] for p in heading["present"]] == ["Sam Social Worker", "Mrs P"]
    assert heading["author"].startswith("Socialworker") and heading["approver"].startswith(
        "Practitioner"
    )
    assert heading["approved_at"] == note["approval"]["approved_at"]
    assert note["sections"] and all("statements" in s for s in note["sections"])
    assert any(s["statements"] for s in note["sections"])
    assert isinstance(note["actions"], list)
    assert note["text_sha256"] == hashlib.sha256(note["text"].encode("utf-8")).hexdigest()
    assert note["approval"]["sha256"] == note["text_sha256"]
    assert note["import"] is None
    # What the OpenAPI description promises is there.
    from webapp.blueprints.api import OPENAPI_FILE

    schemas = json.loads(OPENAPI_FILE.read_text())["components"]["schemas"]
    assert set(schemas["Note"]["required"]) <= set(note)
    assert set(schemas["Note"]["properties"]) == set(note)
    assert set(schemas["Note"]["properties"]["heading"]["properties"]) == set(heading)
    # Nothing of the transcript or the draft machinery goes out.
    flat = json.dumps(note)
    assert "segments" not in flat and "transcript" not in flat and "citations" not in flat


def test_the_list_filters_by_team_approval_time_and_import_and_pages_with_a_cursor(api, notes, svc):
    both = api(("North", "South"), mark=True)
    only_south = both.get("/api/v1/notes?team=South").get_json()["notes"]
    assert [n["id"] for n in only_south] == [notes["South"]]
    first = both.get("/api/v1/notes?limit=1").get_json()
    assert len(first["notes"]) == 1 and first["next_cursor"]
    second = both.get(f"/api/v1/notes?limit=1&cursor={first['next_cursor']}").get_json()
    assert len(second["notes"]) == 1 and second["next_cursor"] is None
    assert {first["notes"][0]["id"], second["notes"][0]["id"]} == {notes["North"], notes["South"]}
    later = first["notes"][0]["approved_at"]
    since = both.get("/api/v1/notes", query_string={"approved_since": later}).get_json()
    assert first["notes"][0]["id"] in [n["id"] for n in since["notes"]]
    future = both.get("/api/v1/notes?approved_since=2999-01-01").get_json()
    assert future["notes"] == []
    assert both.mark(notes["North"]).status_code == 201
    waiting = both.get("/api/v1/notes?not_imported=true").get_json()["notes"]
    assert [n["id"] for n in waiting] == [notes["South"]]
    listed = {n["id"]: n for n in both.get("/api/v1/notes").get_json()["notes"]}
    assert listed[notes["North"]]["imported"] is True and listed[notes["North"]]["imported_at"]
    # A team the token does not cover, or none of that name: the same refusal.
    north_only = api(("North",))
    for team in ("South", "Nowhere"):
        refused = north_only.get(f"/api/v1/notes?team={team}")
        assert refused.status_code == 403 and "not scoped" in refused.get_json()["error"]


def test_marking_imported_is_idempotent_audited_and_refused_to_a_read_only_token(
    api, notes, svc, login_as
):
    reader = api(("North",))
    refused = reader.mark(notes["North"])
    assert refused.status_code == 403 and "read+mark-imported" in refused.get_json()["error"]
    importer = api(("North",), mark=True)
    first = importer.mark(notes["North"], "MOS-77")
    assert first.status_code == 201, first.get_data(as_text=True)
    assert first.get_json()["import"]["external_reference"] == "MOS-77"
    again = importer.mark(notes["North"], "MOS-77")
    assert again.status_code == 200 and again.get_json()["created"] is False
    assert again.get_json()["import"] == first.get_json()["import"]
    other = importer.mark(notes["North"], "MOS-78")
    assert other.status_code == 409 and "another reference" in other.get_json()["error"]
    with svc.engine.connect() as conn:
        rows = conn.execute(sa.select(db.note_imports)).all()
    assert len(rows) == 1 and b"MOS-77" not in rows[0].reference_enc  # sealed at rest
    fetched = importer.get(f"/api/v1/notes/{notes['North']}").get_json()
    assert fetched["import"]["external_reference"] == "MOS-77"
    assert fetched["import"]["system"] == "Mosaic"
    marks = _audit(svc, "api_note_imported")
    assert [json.loads(m.detail)["already"] for m in marks] == [False, True]
    assert all(m.record_id == notes["North"] for m in marks)
    # A subject access export says where the note went.
    governance = login_as("information_governance", team="North")
    export = governance.post("/oversight/subject-access", {"case_reference": "CR-North-1"})
    assert export.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(export.data))
    (details_name,) = [n for n in archive.namelist() if n.endswith("details.json")]
    imported = json.loads(archive.read(details_name))["imported"]
    assert imported["external_reference"] == "MOS-77" and imported["system"] == "Mosaic"
    # Drafts and other teams' notes cannot be marked either.
    assert importer.mark(notes["draft"]).status_code == 404
    assert importer.mark(notes["South"]).status_code == 404
    # Several marks of the same note at once: one makes the record, the others find it.
    south = api(("South",), mark=True)
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(
            pool.map(
                lambda _: Api(south.client.application, south.token).mark(notes["South"]), range(4)
            )
        )
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]


def test_every_call_is_audited_under_the_token_id_and_never_the_token(api, notes, svc, login_as):
    client = api(("North",))
    token_id = _token_id(svc, client.token)
    client.get("/api/v1/notes")
    client.get(f"/api/v1/notes/{notes['North']}")
    client.get(f"/api/v1/notes/{notes['South']}")
    entries = [e for e in _audit(svc) if e.action.startswith(("api_note", "api_refused"))]
    assert [e.action for e in entries] == ["api_notes_list", "api_note_fetch", "api_refused"]
    details = [json.loads(e.detail) for e in entries]
    assert all(d["token"] == token_id for d in details)
    assert details[0]["endpoint"] == "GET /api/v1/notes" and details[0]["notes"] == [notes["North"]]
    assert entries[1].record_id == notes["North"]
    assert details[1]["endpoint"] == "GET /api/v1/notes/<note_id>"
    assert details[2]["status"] == 404 and details[2]["note"] == notes["South"]
    assert all(e.actor == f"API token {token_id} ({client.token.split('_')[1]})" for e in entries)
    secret = client.token.split("_", 2)[2]
    with svc.engine.connect() as conn:
        dumped = json.dumps([list(map(str, r)) for r in conn.execute(sa.select(db.audit_log))])
        stored = conn.execute(sa.select(db.api_tokens.c.token_sha256)).scalars().all()
    assert secret not in dumped and client.token not in dumped
    assert hashlib.sha256(client.token.encode()).hexdigest() in stored
    from webapp import audit

    with svc.engine.connect() as conn:
        assert audit.verify(conn, db.audit_log).ok  # the chain holds the API's entries
    # A manager sees the API's reads of their team's notes, in words, and no other team's.
    north = login_as("manager", team="North").get("/oversight/audit").get_data(as_text=True)
    assert "fetched the approved note through the API" in north
    assert "case CR-North-1" in north and f"API token {token_id}" in north
    south = login_as("manager", team="South").get("/oversight/audit").get_data(as_text=True)
    assert "fetched the approved note through the API" not in south


def _token_id(svc, token):
    with svc.engine.connect() as conn:
        return conn.execute(
            sa.select(db.api_tokens.c.id).where(
                db.api_tokens.c.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
            )
        ).scalar_one()


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer cnt_abcdefgh_" + "A" * 43,  # well formed, never issued
        "Bearer cnt_abcdefgh_" + "A" * 4000,
        "Bearer " + "x" * 10_000,
        "Bearer cnt_ABCDEFGH_" + "A" * 43,
    ],
)
def test_a_missing_malformed_or_unknown_token_is_refused_with_401(app, svc, header):
    client = app.test_client(use_cookies=False)
    headers = {} if header is None else {"Authorization": header}
    answer = client.get("/api/v1/notes", headers=headers)
    assert answer.status_code == 401
    assert answer.get_json()["error"] and answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_or_expired_token_is_refused_and_the_refusal_audited(app, svc, api):
    client = api(("North",))
    assert client.get("/api/v1/notes").status_code == 200
    assert revoke_token(svc, _token_id(svc, client.token)) is True
    assert revoke_token(svc, _token_id(svc, client.token)) is False
    refused = client.get("/api/v1/notes")
    assert refused.status_code == 401 and "revoked or expired" in refused.get_json()["error"]
    expiring = api(("North",), expires_at=db.utcnow() + timedelta(seconds=1))
    expiring_id = _token_id(svc, expiring.token)
    with svc.engine.begin() as conn:
        conn.execute(
            sa.update(db.api_tokens)
            .where(db.api_tokens.c.id == expiring_id)
            .values(expires_at=db.utcnow() - timedelta(seconds=1))
        )
    assert expiring.get("/api/v1/notes").status_code == 401
    refusals = [json.loads(e.detail) for e in _audit(svc, "api_refused")]
    assert [r["status"] for r in refusals] == [401, 401]
    assert {e.action for e in _audit(svc)} >= {"api_token_create", "api_token_revoke"}


def test_a_session_cookie_does_not_open_the_api_and_no_csrf_token_is_needed(
    app, svc, login_as, api
):
    practitioner = login_as("practitioner")
    assert practitioner.get("/recordings").status_code == 200  # signed in
    answer = practitioner.get("/api/v1/notes")
    assert answer.status_code == 401 and answer.is_json
    refused = practitioner.client.post(
        "/api/v1/notes/" + "0" * 32 + "/imported",
        json={"external_reference": "X", "system": "Mosaic"},
    )
    assert refused.status_code == 401
    # With a token, a POST needs no CSRF token (a browser never sends the token itself).
    importer = api(("North",), mark=True)
    assert importer.mark("0" * 32).status_code == 404


def test_calls_past_the_rate_limit_answer_429_with_retry_after(make_app, database_url):
    from webapp.services.api_tokens import create_token as make

    app = make_app(database_url, API_RATE_LIMIT=3, API_RATE_WINDOW_SECONDS=3600)
    svc = app.extensions["carenotes"]
    with svc.engine.begin() as conn:
        conn.execute(sa.insert(db.teams).values(name="North", created_at=db.utcnow()))
    client = Api(app, make(svc, "Mosaic import", ("North",)).token)
    answers = [client.get("/api/v1/notes") for _ in range(5)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert [a.headers.get("X-RateLimit-Remaining") for a in answers[:3]] == ["2", "1", "0"]
    assert 1 <= int(answers[3].headers["Retry-After"]) <= 3600
    assert "try again in" in answers[3].get_json()["error"]
    other = Api(app, make(svc, "Eclipse import", ("North",)).token)
    assert other.get("/api/v1/notes").status_code == 200  # the limit is per token
    refusals = [json.loads(e.detail) for e in _audit(svc, "api_refused")]
    assert [r["status"] for r in refusals] == [429]  # the first refusal of the window only


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=" + "9" * 5000, "limit"),
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
        ("approved_since=yesterday", "approved_since"),
        ("approved_since=" + "2" * 5000, "approved_since"),
        ("approved_since=99999-01-01", "approved_since"),
        ("approved_since=0001-01-01T00:00:00%2B23:59", "approved_since"),
        ("approved_since=9999-12-31T23:59:59-23:59", "approved_since"),
        (
            "cursor=MDAwMS0wMS0wMVQwMDowMDowMCsyMzo1OXwwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMA",
            "cursor",
        ),
        ("not_imported=maybe", "not_imported"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=" + "A" * 10_000, "cursor"),
        ("team=" + "N" * 5000, "team"),
        ("limit=1&limit=2", "limit"),
        ("since=2026-01-01", None),
    ],
)
def test_bad_list_parameters_answer_400_with_the_reason(api, app, svc, query, field):
    answer = api(("North",)).get(f"/api/v1/notes?{query}")
    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert answer.get_json()["field"] == field and answer.get_json()["error"]


def test_a_time_with_an_offset_is_understood_even_with_its_plus_sign_unencoded(api):
    client = api(("North",))
    for since in ("2026-12-01T09:00:00+01:00", "2026-12-01T09:00:00Z", "2026-12-01"):
        answer = client.get(f"/api/v1/notes?approved_since={since}")
        assert answer.status_code == 200, (since, answer.get_data(as_text=True))


def test_odd_input_never_causes_a_server_error(api, app, svc):
    client = api(("North",), mark=True)
    assert client.get("/api/v1/notes?team=No%00rth").status_code == 400
    assert client.get("/api/v1/notes/ab%00cd").status_code == 400
    assert client.get("/api/v1/notes/" + "9" * 40).status_code == 404
    bodies = [
        b"not json",
        b"[]",
        b'{"external_reference": 5, "system": "Mosaic"}',
        b'{"external_reference": "a\\u0000b", "system": "Mosaic"}',
        json.dumps({"external_reference": "x" * 100_000, "system": "Mosaic"}).encode(),
        b'{"external_reference": "MOS-1"}',
    ]
    for body in bodies:
        answer = client.client.post(
            "/api/v1/notes/" + "0" * 32 + "/imported",
            data=body,
            headers={**client._headers(), "Content-Type": "application/json"},
        )
        assert answer.status_code == 400, (body[:40], answer.status_code)
        assert answer.is_json
    assert client.client.delete("/api/v1/notes", headers=client._headers()).status_code == 405


def test_the_openapi_description_is_served_and_names_every_api_route(app):
    client = app.test_client(use_cookies=False)
    answer = client.get("/api/v1/openapi.json")
    assert answer.status_code == 200 and answer.is_json
    spec = answer.get_json()
    assert spec["openapi"].startswith("3.")
    documented = {
        (method.upper(), "/api/v1" + path.replace("{note_id}", "<note_id>"))
        for path, operations in spec["paths"].items()
        for method in operations
    }
    routed = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routed == documented

    def refs(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    schemas = spec["components"]["schemas"]
    for ref in refs(spec):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas


def test_an_import_reference_stays_readable_after_the_audio_is_deleted_and_the_note_rekeyed(
    make_app, sqlite_url, tmp_path, data_dir, web, resolve_all
):
    from pathlib import Path

    from policies.access import load_access_policy
    from webapp.services.retention import apply_retention
    from webapp.services.users import create_user

    policy = tmp_path / "access.toml"
    policy.write_text(
        Path(load_access_policy().source)
        .read_text()
        .replace("audio_days_after_approval = 0", "audio_days_after_approval = 7")
    )
    app = make_app(sqlite_url, POLICY_FILE=str(policy))
    svc = app.extensions["carenotes"]
    create_user(svc, "sam", web.PASSWORD, "social_worker", ("North",))
    create_user(svc, "pat", web.PASSWORD, "practitioner", ("North",))
    worker, approver = web.Browser(app), web.Browser(app)
    worker.login("sam")
    approver.login("pat")
    recording_id = _upload(web, svc, worker, data_dir, "CR-North-9")
    _approve(web, svc, worker, approver, recording_id, resolve_all)
    note_id = _note_id(svc, recording_id)
    client = Api(app, create_token(svc, "Mosaic import", ("North",), can_mark_imported=True).token)
    assert client.mark(note_id, "MOS-9").status_code == 201
    before = client.get(f"/api/v1/notes/{note_id}").get_json()
    # The audio goes after its period; what is kept is sealed again under a fresh key.
    result = apply_retention(svc, now=db.utcnow() + timedelta(days=7, minutes=1))
    assert result.audio_deleted == 1
    after = client.get(f"/api/v1/notes/{note_id}")
    assert after.status_code == 200
    assert after.get_json()["import"]["external_reference"] == "MOS-9"
    assert after.get_json()["text"] == before["text"]
