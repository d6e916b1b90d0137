"""The recordings page: what the user may see, and which drafts wait for them to approve."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from webapp import db
from webapp.context import Services
from webapp.services.access import readable_recordings
from webapp.services.auth import CurrentUser
from webapp.services.handoff import READY, hand_off_states
from webapp.services.holds import case_reference_of

__all__ = ["RecordingList", "recording_list"]


@dataclass(frozen=True)
class RecordingList:
    """The recordings the user may see and the drafts waiting for approval.

    Attributes:
        recordings: Every recording the user may see, newest first.
        awaiting: The drafts the user may approve.
        ready: Those of them sent for approval.
        checking: Those still being checked by their social worker.
        handoff: Each draft's hand-off status, by recording id.
        references: Each recording's case reference, by recording id.
    """

    recordings: list[Any]
    awaiting: list[Any]
    ready: list[Any]
    checking: list[Any]
    handoff: dict[str, str]
    references: dict[str, str]


def recording_list(svc: Services, user: CurrentUser) -> RecordingList:
    """The recordings the user may see, with the drafts waiting for them to approve."""
    with svc.engine.connect() as conn:
        rows = readable_recordings(conn, user)
        drafts = [rec.id for rec in rows if rec.status == "draft_ready"]
        note_ids = dict(
            conn.execute(
                sa.select(db.notes.c.recording_id, db.notes.c.id).where(
                    db.notes.c.recording_id.in_(drafts)
                )
            ).all()
        )
        by_note = hand_off_states(conn, list(note_ids.values()))
    handoff = {rec_id: by_note[note_id] for rec_id, note_id in note_ids.items()}
    references = {rec.id: case_reference_of(svc, rec) for rec in rows}
    awaiting = [
        rec
        for rec in rows
        if rec.status == "draft_ready"
        and user.can("approve")
        and (rec.owner_id != user.id or svc.policy.allow_self_approval)
    ]
    return RecordingList(
        recordings=rows,
        awaiting=awaiting,
        ready=[rec for rec in awaiting if handoff.get(rec.id) == READY],
        checking=[rec for rec in awaiting if handoff.get(rec.id) != READY],
        handoff=handoff,
        references=references,
    )
