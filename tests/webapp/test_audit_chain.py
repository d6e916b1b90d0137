"""The hash-chained audit trail, on SQLite and on the machine's PostgreSQL."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from webapp.audit import GENESIS_HASH, append, audit_table, head, verify


@pytest.fixture(scope="module")
def postgres_url(fresh_postgres_database) -> Iterator[str]:
    """A freshly created, uniquely named PostgreSQL database, dropped afterwards."""
    with fresh_postgres_database("carenotes_audit_test") as url:
        yield url


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def db(request, tmp_path) -> Iterator[tuple[sa.Engine, sa.Table]]:
    """An engine and a fresh ``audit_log`` table on each database."""
    if request.param == "sqlite":
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'audit.db'}")
    else:
        engine = sa.create_engine(request.getfixturevalue("postgres_url"), pool_size=10)
    metadata = sa.MetaData()
    table = audit_table(metadata)
    metadata.create_all(engine)
    try:
        yield engine, table
    finally:
        metadata.drop_all(engine)
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(sa.text("DROP FUNCTION IF EXISTS audit_log_append_only()"))
        engine.dispose()


def _fill(engine: sa.Engine, table: sa.Table, count: int) -> None:
    with engine.begin() as conn:
        for number in range(count):
            append(
                conn,
                table,
                actor_id=number % 3 + 1,
                actor=f"user{number % 3 + 1}",
                action="note.view",
                record_type="recording",
                record_id=number + 100,
                detail={"section": number},
            )


def _as_intruder(conn: sa.Connection) -> None:
    """Switch off the append-only triggers, as someone with full database access could."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
    else:
        conn.execute(sa.text("DROP TRIGGER audit_log_no_update"))
        conn.execute(sa.text("DROP TRIGGER audit_log_no_delete"))


def _verify(engine: sa.Engine, table: sa.Table, **kwargs):
    with engine.connect() as conn:
        return verify(conn, table, **kwargs)


def test_appended_entries_form_an_intact_chain(db) -> None:
    engine, table = db
    _fill(engine, table, 5)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(table).order_by(table.c.id)).all()
    assert [row.id for row in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == GENESIS_HASH
    assert all(
        later.prev_hash == earlier.hash for earlier, later in zip(rows, rows[1:], strict=False)
    )
    assert json.loads(rows[2].detail) == {"section": 2}
    assert rows[2].record_id == "102"
    assert datetime.fromisoformat(rows[0].at).tzinfo == UTC
    check = _verify(engine, table)
    assert (check.ok, check.checked, check.first_bad_id, check.problem) == (True, 5, None, None)


def test_an_empty_trail_verifies(db) -> None:
    engine, table = db
    assert _verify(engine, table).ok


def test_an_entry_in_a_rolled_back_transaction_leaves_no_trace(db) -> None:
    engine, table = db
    _fill(engine, table, 2)
    with pytest.raises(RuntimeError), engine.begin() as conn:
        append(conn, table, actor_id=1, actor="user1", action="note.edit")
        raise RuntimeError("the edit failed")
    _fill(engine, table, 1)
    check = _verify(engine, table)
    assert check.ok and check.checked == 3


def test_the_database_refuses_to_update_or_delete_audit_entries(db) -> None:
    engine, table = db
    _fill(engine, table, 2)
    for statement in (
        sa.update(table).where(table.c.id == 1).values(actor="someone else"),
        sa.delete(table).where(table.c.id == 2),
    ):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
            conn.execute(statement)
    if engine.dialect.name == "postgresql":
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text("TRUNCATE audit_log"))
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 2
    assert _verify(engine, table).ok


def test_an_edited_entry_is_detected(db) -> None:
    engine, table = db
    _fill(engine, table, 6)
    with engine.begin() as conn:
        _as_intruder(conn)
        conn.execute(sa.update(table).where(table.c.id == 4).values(actor="someone else"))
    check = _verify(engine, table)
    assert not check.ok
    assert check.first_bad_id == 4
    assert check.checked == 4
    assert "altered" in check.problem


