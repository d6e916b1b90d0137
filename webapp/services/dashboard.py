"""The team dashboard: how the tool is really used, per week, person and template.

Figures are computed from approved notes in the manager's teams (every team for an
administrator). How much of the AI draft was kept is worked out once, at approval, by
comparing the decrypted draft with the approved text, and stored with the note as
counts and shares only (``notes.review_figures``); an approved note never changes, so
the dashboard reads those figures and decrypts nothing. Notes approved before the
figures were stored are worked out on first view and stored then.
"""

from __future__ import annotations

import difflib
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from policies import BadInput
from webapp import db
from webapp.context import Services
from webapp.services.access import require
from webapp.services.auth import CurrentUser
from webapp.services.note_audit import first_views
from webapp.services.note_items import drafted_items, written_by_practitioner
from webapp.services.sealed_notes import open_draft
from webapp.services.speakers import renamed_baseline

if TYPE_CHECKING:
    from summarise import Draft

__all__ = ["Dashboard", "DashboardFilter", "NoteFigures", "dashboard", "review_figures"]

#: A note approved with every AI statement unchanged after less review than this is an outlier.
QUICK_REVIEW_SECONDS = 120.0


@dataclass(frozen=True)
class DashboardFilter:
    """What to include.

    Attributes:
        worker_id: Only notes recorded by this user.
        template: Only this visit type.
        date_from: Only notes approved on or after this date.
        date_to: Only notes approved on or before this date.
    """

    worker_id: int | None = None
    template: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def from_args(cls, args: Any) -> DashboardFilter:
        """Read the filter from a query string, refusing bad values with a clear message."""

        def day(name: str) -> date | None:
            value = (args.get(name) or "").strip()
            if not value:
                return None
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise BadInput(
                    f"Enter the {name.replace('_', ' ')} as a date, e.g. 2026-03-14."
                ) from None

        worker = (args.get("worker") or "").strip()
        if worker and not worker.isdigit():
            raise BadInput("Choose the worker from the list.")
        return cls(
            worker_id=int(worker) if worker else None,
            template=(args.get("template") or "").strip() or None,
            date_from=day("date_from"),
            date_to=day("date_to"),
        )


@dataclass(frozen=True)
class NoteFigures:
    """The figures of one approved note.

    Attributes:
        recording_id: The recording (links to the note's history).
        author: Who recorded the visit.
        approver: Who approved the note.
        template: Visit type.
        approved_on: Date of approval.
        week: ISO week of approval, e.g. ``"2026-W11"``.
        unchanged_share: Share of AI statements approved exactly as drafted (0 to 1).
        edit_share: Share of words changed between AI draft and approved text (0 to 1).
        flags: Flagged statements.
        flags_confirmed: Flagged statements confirmed without any change.
        statements_added: Statements the practitioner wrote themselves.
        statements_removed: AI statements deleted in review.
        review_seconds: First opening of the draft to approval, if known.
        visit_days: Visit date to approval, in days.
        outlier: Approved with every statement unchanged after very little review.
    """

    recording_id: str
    author: str
    approver: str
    template: str
    approved_on: date
    week: str
    unchanged_share: float
    edit_share: float
    flags: int
    flags_confirmed: int
    statements_added: int
    statements_removed: int
    review_seconds: float | None
    visit_days: int
    outlier: bool


@dataclass(frozen=True)
class Dashboard:
    """Everything the dashboard page shows.

    Attributes:
        notes: Figures per note, newest first.
        workers: ``(id, name)`` of people whose notes can be chosen in the filter.
        templates: Visit types that can be chosen.
        per_week: ``(week, notes approved)``, oldest first.
        by_author: Per author: notes, mean unchanged share, mean edit share,
            flags, flags confirmed unchanged, mean days from visit to approval.
        by_template: Per template: notes and mean edit share.
        by_approver: Per approver: approvals and outliers.
    """

    notes: list[NoteFigures]
    workers: list[tuple[int, str]]
    templates: list[str]
    per_week: list[tuple[str, int]] = field(default_factory=list)
    by_author: dict[str, dict[str, float]] = field(default_factory=dict)
    by_template: dict[str, dict[str, float]] = field(default_factory=dict)
    by_approver: dict[str, dict[str, float]] = field(default_factory=dict)


