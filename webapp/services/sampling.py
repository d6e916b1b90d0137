"""Quality sampling: a manager draws approved notes at random for a second read.

The draw is random (the operating system's generator), covers only approved notes in
the manager's teams that have not been drawn before, and is audited;
so is each outcome. A comment may describe case content, so it is encrypted under
the recording's data key.
"""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from policies import BadInput, NotFound
from webapp import db
from webapp.context import Services
from webapp.dates import written_time
from webapp.services.access import require
from webapp.services.audit_trail import record
from webapp.services.auth import CurrentUser
from webapp.services.notes import MAX_TEXT
from webapp.text import clean

__all__ = ["OUTCOMES", "Sample", "draw_sample", "list_samples", "record_outcome"]

logger = logging.getLogger(__name__)

#: What a second read can conclude.
OUTCOMES = {"agree": "Agree with the note", "concerns": "Concerns"}
MAX_SAMPLE = 50
_ONLY_MANAGERS = "Only managers can draw and review quality samples."


@dataclass(frozen=True)
class Sample:
    """One note drawn for a second read.

    Attributes:
        id: The sample's id.
        recording_id: The recording (links to the note's history view).
        visit_type: Template name.
        visit_date: ISO date of the visit.
        author: Who recorded the visit.
        drawn_by: Who drew it.
        drawn_at: When, as people write it in UK time (``1 December 2026 at 14:05``).
        outcome: ``"agree"``, ``"concerns"`` or ``None`` while waiting.
        comment: The reviewer's comment (decrypted).
    """

    id: str
    recording_id: str
    visit_type: str
    visit_date: str
    author: str
    drawn_by: str
    drawn_at: str
    outcome: str | None
    comment: str


def _require_manager(user: CurrentUser) -> None:
    # A second read means reading the note: oversight and case content are both needed.
    require(user, "audit", _ONLY_MANAGERS)
    require(user, "case_content", _ONLY_MANAGERS)


def _team_notes(user: CurrentUser) -> sa.Select:
    r, n = db.recordings, db.notes
    return (
        sa.select(n.c.id)
        .join(r, r.c.id == n.c.recording_id)
        .where(n.c.state == "approved", r.c.team_id.in_(user.team_ids))
    )


def draw_sample(svc: Services, user: CurrentUser, size: int) -> list[str]:
    """Draw up to ``size`` approved notes at random for a second read; return sample ids.

    Raises:
        Forbidden: The user is not a manager.
        BadInput: ``size`` is not between 1 and 50.
    """
    _require_manager(user)
    if not 1 <= size <= MAX_SAMPLE:
        raise BadInput(f"Draw between 1 and {MAX_SAMPLE} notes.", field="size")
    s = db.quality_samples
    already = sa.select(s.c.note_id)
    with svc.engine.begin() as conn:
        pool = list(conn.execute(_team_notes(user).where(db.notes.c.id.not_in(already))).scalars())
        chosen = random.SystemRandom().sample(pool, min(size, len(pool)))
        now = db.utcnow()
        ids = []
        for note_id in chosen:
            sample_id = uuid.uuid4().hex
            conn.execute(
                sa.insert(s).values(id=sample_id, note_id=note_id, manager_id=user.id, drawn_at=now)
            )
            ids.append(sample_id)
        record(
            conn,
            user.id,
            user.username,
            "sample_drawn",
            None,
            None,
            {"asked": size, "drawn": len(ids), "pool": len(pool), "samples": ids},
        )
    logger.info("user %s drew %d notes for a second read", user.id, len(ids))
    return ids


def _sample_row(conn: sa.Connection, user: CurrentUser, sample_id: str) -> sa.Row:
    s, n, r = db.quality_samples, db.notes, db.recordings
    row = conn.execute(
        sa.select(s, r.c.id.label("recording_id"), r.c.wrapped_key)
        .join(n, n.c.id == s.c.note_id)
        .join(r, r.c.id == n.c.recording_id)
        .where(s.c.id == sample_id, r.c.team_id.in_(user.team_ids))
    ).one_or_none()
    if row is None:
        raise NotFound("There is no such sample in your teams.")
    return row


def record_outcome(
    svc: Services, user: CurrentUser, sample_id: str, outcome: str, comment: str
) -> None:
    """Record the outcome of a second read.

    Raises:
        BadInput: Unknown outcome, concerns without a comment, an over-long comment,
            or an outcome already recorded.
        NotFound: No such sample in the user's teams.
    """
    _require_manager(user)
    comment = clean(comment).strip()
    if outcome not in OUTCOMES:
        raise BadInput("Choose an outcome: agree with the note, or concerns.", field="outcome")
    if outcome == "concerns" and not comment:
        raise BadInput("Say what the concerns are, so they can be followed up.", field="comment")
    if len(comment) > MAX_TEXT:
        raise BadInput(f"A comment can be at most {MAX_TEXT} characters long.", field="comment")
    with svc.engine.begin() as conn:
        row = _sample_row(conn, user, sample_id)
        if row.outcome is not None:
            raise BadInput("The outcome of this second read was already recorded.")
        key = svc.vault.data_key(row.recording_id, row.wrapped_key)
        sealed = (
            svc.vault.seal(key, "quality_sample", sample_id, "comment", comment)
            if comment
            else None
        )
        conn.execute(
            sa.update(db.quality_samples)
            .where(db.quality_samples.c.id == sample_id)
            .values(outcome=outcome, comment_enc=sealed, reviewed_at=db.utcnow())
        )
        record(
            conn,
            user.id,
            user.username,
            "sample_reviewed",
            "note",
            row.note_id,
            {"sample": sample_id, "outcome": outcome},
        )


def list_samples(svc: Services, user: CurrentUser) -> list[Sample]:
    """Samples of notes in the user's teams, waiting ones first, newest first."""
    _require_manager(user)
    s, n, r, u = db.quality_samples, db.notes, db.recordings, db.users
    author = u.alias("author")
    manager = u.alias("manager")
    with svc.engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                s,
                r.c.id.label("recording_id"),
                r.c.wrapped_key,
                r.c.visit_type,
                r.c.visit_date,
                author.c.display_name.label("author"),
                manager.c.display_name.label("drawn_by"),
            )
            .join(n, n.c.id == s.c.note_id)
            .join(r, r.c.id == n.c.recording_id)
            .join(author, author.c.id == r.c.owner_id)
            .join(manager, manager.c.id == s.c.manager_id)
            .where(r.c.team_id.in_(user.team_ids))
            .order_by(s.c.outcome.is_not(None), s.c.drawn_at.desc())
        ).all()
    samples = []
    for row in rows:
        comment = ""
        if row.comment_enc is not None:
            key = svc.vault.data_key(row.recording_id, row.wrapped_key)
            comment = svc.vault.open_text(key, "quality_sample", row.id, "comment", row.comment_enc)
        samples.append(
            Sample(
                id=row.id,
                recording_id=row.recording_id,
                visit_type=row.visit_type,
                visit_date=row.visit_date,
                author=row.author,
                drawn_by=row.drawn_by,
                drawn_at=written_time(row.drawn_at),
                outcome=row.outcome,
                comment=comment,
            )
        )
    return samples
