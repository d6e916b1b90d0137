"""API tokens are made, listed and revoked by administrators (page and command line),
shown once, kept only as a hash, and every change is audited."""

from __future__ import annotations

import hashlib
import re

import pytest
import sqlalchemy as sa

from webapp import db


def _tokens(svc):
    with svc.engine.connect() as conn:
        return conn.execute(sa.select(db.api_tokens).order_by(db.api_tokens.c.id)).all()


def test_an_administrator_makes_a_token_that_is_shown_once_and_kept_as_a_hash(app, svc, login_as):
    login_as("social_worker", team="North")
    login_as("social_worker", team="South")
    admin = login_as("admin")
    page = admin.get("/admin/api-tokens")
    assert page.status_code == 200 and "No API tokens yet" in page.get_data(as_text=True)
    made = admin.post(
        "/admin/api-tokens",
        {
            "name": "Mosaic import",
            "teams": ["North", "South"],
            "scope": "read+mark-imported",
            "expires": "2999-12-31",
        },
    )
    assert made.status_code == 201, made.get_data(as_text=True)
    html = made.get_data(as_text=True)
    token = re.search(r'value="(cnt_[a-z0-9]{8}_[A-Za-z0-9_-]{43})"', html).group(1)
    assert "shown only this once" in html
    (row,) = _tokens(svc)
    assert row.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert row.prefix == token.split("_")[1] and row.can_mark_imported
    assert db.as_utc(row.expires_at).year == 3000  # the end of 31 December 2999, UK time
    listing = admin.get("/admin/api-tokens").get_data(as_text=True)
    assert token not in listing and f"cnt_{row.prefix}" in listing
    assert "North, South" in listing and "Read and mark imported" in listing
    client = app.test_client(use_cookies=False)
    assert (
        client.get("/api/v1/notes", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )
    revoked = admin.post(f"/admin/api-tokens/{row.id}/revoke")
    assert revoked.status_code == 302
    assert "Revoked" in admin.get("/admin/api-tokens").get_data(as_text=True)
    assert (
        client.get("/api/v1/notes", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    )
    with svc.engine.connect() as conn:
        actions = conn.execute(
            sa.select(db.audit_log.c.action, db.audit_log.c.actor).where(
                db.audit_log.c.action.like("api_token_%")
            )
        ).all()
    assert [a for a, _ in actions] == ["api_token_create", "api_token_revoke"]
    assert all(actor == admin.username for _, actor in actions)


@pytest.mark.parametrize(
    ("form", "reason"),
    [
        ({"name": "", "teams": ["North"]}, "Name the token"),
        ({"name": "x" * 121, "teams": ["North"]}, "Name the token"),
        ({"name": "Mosaic", "teams": []}, "at least one team"),
        ({"name": "Mosaic", "teams": ["Nowhere"]}, "no team called Nowhere"),
        ({"name": "Mosaic", "teams": ["North"], "expires": "2020-01-01"}, "in the future"),
        ({"name": "Mosaic", "teams": ["North"], "expires": "2026-02-30"}, "not a calendar date"),
        ({"name": "Mosaic", "teams": ["North"], "expires": "31/12/2030"}, "YYYY-MM-DD"),
    ],
)
def test_a_refused_token_form_comes_back_with_the_reason(app, svc, login_as, form, reason):
    admin = login_as("admin", team="North")
    answer = admin.post("/admin/api-tokens", form)
    assert answer.status_code == 400
    assert reason in answer.get_data(as_text=True)
    assert _tokens(svc) == []


@pytest.mark.parametrize(
    "role", ["social_worker", "practitioner", "manager", "information_governance"]
)
def test_only_administrators_manage_api_tokens(app, svc, login_as, role):
    from webapp.services.api_tokens import create_token

    browser = login_as(role)
    token = create_token(svc, "Mosaic import", ("North",))
    assert browser.get("/admin/api-tokens").status_code == 403
    assert browser.post("/admin/api-tokens", {"name": "x", "teams": ["North"]}).status_code == 403
    assert browser.post(f"/admin/api-tokens/{token.id}/revoke").status_code == 403
    assert len(_tokens(svc)) == 1 and _tokens(svc)[0].revoked_at is None


def _run(argv):
    import argparse

    from webapp.commands import add_commands

    parser = argparse.ArgumentParser(prog="carenotes")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture
def cli_app(monkeypatch, tmp_path, sqlite_url, make_app):
    """An app on SQLite with a team North, and the environment the commands read."""
    from webapp.crypto import KeyRing, MasterKey, generate_master_key

    key = generate_master_key()
    monkeypatch.setenv("CARENOTES_SECRET_KEY", "cli-secret-key-0123456789abcdef")
    monkeypatch.setenv("CARENOTES_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("CARENOTES_STORAGE_DIR", str(tmp_path / "storage"))
    monkeypatch.setenv("CARENOTES_MASTER_KEY", key)
    monkeypatch.delenv("CARENOTES_MASTER_KEY_FILE", raising=False)
    monkeypatch.delenv("CARENOTES_PREVIOUS_MASTER_KEYS", raising=False)
    app = make_app(sqlite_url, KEYRING=KeyRing(MasterKey.from_text(key, source="test")))
    with app.extensions["carenotes"].engine.begin() as conn:
        conn.execute(sa.insert(db.teams).values(name="North", created_at=db.utcnow()))
    return app


def test_the_command_line_makes_lists_and_revokes_tokens(cli_app, capsys):
    svc = cli_app.extensions["carenotes"]
    client = cli_app.test_client(use_cookies=False)
    assert _run(["api-tokens", "create", "Mosaic import", "--team", "North"]) == 0
    out = capsys.readouterr()
    token = out.out.strip()
    assert re.fullmatch(r"cnt_[a-z0-9]{8}_[A-Za-z0-9_-]{43}", token)
    assert "cannot be shown again" in out.err and "read only" in out.err
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/notes", headers=headers).status_code == 200
    refused = client.post("/api/v1/notes/" + "0" * 32 + "/imported", headers=headers, json={})
    assert refused.status_code == 403  # read only
    assert _run(["api-tokens", "list"]) == 0
    listing = capsys.readouterr().out
    prefix = token.split("_")[1]
    assert f"cnt_{prefix}\tactive\tread\tNorth" in listing and token not in listing
    assert _run(["api-tokens", "revoke", f"cnt_{prefix}"]) == 0
    assert "Revoked" in capsys.readouterr().out
    assert client.get("/api/v1/notes", headers=headers).status_code == 401
    assert _run(["api-tokens", "revoke", "1"]) == 0
    assert "already revoked" in capsys.readouterr().out
    with svc.engine.connect() as conn:
        actions = conn.execute(
            sa.select(db.audit_log.c.action, db.audit_log.c.actor).where(
                db.audit_log.c.action.like("api_token_%")
            )
        ).all()
    assert actions == [("api_token_create", "system"), ("api_token_revoke", "system")]


def test_the_command_line_refuses_an_unknown_team_or_token_with_the_reason(cli_app, capsys):
    from policies.errors import BadInput, NotFound

    with pytest.raises(BadInput, match="no team called South"):
        _run(["api-tokens", "create", "Eclipse", "--team", "South"])
    with pytest.raises(NotFound, match="no such API token"):
        _run(["api-tokens", "revoke", "cnt_zzzzzzzz"])
    with pytest.raises(BadInput, match="YYYY-MM-DD"):
        _run(["api-tokens", "create", "Eclipse", "--team", "North", "--expires", "tomorrow"])
    assert _tokens(cli_app.extensions["carenotes"]) == []