def test_an_edit_with_its_hash_recomputed_is_caught_at_the_next_entry(db) -> None:
    engine, table = db
    _fill(engine, table, 6)
    with engine.begin() as conn:
        _as_intruder(conn)
        conn.execute(
            sa.update(table).where(table.c.id == 3).values(action="note.approve", hash="f" * 64)
        )
    check = _verify(engine, table)
    assert not check.ok and check.first_bad_id == 3  # its own hash no longer matches
    from webapp.audit import _entry_hash

    with engine.begin() as conn:
        row = conn.execute(sa.select(table).where(table.c.id == 3)).one()._asdict()
        conn.execute(sa.update(table).where(table.c.id == 3).values(hash=_entry_hash(row)))
    check = _verify(engine, table)
    assert not check.ok and check.first_bad_id == 4
    assert "does not link to entry 3" in check.problem


def test_a_deleted_entry_is_detected(db) -> None:
    engine, table = db
    _fill(engine, table, 6)
    with engine.begin() as conn:
        _as_intruder(conn)
        conn.execute(sa.delete(table).where(table.c.id == 3))
    check = _verify(engine, table)
    assert not check.ok
    assert check.first_bad_id == 4
    assert "between 2 and 4" in check.problem


def test_a_deleted_first_entry_is_detected(db) -> None:
    engine, table = db
    _fill(engine, table, 3)
    with engine.begin() as conn:
        _as_intruder(conn)
        conn.execute(sa.delete(table).where(table.c.id == 1))
    check = _verify(engine, table)
    assert not check.ok and check.first_bad_id == 2
    assert "start of the trail" in check.problem


def test_reordered_entries_are_detected(db) -> None:
    engine, table = db
    _fill(engine, table, 6)
    with engine.begin() as conn:
        _as_intruder(conn)
        # Swap entries 2 and 5 by exchanging their ids.
        conn.execute(sa.update(table).where(table.c.id == 2).values(id=1000))
        conn.execute(sa.update(table).where(table.c.id == 5).values(id=2))
        conn.execute(sa.update(table).where(table.c.id == 1000).values(id=5))
    check = _verify(engine, table)
    assert not check.ok
    assert check.first_bad_id == 2


def test_entries_cut_from_the_end_are_detected_against_a_recorded_anchor(db) -> None:
    engine, table = db
    _fill(engine, table, 5)
    with engine.connect() as conn:
        anchor = head(conn, table)
    assert anchor is not None and anchor[0] == 5
    _fill(engine, table, 2)
    assert _verify(engine, table, anchor=anchor).ok
    with engine.begin() as conn:
        _as_intruder(conn)
        conn.execute(sa.delete(table).where(table.c.id >= 5))
    assert _verify(engine, table).ok  # a cut at the end leaves a valid, shorter chain...
    check = _verify(engine, table, anchor=anchor)  # ...which the anchor exposes
    assert not check.ok and check.first_bad_id == 5
    assert "removed from the end" in check.problem


def test_audit_detail_refuses_anything_that_could_carry_case_content(db) -> None:
    engine, table = db
    with engine.begin() as conn:
        with pytest.raises(ValueError, match="case content"):
            append(
                conn, table, actor_id=1, actor="u", action="note.edit", detail={"text": "x" * 201}
            )
        with pytest.raises(ValueError, match="scalars"):
            append(
                conn,
                table,
                actor_id=1,
                actor="u",
                action="note.edit",
                detail={"draft": {"summary": "nested"}},
            )
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0


def test_concurrent_appends_from_many_threads_still_form_one_chain(db) -> None:
    engine, table = db
    threads_count, per_thread = 8, 15
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads_count)

    def worker(number: int) -> None:
        try:
            barrier.wait()
            for step in range(per_thread):
                with engine.begin() as conn:
                    append(
                        conn,
                        table,
                        actor_id=number,
                        actor=f"user{number}",
                        action="recording.view",
                        record_type="recording",
                        record_id=step,
                    )
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads_count)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=120)
    assert errors == []
    with engine.connect() as conn:
        ids = conn.execute(sa.select(table.c.id).order_by(table.c.id)).scalars().all()
        actors = set(conn.execute(sa.select(table.c.actor)).scalars())
    assert ids == list(range(1, threads_count * per_thread + 1))
    assert actors == {f"user{n}" for n in range(threads_count)}
    check = _verify(engine, table)
    assert check.ok and check.checked == threads_count * per_thread


def test_the_same_connection_can_append_after_verifying(db) -> None:
    engine, table = db
    _fill(engine, table, 3)
    with engine.begin() as conn:
        assert verify(conn, table).ok
        append(conn, table, actor_id=1, actor="user1", action="audit_view")
        assert conn.get_execution_options().get("stream_results") is not True
    check = _verify(engine, table)
    assert (check.ok, check.checked) == (True, 4)
