"""Oversight: the audit trail, each note's review history, the team dashboard and
quality sampling (legal holds and subject access are in ``governance``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for

from policies import BadInput
from webapp import audit, db, integrity
from webapp.context import services
from webapp.forms import FormProblem, keeps_form
from webapp.services import charts, holds, sampling
from webapp.services.access import require
from webapp.services.audit_trail import display_names, record, who_did_it
from webapp.services.dashboard import QUICK_REVIEW_SECONDS, DashboardFilter, dashboard
from webapp.services.note_audit import note_audit
from webapp.web import current_user, login_required

bp = Blueprint("oversight", __name__, url_prefix="/oversight")

_PAGE = 200
#: The longest action name a filter may ask for.
_MAX_ACTION = 60


def _team_filter(user: Any) -> Any:
    """Entries about the records of the user's teams, whoever did them.

    An entry names its record's teams as they were when it was written. Entries from
    before that was recorded are matched by their recording's or note's team (which
    never changes); any other such entry is for administrators only.
    """
    log = db.audit_log.c
    if not user.team_ids:
        return sa.false()
    named = sa.or_(*(log.teams.contains(f",{int(team)},") for team in sorted(user.team_ids)))
    recs = sa.select(db.recordings.c.id).where(db.recordings.c.team_id.in_(user.team_ids))
    note_ids = sa.select(db.notes.c.id).where(db.notes.c.recording_id.in_(recs))
    earlier = sa.and_(
        log.teams.is_(None),
        sa.or_(
            sa.and_(log.record_type == "recording", log.record_id.in_(recs)),
            sa.and_(log.record_type == "note", log.record_id.in_(note_ids)),
        ),
    )
    return sa.or_(named, earlier)


#: Each audit action in words, for the audit trail page.
AUDIT_WORDS = {
    "upload": "uploaded a recording",
    "listen": "listened to the recording",
    "view": "opened the note",
    "edit": "edited a statement",
    "flag_resolve": "resolved a flagged statement",
    "section_reviewed": "marked a section reviewed",
    "speaker_rename": "named a speaker",
    "add": "added a statement of their own",
    "restore": "restored a deleted statement",
    "reorder": "moved a statement",
    "send_for_approval": "sent the note for approval",
    "return_for_changes": "returned the note for changes",
    "approve": "approved the note",
    "approve_refused": "was refused approval",
    "addendum": "added an addendum",
    "download": "downloaded the note",
    "draft_created": "drafted the note",
    "job_failed": "processing failed",
    "job_retried": "asked for processing to be tried again",
    "sign_in": "signed in",
    "sign_in_failed": "failed to sign in",
    "sign_out": "signed out",
    "password_change": "changed their password",
    "password_change_failed": "gave a wrong current password when changing it",
    "password_reset_required": "required a user to choose a new password",
    "user_create": "created a user",
    "user_update": "changed a user's role or teams",
    "user_disable": "disabled a user",
    "user_enable": "enabled a user",
    "sessions_revoked": "ended a user's sessions",
    "keys_rotate": "rotated the master key",
    "legal_hold_set": "placed a legal hold",
    "legal_hold_cleared": "lifted a legal hold",
    "retention_audio_deleted": "deleted the audio (retention policy)",
    "retention_draft_deleted": "deleted an unapproved draft (retention policy)",
    "retention_held": "kept a case under legal hold (retention policy)",
    "sample_drawn": "drew notes for a second read",
    "sample_reviewed": "recorded a second read",
    "subject_access_export": "exported a subject access request",
    "audit_view": "looked at the audit trail",
    "dashboard_view": "looked at the team dashboard",
    "oversight_note_view": "looked at how a note was reviewed",
    "api_notes_list": "listed approved notes through the API",
    "api_note_fetch": "fetched the approved note through the API",
    "api_note_imported": "marked the note imported through the API",
    "api_refused": "was refused by the API",
    "api_token_create": "made an API token",
    "api_token_revoke": "revoked an API token",
}


def _case_references(
    svc: Any, conn: sa.Connection, rows: list[Any], team_ids: frozenset[int]
) -> dict[str, str]:
    """Case references of the recordings and notes the entries are about, in these teams."""
    note_ids = {r.record_id for r in rows if r.record_type == "note" and r.record_id}
    rec_ids = {r.record_id for r in rows if r.record_type == "recording" and r.record_id}
    by_note = dict(
        conn.execute(
            sa.select(db.notes.c.id, db.notes.c.recording_id).where(db.notes.c.id.in_(note_ids))
        ).all()
    )
    recs = conn.execute(
        sa.select(
            db.recordings.c.id, db.recordings.c.wrapped_key, db.recordings.c.case_ref_enc
        ).where(
            db.recordings.c.id.in_(rec_ids | set(by_note.values())),
            db.recordings.c.team_id.in_(team_ids),
        )
    ).all()
    refs = {rec.id: holds.case_reference_of(svc, rec) for rec in recs}
    refs.update({note: refs[rec] for note, rec in by_note.items() if rec in refs})
    return refs


def _user_id(record_id: str | None) -> int | None:
    return int(record_id) if record_id and record_id.isdigit() and len(record_id) < 19 else None


def _people_in(rows: Sequence[Any]) -> set[int]:
    """The users the entries name: who did each, and whom a user entry is about."""
    people = {row.actor_id for row in rows if row.actor_id is not None}
    about = (_user_id(row.record_id) for row in rows if row.record_type == "user")
    return people | {user_id for user_id in about if user_id is not None}


def _detail_words(detail: str | None) -> str:
    if not detail:
        return ""
    try:
        facts = json.loads(detail)
    except ValueError:
        return detail
    if not isinstance(facts, dict):
        return str(facts)
    return "; ".join(
        f"{key.replace('_', ' ')}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
        for key, v in facts.items()
        if v not in (None, "", [])
    )


@bp.get("/audit")
@login_required
def audit_trail() -> Any:
    """The audit entries the user may see, newest first, and whether the chain is intact."""
    user = current_user()
    require(user, "audit", "Only managers and administrators can see the audit trail.")
    svc = services()
    query = sa.select(db.audit_log).order_by(db.audit_log.c.id.desc()).limit(_PAGE)
    if not user.can("manage_users"):
        query = query.where(_team_filter(user))
    action = request.args.get("action", "").strip()
    if action:
        if len(action) > _MAX_ACTION or not all(ch.isalnum() or ch in "._-" for ch in action):
            raise BadInput("Choose an action from the list to filter the audit trail.")
        query = query.where(db.audit_log.c.action == action)
    before = request.args.get("before", "").strip()
    if before:
        if not before.isdigit() or len(before) > 18:
            raise BadInput("'before' must be the number of an audit entry.")
        query = query.where(db.audit_log.c.id < int(before))
    with svc.engine.connect() as conn:
        # verify() may switch its connection to streaming; keep it to itself.
        check = audit.verify(conn, db.audit_log)
    with svc.engine.connect() as conn:
        signed = integrity.check_checkpoint(conn, svc.vault.ring, check.checked)
        conn.rollback()
    if check.ok and not signed.ok:
        check = audit.AuditCheck(False, check.checked, None, signed.problem)
    with svc.engine.begin() as conn:
        rows = conn.execute(query).all()
        # Case references are case content: only for roles that may read it.
        refs = _case_references(svc, conn, rows, user.team_ids) if user.can("case_content") else {}
        names = display_names(conn, _people_in(rows))
        record(conn, user.id, user.username, "audit_view", None, None, {"action": action or None})
    entries = [
        {
            "id": row.id,
            "at": row.at,
            "actor": who_did_it(names, row.actor_id, row.actor),
            "action": AUDIT_WORDS.get(row.action, row.action.replace("_", " ")),
            "code": row.action,
            "record": (
                f"case {refs[row.record_id]}"
                if row.record_id in refs
                else names[int(row.record_id)]
                if row.record_type == "user" and _user_id(row.record_id) in names
                else f"{row.record_type.replace('_', ' ')} {row.record_id[:8]}"
                if row.record_type and row.record_id
                else ""
            ),
            "detail": _detail_words(row.detail),
        }
        for row in rows
    ]
    older = entries[-1]["id"] if len(entries) == _PAGE else None
    choices = sorted(AUDIT_WORDS.items(), key=lambda item: item[1])
    return render_template(
        "oversight/audit.html",
        entries=entries,
        check=check,
        action=action,
        choices=choices,
        older=older,
    )


@bp.get("/notes/<recording_id>")
@login_required
def note_review(recording_id: str) -> Any:
    """How one note was reviewed: AI draft, saved versions, approved text, flags, timing."""
    return render_template(
        "oversight/note.html",
        a=note_audit(services(), current_user(), recording_id),
        recording_id=recording_id,
    )


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def _week_label(week: str) -> str:
    """``2026-W48`` as people say it: the week commencing Monday 23 Nov."""
    year, _, number = week.partition("-W")
    try:
        monday = date.fromisocalendar(int(year), int(number), 1)
    except ValueError:
        return week
    return f"w/c {monday.day} {monday:%b %Y}"


def _template_title(name: str) -> str:
    template = services().templates.get(name)
    return template.title if template is not None else name


@bp.get("/dashboard")
@login_required
def team_dashboard() -> Any:
    """Charts of how the tool is used in the manager's teams, with filters."""
    user = current_user()
    filters = DashboardFilter.from_args(request.args)
    board = dashboard(services(), user, filters)
    people = board.by_author
    quick = {name for name, f in people.items() if f["outliers"]}
    figures = {
        "weekly": charts.column_chart(
            "chart-weekly",
            "Notes approved per week",
            [charts.Bar(_week_label(week), count, str(count)) for week, count in board.per_week],
        ),
        "unchanged": charts.bar_chart(
            "chart-unchanged",
            "Share of AI statements approved unchanged, per worker",
            [
                charts.Bar(n, f["unchanged"] * 100, _pct(f["unchanged"]), n in quick)
                for n, f in people.items()
            ],
            maximum=100,
        ),
        "edit_worker": charts.bar_chart(
            "chart-edit-worker",
            "Words changed from the AI draft, per worker",
            [charts.Bar(n, f["edit"] * 100, _pct(f["edit"])) for n, f in people.items()],
            maximum=100,
        ),
        "edit_template": charts.bar_chart(
            "chart-edit-template",
            "Words changed from the AI draft, per template",
            [
                charts.Bar(_template_title(n), f["edit"] * 100, _pct(f["edit"]))
                for n, f in board.by_template.items()
            ],
            maximum=100,
        ),
        "flags": charts.bar_chart(
            "chart-flags",
            "Flagged statements confirmed without change, per worker",
            [
                charts.Bar(n, f["confirmed"], f"{f['confirmed']:.0f} of {f['flags']:.0f}")
                for n, f in people.items()
            ],
        ),
        "visit_days": charts.bar_chart(
            "chart-visit-days",
            "Average days from visit to approved note, per worker",
            [
                charts.Bar(n, f["visit_days"], f"{f['visit_days']:.1f} days")
                for n, f in people.items()
            ],
        ),
        "review": charts.scatter_chart(
            "chart-review",
            "Review time against share approved unchanged, one point per note",
            [
                charts.Point(
                    (f.review_seconds or 0) / 60,
                    f.unchanged_share * 100,
                    f"{f.author}, {f.approved_on:%d %b}",
                    f.outlier,
                )
                for f in board.notes
                if f.review_seconds is not None
            ],
            "Minutes from first opening to approval",
            "% unchanged",
            x_max=max([30.0] + [(f.review_seconds or 0) / 60 for f in board.notes]),
        ),
    }
    with services().engine.begin() as conn:
        record(
            conn, user.id, user.username, "dashboard_view", None, None, {"notes": len(board.notes)}
        )
    return render_template(
        "oversight/dashboard.html",
        board=board,
        figures=figures,
        filters=filters,
        quick_minutes=QUICK_REVIEW_SECONDS / 60,
        outliers=[f for f in board.notes if f.outlier],
        template_titles={name: _template_title(name) for name in board.templates},
    )


