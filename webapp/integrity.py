"""Checks that the master key opens this database, and that the audit trail was not cut.

Both values live in the ``app_state`` table, outside the audit trail, and are HMACs
under keys derived from the master key, so nobody without it can forge them:

* the key check proves, at start-up and in ``/readyz``, that the configured master
  key is the one the data was sealed under (a wrong key stops the app with a message
  instead of failing on the first recording opened);
* the audit checkpoint signs the id and hash of the trail's last entry, rewritten with
  every entry, so that ``carenotes audit verify`` notices entries deleted from the end,
  every entry deleted, or the whole trail rewritten, which a hash chain alone cannot.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import weakref
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from policies import ConfigError
from webapp import audit, crypto, db
from webapp.keys import KeyRing, MasterKey

__all__ = [
    "CheckpointCheck",
    "check_checkpoint",
    "check_master_key",
    "ensure_master_key",
    "register",
    "write_checkpoint",
]

logger = logging.getLogger(__name__)

_KEY_CHECK = "key_check"
_CHECKPOINT = "audit_checkpoint"
_rings: weakref.WeakKeyDictionary[sa.Engine, KeyRing] = weakref.WeakKeyDictionary()


def _mac(master: MasterKey, purpose: str, message: bytes) -> str:
    derived = hmac.new(master.secret, b"carenotes-derive\x00" + purpose.encode(), "sha256")
    return hmac.new(derived.digest(), message, hashlib.sha256).hexdigest()


def _read(conn: sa.Connection, name: str) -> dict[str, Any] | None:
    value = conn.execute(
        sa.select(db.app_state.c.value).where(db.app_state.c.name == name)
    ).scalar_one_or_none()
    return None if value is None else dict(json.loads(value))


def _write(conn: sa.Connection, name: str, value: dict[str, Any]) -> None:
    text = json.dumps(value, sort_keys=True)
    now = db.utcnow()
    table = db.app_state
    updated = conn.execute(
        sa.update(table).where(table.c.name == name).values(value=text, updated_at=now)
    )
    if not updated.rowcount:
        conn.execute(sa.insert(table).values(name=name, value=text, updated_at=now))


def register(engine: sa.Engine, ring: KeyRing) -> None:
    """Let audit entries written through ``engine`` re-sign the checkpoint with ``ring``."""
    _rings[engine] = ring


def check_master_key(conn: sa.Connection, ring: KeyRing) -> str | None:
    """What is wrong with the configured master key for this database, or ``None``."""
    stored = _read(conn, _KEY_CHECK)
    if stored is None:
        return None
    for key in (ring.current, *ring.previous):
        if hmac.compare_digest(_mac(key, _KEY_CHECK, b"carenotes key check"), stored["mac"]):
            return None
    return (
        "The master key does not open this database's data: it is not the key the "
        f"recordings were sealed under (that key's fingerprint is {stored['key_id']}; "
        f"the one set has {ring.current.key_id}). Set CARENOTES_MASTER_KEY (or its key "
        "file) to the right key; after a rotation, put the old key in "
        "CARENOTES_PREVIOUS_MASTER_KEYS."
    )


def ensure_master_key(engine: sa.Engine, ring: KeyRing) -> None:
    """Refuse to start with a master key that does not open the data; record a new one.

    On a database without a key check yet, one is written for the current key; after a
    rotation (the current key differs from the recorded one) it is written once
    ``carenotes keys rotate`` has finished (see :func:`record_current_key`).

    Raises:
        ConfigError: The key is not the database's.
    """
    with engine.begin() as conn:
        problem = check_master_key(conn, ring)
        if problem:
            raise ConfigError(problem)
        if _read(conn, _KEY_CHECK) is None:
            _opens_existing_data(conn, ring)
            record_current_key(conn, ring)


def _opens_existing_data(conn: sa.Connection, ring: KeyRing) -> None:
    """On a database older than the key check: the key must open a stored data key."""
    row = conn.execute(sa.select(db.recordings.c.id, db.recordings.c.wrapped_key).limit(1)).first()
    if row is None:
        return
    try:
        crypto.unwrap_key(ring, row.wrapped_key, crypto.aad_for("recording", row.id, "data_key"))
    except crypto.DecryptionError:
        raise ConfigError(
            "The master key does not open this database's data (a stored recording's key "
            "cannot be unwrapped with it). Set CARENOTES_MASTER_KEY (or its key file) to "
            "the key the data was sealed under."
        ) from None


def record_current_key(conn: sa.Connection, ring: KeyRing) -> None:
    """Record the current master key as the database's (at first start, after rotation)."""
    _write(
        conn,
        _KEY_CHECK,
        {
            "key_id": ring.current.key_id,
            "mac": _mac(ring.current, _KEY_CHECK, b"carenotes key check"),
        },
    )