def _words_changed(old: list[str], new: list[str]) -> float:
    if not old and not new:
        return 0.0
    return 1.0 - difflib.SequenceMatcher(None, old, new, autojunk=False).ratio()


def review_figures(draft: Draft, work: dict[str, Any]) -> dict[str, Any]:
    """How much of the AI draft a reviewer kept: counts and shares, no text.

    Args:
        draft: The note's AI draft (decrypted).
        work: The reviewer's working state at approval (decrypted).

    Speaker names given in review count as unchanged wording, and moving a statement
    within its section changes no words. A statement the practitioner wrote is
    counted as added by them, not as an AI statement edited.

    Returns:
        ``unchanged_share`` (AI statements approved exactly as drafted), ``edit_share``
        (words of the AI's statements changed), ``flags`` and ``flags_confirmed``
        (confirmed unchanged), ``statements_added`` (by the practitioner) and
        ``statements_removed`` (AI statements deleted).
    """
    # Naming a speaker ("Speaker 2" → "Mrs P") is not an edit of what the AI wrote.
    baseline = renamed_baseline(draft, work)
    drafted = drafted_items(draft)
    items = work["items"]
    ai_ids = [item_id for item_id in drafted if item_id in items]
    kept = [item_id for item_id in ai_ids if items[item_id]["status"] != "deleted"]
    unchanged = sum(1 for item_id in kept if items[item_id]["text"] == baseline[item_id])
    # In the draft's order: a statement moved within its section is not reworded.
    old_words = " ".join(baseline[item_id] for item_id in ai_ids).split()
    new_words = " ".join(items[item_id]["text"] for item_id in kept).split()
    flagged = [items[item_id] for item_id in ai_ids if items[item_id]["flagged"]]
    added = [i for i in items.values() if written_by_practitioner(i) and i["status"] != "deleted"]
    return {
        "unchanged_share": unchanged / len(ai_ids) if ai_ids else 1.0,
        "edit_share": _words_changed(old_words, new_words),
        "flags": len(flagged),
        "flags_confirmed": sum(1 for i in flagged if i["status"] == "confirmed"),
        "statements_added": len(added),
        "statements_removed": len(ai_ids) - len(kept),
    }


def _stored_figures(svc: Services, row: Any) -> dict[str, Any]:
    """The note's review figures; worked out and stored if it predates them."""
    if row.review_figures is not None:
        return dict(row.review_figures)
    vault = svc.vault
    key = vault.data_key(row.recording_id, row.wrapped_key)
    figures = review_figures(
        open_draft(vault, key, row.id, row.draft_enc),
        vault.open_json(key, "note", row.id, "work", row.work_enc),
    )
    with svc.engine.begin() as conn:
        conn.execute(
            sa.update(db.notes)
            .where(db.notes.c.id == row.id, db.notes.c.review_figures.is_(None))
            .values(review_figures=figures)
        )
    return figures


def _figures(svc: Services, row: Any, names: dict[int, str], first: Any) -> NoteFigures:
    stored = _stored_figures(svc, row)
    approved = db.as_utc(row.approved_at)
    assert approved is not None  # noqa: S101 - only approved notes are selected
    review = (approved - first).total_seconds() if first else None
    share = float(stored["unchanged_share"])
    iso = approved.isocalendar()
    return NoteFigures(
        recording_id=row.recording_id,
        author=names.get(row.owner_id, "unknown"),
        approver=names.get(row.approved_by, "unknown"),
        template=row.visit_type,
        approved_on=approved.date(),
        week=f"{iso.year}-W{iso.week:02d}",
        unchanged_share=share,
        edit_share=float(stored["edit_share"]),
        flags=int(stored["flags"]),
        flags_confirmed=int(stored["flags_confirmed"]),
        # Figures stored before these were counted have neither.
        statements_added=int(stored.get("statements_added", 0)),
        statements_removed=int(stored.get("statements_removed", 0)),
        review_seconds=review,
        visit_days=(approved.date() - date.fromisoformat(row.visit_date)).days,
        outlier=share >= 1.0 and review is not None and review < QUICK_REVIEW_SECONDS,
    )


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else 0.0


