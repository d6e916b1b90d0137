"""The audit trail: an append-only, hash-chained table of who did what, when, to which record.

Each entry stores the SHA-256 of its own contents (id included) together with the hash
of the entry before it, so editing, deleting or reordering any entry breaks the chain
and :func:`verify` reports where. Entries hold ids and actions, never case content.

Each entry also names the teams of the record it is about, as they were when it was
written (``teams``, e.g. ``",3,"``; hashed with the rest when present), so the trail
shown to a manager is scoped by the record, never by who did it.

:func:`append` must run inside the caller's transaction (``engine.begin()``); it takes a
write lock (a transaction-scoped advisory lock on PostgreSQL, the database write lock on
SQLite) so concurrent appends from threads or processes still form one chain. On
PostgreSQL the connection must use READ COMMITTED, the default.

Creating the table with ``metadata.create_all`` also installs triggers that refuse
UPDATE and DELETE on it (and TRUNCATE on PostgreSQL).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

__all__ = [
    "GENESIS_HASH",
    "AuditCheck",
    "append",
    "audit_table",
    "head",
    "team_text",
    "verify",
]

logger = logging.getLogger(__name__)

#: The ``prev_hash`` of the first entry.
GENESIS_HASH = "0" * 64

_MAX_DETAIL_TEXT = 200
_Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class AuditCheck:
    """The result of checking the audit chain.

    Attributes:
        ok: True when every entry is intact and in its place.
        checked: How many entries were examined (up to and including the first bad one).
        first_bad_id: The id of the first entry that fails, or ``None`` when ``ok``.
        problem: What is wrong, in words, or ``None`` when ``ok``.
    """

    ok: bool
    checked: int
    first_bad_id: int | None = None
    problem: str | None = None


def audit_table(metadata: sa.MetaData) -> sa.Table:
    """Define the ``audit_log`` table on ``metadata`` (with its append-only triggers).

    Args:
        metadata: The application's metadata.

    Returns:
        The table.
    """
    table = sa.Table(
        "audit_log",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Text, nullable=False),
        sa.Column("actor_id", sa.Integer, nullable=True),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("record_type", sa.Text, nullable=True),
        sa.Column("record_id", sa.Text, nullable=True),
        sa.Column("detail", sa.Text, nullable=True),
        sa.Column("prev_hash", sa.Text, nullable=False),
        sa.Column("hash", sa.Text, nullable=False),
        # The record's teams when the entry was written (revision 0006), as ",1,4,";
        # NULL for entries about no team's record, and for entries written before.
        sa.Column("teams", sa.Text, nullable=True),
        sa.Index("ix_audit_log_record", "record_type", "record_id"),
        sa.Index("ix_audit_log_actor_id", "actor_id"),
    )
    _install_guards(table)
    return table


def append(
    conn: Connection,
    table: sa.Table,
    *,
    actor_id: int | None,
    actor: str,
    action: str,
    record_type: str | None = None,
    record_id: str | int | None = None,
    detail: Mapping[str, object] | None = None,
    teams: Iterable[int] | None = None,
) -> int:
    """Add one entry to the end of the chain.

    Args:
        conn: A connection inside a transaction; the entry is kept only if it commits.
        table: The table from :func:`audit_table`.
        actor_id: The user's id, or ``None`` for the system.
        actor: The user's login name (or ``"system"``).
        action: What happened, e.g. ``"note.approve"``.
        record_type: The kind of record acted on, if any.
        record_id: Its id, if any.
        detail: Small facts (ids, counts, status names). Values must be scalars or lists
            of scalars, strings at most 200 characters: never case content.

    Returns:
        The new entry's id.

    Raises:
        ValueError: ``detail`` holds something other than small scalars.
    """
    detail_text = _detail_json(detail)
    _lock(conn, table)
    last = conn.execute(
        sa.select(table.c.id, table.c.hash).order_by(table.c.id.desc()).limit(1)
    ).first()
    entry_id = 1 if last is None else int(last.id) + 1
    row = {
        "id": entry_id,
        "at": datetime.now(UTC).isoformat(timespec="microseconds"),
        "actor_id": actor_id,
        "actor": actor,
        "action": action,
        "record_type": record_type,
        "record_id": None if record_id is None else str(record_id),
        "detail": detail_text,
        "prev_hash": GENESIS_HASH if last is None else str(last.hash),
    }
    scope = team_text(teams)
    if scope is not None:
        # Only when present, so that a table made before the column still takes entries.
        row["teams"] = scope
    conn.execute(sa.insert(table).values(**row, hash=_entry_hash(row)))
    logger.debug("audit entry %d: %s", entry_id, action)
    return entry_id


def head(conn: Connection, table: sa.Table) -> tuple[int, str] | None:
    """Return the last entry's ``(id, hash)``, or ``None`` if the trail is empty.

    Recording this somewhere outside the database (a ticket, a signed e-mail) lets a
    later :func:`verify` with ``anchor=`` detect entries cut off the end.
    """
    last = conn.execute(
        sa.select(table.c.id, table.c.hash).order_by(table.c.id.desc()).limit(1)
    ).first()
    return None if last is None else (int(last.id), str(last.hash))


def verify(
    conn: Connection, table: sa.Table, *, anchor: tuple[int, str] | None = None
) -> AuditCheck:
    """Check every entry's hash and its link to the entry before it.

    Args:
        conn: A connection.
        table: The table from :func:`audit_table`.
        anchor: An earlier :func:`head` value; if given, that entry must still be
            present and unchanged (this catches entries removed from the end).

    Returns:
        The result: ``ok``, or the first entry that fails and why.
    """
    columns = [table.c[name] for name in (*_HASHED_FIELDS, *_OPTIONAL_FIELDS)] + [table.c.hash]
    # Options given per statement: Connection.execution_options() would change the
    # caller's connection for good (a streaming cursor breaks its next INSERT).
    rows = conn.execute(
        sa.select(*columns).order_by(table.c.id),
        execution_options={"stream_results": True, "yield_per": 1000},
    )
    checked = 0
    previous_id: int | None = None
    previous_hash = GENESIS_HASH
    anchor_seen = anchor is None
    for row in rows:
        checked += 1
        entry = {name: getattr(row, name) for name in (*_HASHED_FIELDS, *_OPTIONAL_FIELDS)}
        entry_id = int(entry["id"])
        if entry["prev_hash"] != previous_hash:
            return AuditCheck(False, checked, entry_id, _link_problem(entry_id, previous_id))
        if _entry_hash(entry) != row.hash:
            return AuditCheck(
                False,
                checked,
                entry_id,
                f"Entry {entry_id} was altered after it was written: its contents no "
                "longer match its hash.",
            )
        if anchor is not None and entry_id == anchor[0]:
            if row.hash != anchor[1]:
                return AuditCheck(
                    False,
                    checked,
                    entry_id,
                    f"Entry {entry_id} does not match the recorded anchor: the trail was "
                    "rewritten from this point.",
                )
            anchor_seen = True
        previous_id, previous_hash = entry_id, str(row.hash)
    rows.close()
    if not anchor_seen and anchor is not None:
        return AuditCheck(
            False,
            checked,
            anchor[0],
            f"Entry {anchor[0]} recorded as an anchor is missing: entries were removed "
            "from the end of the trail.",
        )
    return AuditCheck(True, checked)


_HASHED_FIELDS: Sequence[str] = (
    "id",
    "at",
    "actor_id",
    "actor",
    "action",
    "record_type",
    "record_id",
    "detail",
    "prev_hash",
)

# Hashed only when set, so that entries written before they existed keep their hash.
_OPTIONAL_FIELDS: Sequence[str] = ("teams",)


def team_text(teams: Iterable[int] | None) -> str | None:
    """The ``teams`` column's form of a set of team ids: ``",1,4,"``, or ``None``."""
    ids = sorted({int(t) for t in teams or ()})
    return f",{','.join(map(str, ids))}," if ids else None


