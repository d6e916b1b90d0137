"""A wrong master key stops the app; ``audit verify`` catches a trail cut short, emptied,
rewritten or dropped, by its signed checkpoint."""

from __future__ import annotations

import argparse

import pytest
import sqlalchemy as sa

from policies.errors import ConfigError
from webapp import audit, db
from webapp.crypto import KeyRing, MasterKey, generate_master_key


def _ring(text=None):
    return KeyRing(MasterKey.from_text(text or generate_master_key(), source="test"))


def _run(argv):
    from webapp.commands import add_commands

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


def test_the_app_refuses_to_start_with_a_master_key_that_does_not_open_its_data(
    make_app, database_url
):
    make_app(database_url, KEYRING=_ring())
    with pytest.raises(ConfigError, match="does not open this database"):
        make_app(database_url, KEYRING=_ring())


def test_a_database_from_before_the_key_check_is_tested_against_a_stored_key(
    make_app, sqlite_url, web, data_dir
):
    right = _ring()
    app = make_app(sqlite_url, KEYRING=right)
    svc = app.extensions["carenotes"]
    from webapp.services.users import create_user

    create_user(svc, "sam", web.PASSWORD, "social_worker", ("North",))
    browser = web.Browser(app)
    browser.login("sam")
    assert web.upload(browser, data_dir / "jfk.flac").status_code == 201
    with svc.engine.begin() as conn:
        conn.execute(sa.delete(db.app_state))
    with pytest.raises(ConfigError, match="does not open this database"):
        make_app(sqlite_url, KEYRING=_ring())
    make_app(sqlite_url, KEYRING=right)  # the right key still starts, and is recorded


def test_readyz_fails_when_the_key_check_does_not_match(app, svc):
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    with svc.engine.begin() as conn:
        conn.execute(
            sa.update(db.app_state)
            .where(db.app_state.c.name == "key_check")
            .values(value='{"key_id": "0000000000000000", "mac": "00"}')
        )
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.get_json()["checks"]["keys"].startswith("failed")


def _filled(make_app, sqlite_url, cli_env, web, users=4):
    from webapp.services.users import create_user

    svc = make_app(sqlite_url, KEYRING=_ring(cli_env)).extensions["carenotes"]
    for number in range(users):
        create_user(svc, f"user{number}", web.PASSWORD, "social_worker", ("North",))
    with svc.engine.begin() as conn:  # an intruder with direct database access
        conn.exec_driver_sql("DROP TRIGGER audit_log_no_delete")
        conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
    return svc


def _verify(capsys):
    status = _run(["audit", "verify"])
    out = capsys.readouterr()
    return status, out.out + out.err


def test_verify_catches_entries_deleted_from_the_end(cli_env, make_app, sqlite_url, web, capsys):
    svc = _filled(make_app, sqlite_url, cli_env, web)
    assert _verify(capsys)[0] == 0
    with svc.engine.begin() as conn:
        last = conn.execute(sa.select(sa.func.max(db.audit_log.c.id))).scalar_one()
        conn.execute(sa.delete(db.audit_log).where(db.audit_log.c.id >= last - 1))
    status, said = _verify(capsys)
    assert status == 1 and "deleted from the end" in said


def test_verify_catches_every_entry_deleted(cli_env, make_app, sqlite_url, web, capsys):
    svc = _filled(make_app, sqlite_url, cli_env, web)
    with svc.engine.begin() as conn:
        conn.execute(sa.delete(db.audit_log))
    status, said = _verify(capsys)
    assert status == 1 and "Every audit entry was deleted" in said


def test_verify_catches_a_full_rewrite(cli_env, make_app, sqlite_url, web, capsys):
    svc = _filled(make_app, sqlite_url, cli_env, web, users=2)
    with svc.engine.begin() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(db.audit_log)).scalar_one()
        conn.execute(sa.delete(db.audit_log))
        for _ in range(count):  # a fresh, valid chain of the same length
            audit.append(conn, db.audit_log, actor_id=None, actor="system", action="sign_in")
    status, said = _verify(capsys)
    assert status == 1 and "rewritten" in said


def test_verify_says_so_when_the_table_was_dropped(cli_env, make_app, sqlite_url, web, capsys):
    svc = _filled(make_app, sqlite_url, cli_env, web, users=1)
    with svc.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE audit_log")
    status, said = _verify(capsys)
    assert status == 1 and "cannot be read" in said and "Traceback" not in said


def test_the_audit_page_shows_a_trail_cut_short(cli_env, make_app, sqlite_url, web, capsys):
    svc = _filled(make_app, sqlite_url, cli_env, web)
    from webapp.services.users import create_user

    create_user(svc, "meg", web.PASSWORD, "admin", ("North",))
    with svc.engine.begin() as conn:
        last = conn.execute(sa.select(sa.func.max(db.audit_log.c.id))).scalar_one()
        conn.execute(sa.delete(db.audit_log).where(db.audit_log.c.id == last))
    app = make_app(sqlite_url, KEYRING=_ring(cli_env))
    browser = web.Browser(app)
    browser.login("meg")
    page = browser.get("/oversight/audit").get_data(as_text=True)
    assert "The audit chain is broken" in page and "rewritten" in page