def _approved_notes(user: CurrentUser) -> sa.Select[Any]:
    """The approved notes the user oversees, newest approval first."""
    r, n = db.recordings, db.notes
    query = (
        sa.select(
            n.c.id,
            n.c.recording_id,
            n.c.draft_enc,
            n.c.work_enc,
            n.c.review_figures,
            n.c.approved_at,
            n.c.approved_by,
            r.c.wrapped_key,
            r.c.owner_id,
            r.c.visit_type,
            r.c.visit_date,
            r.c.team_id,
        )
        .join(r, r.c.id == n.c.recording_id)
        .where(n.c.state == "approved")
        .order_by(n.c.approved_at.desc())
    )
    if not user.can("manage_users"):
        query = query.where(r.c.team_id.in_(user.team_ids))
    return query


def _included(row: Any, filters: DashboardFilter) -> bool:
    """Whether the filters let an approved note in."""
    approved = db.as_utc(row.approved_at)
    day = approved.date() if approved else None
    if filters.worker_id is not None and row.owner_id != filters.worker_id:
        return False
    if filters.template and row.visit_type != filters.template:
        return False
    if day and filters.date_from and day < filters.date_from:
        return False
    return not (day and filters.date_to and day > filters.date_to)


def dashboard(svc: Services, user: CurrentUser, filters: DashboardFilter) -> Dashboard:
    """Compute the dashboard for a manager's teams (all teams for an administrator).

    Raises:
        Forbidden: The user's role has no oversight.
    """
    require(user, "audit", "Only managers and administrators can see the team dashboard.")
    query = _approved_notes(user)
    with svc.engine.connect() as conn:
        rows = conn.execute(query).all()
        names = dict(conn.execute(sa.select(db.users.c.id, db.users.c.display_name)).all())
        firsts = first_views(conn, [row.id for row in rows])
    workers = sorted(
        {(row.owner_id, names.get(row.owner_id, "")) for row in rows}, key=lambda w: w[1]
    )
    templates = sorted({row.visit_type for row in rows})
    chosen = []
    for row in rows:
        if _included(row, filters):
            chosen.append(_figures(svc, row, names, firsts.get(row.id)))
    weeks: dict[str, int] = defaultdict(int)
    authors: dict[str, list[NoteFigures]] = defaultdict(list)
    kinds: dict[str, list[NoteFigures]] = defaultdict(list)
    approvers: dict[str, list[NoteFigures]] = defaultdict(list)
    for figures in chosen:
        weeks[figures.week] += 1
        authors[figures.author].append(figures)
        kinds[figures.template].append(figures)
        approvers[figures.approver].append(figures)
    return Dashboard(
        notes=chosen,
        workers=workers,
        templates=templates,
        per_week=sorted(weeks.items()),
        by_author={
            name: {
                "notes": len(group),
                "unchanged": _mean([f.unchanged_share for f in group]),
                "edit": _mean([f.edit_share for f in group]),
                "flags": sum(f.flags for f in group),
                "confirmed": sum(f.flags_confirmed for f in group),
                "visit_days": _mean([float(f.visit_days) for f in group]),
                "outliers": sum(f.outlier for f in group),
            }
            for name, group in sorted(authors.items())
        },
        by_template={
            name: {"notes": len(group), "edit": _mean([f.edit_share for f in group])}
            for name, group in sorted(kinds.items())
        },
        by_approver={
            name: {"notes": len(group), "outliers": sum(f.outlier for f in group)}
            for name, group in sorted(approvers.items())
        },
    )
