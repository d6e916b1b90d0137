"""Governance: legal holds and subject access exports.

Both forms come back as they were typed when refused, the reason beside the field.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from webapp.context import services
from webapp.forms import FormProblem, keeps_form
from webapp.services import holds
from webapp.services.access import require
from webapp.services.subject_access import export_subject_access
from webapp.services.users import teams_of
from webapp.web import current_user, login_required

__all__ = ["bp"]

bp = Blueprint("governance", __name__, url_prefix="/oversight")


def _holds_page(
    kept: dict[str, str] | None = None,
    problem: FormProblem | None = None,
    hold_id: str | None = None,
) -> str:
    """The legal holds page; after a refusal, the form that was sent filled in again.

    Args:
        kept: What was typed.
        problem: Why it was refused.
        hold_id: The hold whose lifting was refused; ``None`` for the form placing one.
    """
    user = current_user()
    svc = services()
    teams = teams_of(svc, user)
    return render_template(
        "oversight/holds.html",
        holds=holds.list_holds(svc, user),
        teams=teams,
        may_lift=user.can("lift_legal_hold"),
        may_read=user.can("case_content") or user.can("subject_access"),
        max_reason=holds.MAX_REASON,
        new_hold=(kept or {}) if hold_id is None else {},
        new_problem=problem if hold_id is None else None,
        lifting=(kept or {}) if hold_id is not None else {},
        lift_problem=problem if hold_id is not None else None,
        lifting_id=hold_id,
    )


@bp.get("/holds")
@login_required
def legal_holds() -> Any:
    """Active legal holds of the user's teams, and a form to place one."""
    return _holds_page()


@bp.post("/holds")
@login_required
@keeps_form(_holds_page)
def place_hold() -> Any:
    """Place a legal hold on a case reference of one of the user's teams."""
    team = request.form.get("team_id", "").strip()
    holds.place_hold(
        services(),
        current_user(),
        request.form.get("case_reference", ""),
        int(team) if team.isdigit() and len(team) < 10 else None,
    )
    flash("The legal hold is in place: nothing about this case will be deleted until it is lifted.")
    return redirect(url_for("governance.legal_holds"))


@bp.post("/holds/<hold_id>/lift")
@login_required
@keeps_form(_holds_page)
def lift_hold(hold_id: str) -> Any:
    """Lift a legal hold (information governance), with the reason."""
    holds.lift_hold(services(), current_user(), hold_id, request.form.get("reason", ""))
    flash("The legal hold was lifted; the retention policy applies again at the next purge.")
    return redirect(url_for("governance.legal_holds"))


def _subject_access_page(
    kept: dict[str, str] | None = None, problem: FormProblem | None = None
) -> str:
    return render_template("oversight/subject_access.html", kept=kept or {}, problem=problem)


@bp.get("/subject-access")
@login_required
def subject_access_form() -> Any:
    """The subject access export form."""
    require(
        current_user(),
        "subject_access",
        "Only information governance can export subject access data.",
    )
    return _subject_access_page()


@bp.post("/subject-access")
@login_required
@keeps_form(_subject_access_page)
def subject_access_export() -> Any:
    """Export everything held about a case reference as one ZIP archive."""
    export = export_subject_access(
        services(), current_user(), request.form.get("case_reference", "")
    )
    return Response(
        export.data,
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{export.filename}"'},
    )