def _checkpoint_message(head_id: int, head_hash: str) -> bytes:
    return f"{head_id}:{head_hash}".encode()


def write_checkpoint(conn: sa.Connection) -> None:
    """Sign the trail's last entry, in the caller's transaction (after an append)."""
    ring = _rings.get(conn.engine)
    if ring is None:
        return
    last = audit.head(conn, db.audit_log)
    if last is None:
        return
    head_id, head_hash = last
    stored = _read(conn, _CHECKPOINT)
    if stored is not None and int(stored["head_id"]) >= head_id:
        # The trail is shorter than what was signed: entries were cut off the end. The
        # old checkpoint stays, so that ``audit verify`` goes on reporting it.
        logger.error("audit trail shorter than its checkpoint; checkpoint kept")
        return
    _write(
        conn,
        _CHECKPOINT,
        {
            "head_id": head_id,
            "head_hash": head_hash,
            "key_id": ring.current.key_id,
            "mac": _mac(ring.current, _CHECKPOINT, _checkpoint_message(head_id, head_hash)),
        },
    )


@dataclass(frozen=True)
class CheckpointCheck:
    """The trail compared with its signed checkpoint.

    Attributes:
        ok: True when the trail still holds the signed last entry, unchanged.
        problem: What is wrong, in words, or ``None``.
        signed_entries: How many entries the checkpoint covers (0 when there is none).
    """

    ok: bool
    problem: str | None = None
    signed_entries: int = 0


def check_checkpoint(conn: sa.Connection, ring: KeyRing, entries: int) -> CheckpointCheck:
    """Compare the trail (``entries`` rows, chain already checked) with its checkpoint."""
    stored = _read(conn, _CHECKPOINT)
    if stored is None:
        return CheckpointCheck(True)
    head_id, head_hash = int(stored["head_id"]), str(stored["head_hash"])
    message = _checkpoint_message(head_id, head_hash)
    if not any(
        hmac.compare_digest(_mac(key, _CHECKPOINT, message), str(stored["mac"]))
        for key in (ring.current, *ring.previous)
    ):
        return CheckpointCheck(
            False,
            "The audit checkpoint's signature is not valid: it was altered, or it was "
            "signed with a master key that is not configured.",
            head_id,
        )
    if entries == 0:
        return CheckpointCheck(
            False,
            f"Every audit entry was deleted: the trail is empty, but it held {head_id} "
            "signed entries.",
            head_id,
        )
    if entries < head_id:
        return CheckpointCheck(
            False,
            f"Audit entries were deleted from the end: the trail holds {entries} entries, "
            f"but {head_id} were signed (entries {entries + 1} to {head_id} are missing).",
            head_id,
        )
    row = conn.execute(
        sa.select(db.audit_log.c.hash).where(db.audit_log.c.id == head_id)
    ).scalar_one_or_none()
    if row is None or not hmac.compare_digest(str(row), head_hash):
        return CheckpointCheck(
            False,
            f"The audit trail was rewritten: entry {head_id} is not the entry that was "
            "signed, although the chain links up.",
            head_id,
        )
    return CheckpointCheck(True, None, head_id)