def _entry_hash(entry: Mapping[str, object]) -> str:
    hashed = {name: entry[name] for name in _HASHED_FIELDS}
    hashed.update({name: entry[name] for name in _OPTIONAL_FIELDS if entry.get(name) is not None})
    canonical = json.dumps(
        hashed,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _link_problem(entry_id: int, previous_id: int | None) -> str:
    if previous_id is None:
        return (
            f"Entry {entry_id} does not link to the start of the trail: earlier entries "
            "were deleted or the entries were reordered."
        )
    if entry_id != previous_id + 1:
        return (
            f"Entries between {previous_id} and {entry_id} are missing: the trail "
            "was cut or its entries reordered."
        )
    return (
        f"Entry {entry_id} does not link to entry {previous_id}: an entry was "
        "deleted, reordered or altered."
    )


def _detail_json(detail: Mapping[str, object] | None) -> str | None:
    if detail is None:
        return None
    for key, value in detail.items():
        if not isinstance(key, str):
            raise ValueError("audit detail keys must be strings")
        values = value if isinstance(value, list | tuple) else [value]
        for item in values:
            if not isinstance(item, _Scalar):
                raise ValueError(f"audit detail {key!r} must hold scalars, not {type(item)}")
            if isinstance(item, str) and len(item) > _MAX_DETAIL_TEXT:
                raise ValueError(
                    f"audit detail {key!r} is too long for an id or status; case content "
                    "must never go in the audit trail"
                )
    return json.dumps(dict(detail), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _lock(conn: Connection, table: sa.Table) -> None:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        key = int.from_bytes(
            hashlib.sha256(f"carenotes-audit:{table.name}".encode()).digest()[:8],
            "big",
            signed=True,
        )
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    elif dialect == "sqlite":
        # A write that matches no row still takes SQLite's write lock, which is held to
        # the end of the transaction: no other connection can append in between.
        conn.execute(sa.update(table).where(sa.false()).values(id=table.c.id))
    else:
        conn.execute(sa.text(f"LOCK TABLE {table.name} IN EXCLUSIVE MODE"))  # noqa: S608


def _install_guards(table: sa.Table) -> None:
    name = table.name
    pg_function = f"{name}_append_only"
    statements_pg = [
        f"""
        CREATE OR REPLACE FUNCTION {pg_function}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '{name} is append-only: %% is not allowed', TG_OP;
        END
        $$
        """,
        f"CREATE TRIGGER {name}_no_change BEFORE UPDATE OR DELETE ON {name} "
        f"FOR EACH ROW EXECUTE FUNCTION {pg_function}()",
        f"CREATE TRIGGER {name}_no_truncate BEFORE TRUNCATE ON {name} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {pg_function}()",
    ]
    statements_sqlite = [
        f"CREATE TRIGGER {name}_no_update BEFORE UPDATE ON {name} "
        f"BEGIN SELECT RAISE(ABORT, '{name} is append-only: UPDATE is not allowed'); END",
        f"CREATE TRIGGER {name}_no_delete BEFORE DELETE ON {name} "
        f"BEGIN SELECT RAISE(ABORT, '{name} is append-only: DELETE is not allowed'); END",
    ]
    for statement in statements_pg:
        sa.event.listen(table, "after_create", sa.DDL(statement).execute_if(dialect="postgresql"))
    for statement in statements_sqlite:
        sa.event.listen(table, "after_create", sa.DDL(statement).execute_if(dialect="sqlite"))
