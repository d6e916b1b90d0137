"""Master key rotation: re-wrap every recording's data key under the current key."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from webapp import crypto, db, integrity
from webapp.context import Services, aad
from webapp.services.audit_trail import record

__all__ = ["rotate_keys"]

logger = logging.getLogger(__name__)


def rotate_keys(svc: Services) -> tuple[int, int]:
    """Re-wrap each data key not yet under ``ring.current``.

    Each recording is re-wrapped in its own transaction, so an interrupted rotation
    can simply be run again.

    Returns:
        ``(re-wrapped, already current)``.

    Raises:
        MissingMasterKey: A data key was wrapped by a key that is not configured.
    """
    ring = svc.vault.ring
    with svc.engine.connect() as conn:
        rows = conn.execute(sa.select(db.recordings.c.id, db.recordings.c.wrapped_key)).all()
    done = skipped = 0
    for recording_id, wrapped in rows:
        if not crypto.needs_rewrap(ring, wrapped):
            skipped += 1
            continue
        rewrapped = crypto.rewrap_key(ring, wrapped, aad("recording", recording_id, "data_key"))
        with svc.engine.begin() as conn:
            conn.execute(
                sa.update(db.recordings)
                .where(db.recordings.c.id == recording_id, db.recordings.c.wrapped_key == wrapped)
                .values(wrapped_key=rewrapped)
            )
        done += 1
    # Legal holds seal their case reference under a data key of their own.
    hold_done, hold_skipped = _rotate_holds(svc)
    done, skipped = done + hold_done, skipped + hold_skipped
    with svc.engine.begin() as conn:
        # Every data key is under the current key now: it is the database's key.
        integrity.record_current_key(conn, ring)
        record(
            conn,
            None,
            "system",
            "keys_rotate",
            None,
            None,
            {"rewrapped": done, "already_current": skipped, "key_id": ring.current.key_id},
        )
    logger.info("key rotation: %d re-wrapped, %d already current", done, skipped)
    return done, skipped


def _rotate_holds(svc: Services) -> tuple[int, int]:
    ring = svc.vault.ring
    holds = db.legal_holds
    with svc.engine.connect() as conn:
        rows = conn.execute(sa.select(holds.c.id, holds.c.wrapped_key)).all()
    done = skipped = 0
    for hold_id, wrapped in rows:
        if not crypto.needs_rewrap(ring, wrapped):
            skipped += 1
            continue
        rewrapped = crypto.rewrap_key(
            ring, wrapped, aad("recording", f"hold-{hold_id}", "data_key")
        )
        with svc.engine.begin() as conn:
            conn.execute(
                sa.update(holds)
                .where(holds.c.id == hold_id, holds.c.wrapped_key == wrapped)
                .values(wrapped_key=rewrapped)
            )
        done += 1
    return done, skipped
