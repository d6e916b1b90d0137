"""Administration: users, their roles and teams (no case content)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from policies import ROLE_NAMES
from webapp.context import services
from webapp.forms import FormProblem, keeps_form
from webapp.services.access import require
from webapp.services.passwords import require_new_password
from webapp.services.users import create_user, list_teams, list_users, set_active, update_user
from webapp.web import current_user, login_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _require_admin() -> None:
    require(current_user(), "manage_users", "Only administrators can manage users.")


def _users_page(
    new_user: dict[str, str] | None = None,
    problem: FormProblem | None = None,
    user_id: int | None = None,
) -> str:
    """The users page; after a refusal, the form that was sent filled in again.

    Args:
        new_user: What was typed into the form adding a user (or a user's row).
        problem: Why it was refused.
        user_id: The user whose row was refused; ``None`` for the form adding one.
    """
    svc = services()
    return render_template(
        "admin/users.html",
        users=list_users(svc),
        teams=list_teams(svc),
        roles=[(name, svc.policy.role(name).label) for name in ROLE_NAMES],
        new_user=(new_user or {}) if user_id is None else {},
        problem=problem if user_id is None else None,
        edited=(new_user or {}) if user_id is not None else {},
        edit_problem=problem if user_id is not None else None,
        edited_id=user_id,
    )


@bp.get("/users")
@login_required
def users() -> Any:
    """Users and teams."""
    _require_admin()
    return _users_page()


@bp.post("/users")
@login_required
@keeps_form(_users_page, secret=("password",))
def create() -> Any:
    """Create a user."""
    _require_admin()
    form = request.form
    teams = [t.strip() for t in form.get("teams", "").split(",") if t.strip()]
    create_user(
        services(),
        form.get("username", ""),
        form.get("password", ""),
        form.get("role", ""),
        teams,
        form.get("display_name", ""),
        actor=current_user(),
        must_change_password=form.get("must_change_password") == "1",
    )
    flash("The user was created. Give them their password in person.")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>")
@login_required
@keeps_form(_users_page)
def update(user_id: int) -> Any:
    """Change a user's role and teams."""
    _require_admin()
    teams = [t.strip() for t in request.form.get("teams", "").split(",") if t.strip()]
    update_user(services(), current_user(), user_id, request.form.get("role", ""), teams)
    flash("The user's role and teams were saved.")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/disable")
@login_required
def disable(user_id: int) -> Any:
    """Disable a user and end their sessions."""
    _require_admin()
    set_active(services(), current_user(), user_id, False)
    flash("The user was disabled and signed out everywhere.")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/enable")
@login_required
def enable(user_id: int) -> Any:
    """Enable a disabled user."""
    _require_admin()
    set_active(services(), current_user(), user_id, True)
    flash("The user was enabled.")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/require-new-password")
@login_required
def require_password_change(user_id: int) -> Any:
    """Make a user choose a new password, optionally giving them a temporary one."""
    _require_admin()
    temporary = request.form.get("temporary_password", "")
    require_new_password(services(), current_user(), user_id, temporary)
    if temporary:
        flash(
            "The temporary password was set and the user was signed out everywhere. Give "
            "it to them in person; they must choose their own when they sign in."
        )
    else:
        flash(
            "The user must now choose a new password: every page they open sends them "
            "to the Change password page until they do."
        )
    return redirect(url_for("admin.users"))
