"""Alembic migrations on SQLite and the real PostgreSQL: from empty, and from a database
made before migrations existed, with its rows."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from webapp import audit, db
from webapp.migrate import (
    INITIAL_REVISION,
    alembic_config,
    current_revision,
    head_revision,
    migrate,
)

ROOT = Path(__file__).resolve().parents[2]


def _schema_diff(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, db.metadata))


def _legacy_database(engine: sa.Engine) -> None:
    """The schema as ``metadata.create_all`` made it before migrations: no version table."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, INITIAL_REVISION)
        conn.execute(sa.text("DROP TABLE alembic_version"))


def _populate(engine: sa.Engine) -> dict[str, Any]:
    now = db.utcnow()
    with engine.begin() as conn:
        team_id = conn.execute(
            sa.text("INSERT INTO teams (name, created_at) VALUES ('North', :now) RETURNING id"),
            {"now": now},
        ).scalar_one()
        user_id = conn.execute(
            sa.text(
                "INSERT INTO users (username, display_name, password_hash, role, active, "
                "failed_logins, created_at) VALUES ('sam', 'Sam', 'x', 'social_worker', "
                ":active, 0, :now) RETURNING id"
            ),
            {"now": now, "active": True},
        ).scalar_one()
        conn.execute(
            sa.text(
                "INSERT INTO recordings (id, team_id, owner_id, visit_type, visit_date, "
                "case_ref_enc, participants_enc, wrapped_key, audio_blob, audio_type, "
                "audio_bytes, status, created_at) VALUES ('r1', :team, :user, 'home-visit', "
                "'2026-03-14', :blob, :blob, :blob, 'b1', 'wav', 10, 'queued', :now)"
            ),
            {"team": team_id, "user": user_id, "blob": b"\x01\x02", "now": now},
        )
        conn.execute(
            sa.text(
                "INSERT INTO jobs (recording_id, state, attempts, max_attempts, stage, "
                "progress, created_at) VALUES ('r1', 'queued', 0, 3, 'queued', 0, :now)"
            ),
            {"now": now},
        )
        for action in ("upload", "login"):
            audit.append(
                conn,
                db.audit_log,
                actor_id=user_id,
                actor="sam",
                action=action,
                record_type="recording",
                record_id="r1",
            )
    return {"team_id": team_id, "user_id": user_id}


def _audit_refuses_update(engine: sa.Engine) -> bool:
    with engine.begin() as conn:  # a row-level trigger needs a row to fire on
        audit.append(conn, db.audit_log, actor_id=None, actor="system", action="check")
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE audit_log SET actor = 'someone else'"))
    except sa.exc.DBAPIError as exc:
        return "append-only" in str(exc)
    return False


def test_an_empty_database_is_migrated_to_exactly_the_apps_schema(any_db_url: str) -> None:
    engine = db.create_engine(any_db_url)
    try:
        assert migrate(engine) == head_revision()
        assert _schema_diff(engine) == []
        assert _audit_refuses_update(engine)
        with engine.connect() as conn:
            assert current_revision(conn) == head_revision()
        assert migrate(engine) == head_revision()  # a second run changes nothing
    finally:
        engine.dispose()


def test_the_initial_revision_holds_nothing_the_app_does_not_define(any_db_url: str) -> None:
    engine = db.create_engine(any_db_url)
    try:
        _legacy_database(engine)
        diff = _schema_diff(engine)
        # Later revisions only add; nothing at the initial one is missing or different.
        kinds = {item[0] if isinstance(item, tuple) else item[0][0] for item in diff}
        assert kinds <= {"add_table", "add_column", "add_index"}, diff
    finally:
        engine.dispose()


def test_a_populated_database_made_before_migrations_is_upgraded_without_loss(
    any_db_url: str,
) -> None:
    engine = db.create_engine(any_db_url)
    try:
        _legacy_database(engine)
        ids = _populate(engine)

        assert migrate(engine) == head_revision()

        assert _schema_diff(engine) == []
        with engine.connect() as conn:
            assert conn.execute(sa.select(db.teams.c.id, db.teams.c.name)).all() == [
                (ids["team_id"], "North")
            ]
            assert conn.scalar(sa.select(db.users.c.username)) == "sam"
            recording = conn.execute(sa.select(db.recordings)).one()
            assert (recording.id, recording.case_ref_enc) == ("r1", b"\x01\x02")
            job = conn.execute(sa.select(db.jobs)).one()
            assert (job.recording_id, job.state, job.dispatched_at) == ("r1", "queued", None)
            assert job.kind == "transcribe"  # a job queued before the split transcribes first
            assert recording.transcript_enc is None
            check = audit.verify(conn, db.audit_log)
            assert (check.ok, check.checked) == (True, 2)
        assert _audit_refuses_update(engine)
    finally:
        engine.dispose()


def test_several_app_starts_at_once_migrate_the_database_once(pg_url: str) -> None:
    engines = [db.create_engine(pg_url) for _ in range(4)]
    results: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(engines))

    def start(engine: sa.Engine) -> None:
        try:
            barrier.wait(timeout=10)
            results.append(migrate(engine))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert errors == []
        assert results == [head_revision()] * len(engines)
        assert _schema_diff(engines[0]) == []
    finally:
        for engine in engines:
            engine.dispose()


def test_carenotes_db_upgrade_migrates_and_says_where_the_database_stands(tmp_path: Path) -> None:
    from webapp.crypto import generate_master_key

    url = f"sqlite:///{tmp_path / 'carenotes.db'}"
    engine = db.create_engine(url)
    _legacy_database(engine)
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "CARENOTES_SECRET_KEY": "a-long-enough-secret-key",
        "CARENOTES_MASTER_KEY": generate_master_key(),
        "CARENOTES_DATABASE_URL": url,
        "CARENOTES_STORAGE_DIR": str(tmp_path / "storage"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "webapp.cli", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"at revision {head_revision()}" in done.stdout
    assert _schema_diff(engine) == []
    engine.dispose()


def test_users_made_before_the_new_password_flag_are_not_asked_for_one(any_db_url: str) -> None:
    engine = db.create_engine(any_db_url)
    try:
        assert migrate(engine, "0008") == "0008"
        _populate(engine)

        assert migrate(engine) == head_revision()

        insert_without_the_flag = sa.text(
            "INSERT INTO users (username, display_name, password_hash, role, active, "
            "failed_logins, created_at) VALUES ('pat', 'Pat', 'x', 'practitioner', "
            ":active, 0, :now)"
        )
        with engine.begin() as conn:
            conn.execute(insert_without_the_flag, {"active": True, "now": db.utcnow()})
        with engine.connect() as conn:
            flags = conn.execute(
                sa.select(db.users.c.username, db.users.c.must_change_password).order_by(
                    db.users.c.username
                )
            ).all()
        assert [tuple(row) for row in flags] == [("pat", False), ("sam", False)]
        assert _schema_diff(engine) == []
    finally:
        engine.dispose()
