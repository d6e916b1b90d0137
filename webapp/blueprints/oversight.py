"""Oversight: the audit trail, each note's review history, the team dashboard and
quality sampling (legal holds and subject access are in ``governance``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from policies import BadInput
from webapp.context import services
from webapp.forms import FormProblem, keeps_form
from webapp.services import sampling
from webapp.services.audit_entries import audit_page
from webapp.services.dashboard import QUICK_REVIEW_SECONDS, DashboardFilter
from webapp.services.dashboard_charts import dashboard_page
from webapp.services.note_audit import note_audit
from webapp.web import current_user, login_required

bp = Blueprint("oversight", __name__, url_prefix="/oversight")


@bp.get("/audit")
@login_required
def audit_trail() -> Any:
    """The audit entries the user may see, newest first, and whether the chain is intact."""
    action = request.args.get("action", "").strip()
    before = request.args.get("before", "").strip()
    page = audit_page(services(), current_user(), action, before)
    return render_template(
        "oversight/audit.html",
        entries=page.entries,
        check=page.check,
        action=action,
        choices=page.choices,
        older=page.older,
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


@bp.get("/dashboard")
@login_required
def team_dashboard() -> Any:
    """Charts of how the tool is used in the manager's teams, with filters."""
    filters = DashboardFilter.from_args(request.args)
    page = dashboard_page(services(), current_user(), filters)
    return render_template(
        "oversight/dashboard.html",
        board=page.board,
        figures=page.figures,
        filters=filters,
        quick_minutes=QUICK_REVIEW_SECONDS / 60,
        outliers=page.outliers,
        template_titles=page.template_titles,
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