def _samples_page(
    kept: dict[str, str] | None = None,
    problem: FormProblem | None = None,
    sample_id: str | None = None,
) -> str:
    """The sampling queue; after a refusal, the form that was sent filled in again.

    Args:
        kept: What was typed.
        problem: Why it was refused.
        sample_id: The sample whose outcome was refused; ``None`` for the draw form.
    """
    return render_template(
        "oversight/samples.html",
        samples=sampling.list_samples(services(), current_user()),
        outcomes=sampling.OUTCOMES,
        draw=(kept or {}) if sample_id is None else {},
        draw_problem=problem if sample_id is None else None,
        outcome=(kept or {}) if sample_id is not None else {},
        outcome_problem=problem if sample_id is not None else None,
        outcome_for=sample_id,
    )


@bp.get("/samples")
@login_required
def samples() -> Any:
    """The quality sampling queue."""
    return _samples_page()


@bp.post("/samples")
@login_required
@keeps_form(_samples_page)
def draw_samples() -> Any:
    """Draw a random sample of approved notes for a second read."""
    size = request.form.get("size", "").strip()
    if not size.isdigit() or len(size) > 6:
        raise BadInput("Enter how many notes to draw, as a number.", field="size")
    drawn = sampling.draw_sample(services(), current_user(), int(size))
    flash(
        f"{len(drawn)} note(s) drawn for a second read."
        if drawn
        else "No approved notes are waiting to be sampled."
    )
    return redirect(url_for("oversight.samples"))


@bp.post("/samples/<sample_id>")
@login_required
@keeps_form(_samples_page)
def sample_outcome(sample_id: str) -> Any:
    """Record the outcome of a second read."""
    sampling.record_outcome(
        services(),
        current_user(),
        sample_id,
        request.form.get("outcome", ""),
        request.form.get("comment", ""),
    )
    flash("The outcome of the second read was recorded.")
    return redirect(url_for("oversight.samples"))
