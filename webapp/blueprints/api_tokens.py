"""Administration of API tokens: make one (shown once), list them, revoke one."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from webapp.context import services
from webapp.forms import FormProblem, keeps_form
from webapp.services import api_tokens
from webapp.services.access import require
from webapp.services.users import list_teams
from webapp.web import current_user, login_required

__all__ = ["bp"]

bp = Blueprint("api_tokens", __name__, url_prefix="/admin/api-tokens")


def _require_admin() -> None:
    require(current_user(), "manage_users", "Only administrators can manage API tokens.")


def _page(
    new_token: api_tokens.NewToken | None = None,
    form: dict[str, str] | None = None,
    problem: FormProblem | None = None,
    chosen_teams: list[str] | None = None,
) -> str:
    svc = services()
    return render_template(
        "admin/api_tokens.html",
        tokens=list_tokens_now(),
        teams=[name for _id, name in sorted(list_teams(svc), key=lambda t: t[1])],
        new_token=new_token,
        form=form or {},
        chosen_teams=chosen_teams or [],
        problem=problem,
    )


def list_tokens_now() -> list[tuple[api_tokens.ApiToken, str]]:
    """Every token with its state (``active``, ``revoked`` or ``expired``)."""
    return [(token, token.state()) for token in api_tokens.list_tokens(services())]


@bp.get("")
@login_required
def index() -> Any:
    """The API tokens, and the form to make one."""
    _require_admin()
    return _page()


def _refused_page(kept: dict[str, str], problem: FormProblem) -> str:
    return _page(form=kept, problem=problem, chosen_teams=request.form.getlist("teams"))


@bp.post("")
@login_required
@keeps_form(_refused_page)
def create() -> Any:
    """Make a token and show it once, on this answer only (it is not kept)."""
    _require_admin()
    form = request.form
    expires = form.get("expires", "").strip()
    new = api_tokens.create_token(
        services(),
        form.get("name", ""),
        form.getlist("teams"),
        can_mark_imported=form.get("scope") == "read+mark-imported",
        expires_at=api_tokens.expiry_after(expires) if expires else None,
        actor=current_user(),
    )
    return _page(new_token=new), 201


@bp.post("/<int:token_id>/revoke")
@login_required
def revoke(token_id: int) -> Any:
    """Revoke a token at once."""
    _require_admin()
    if api_tokens.revoke_token(services(), token_id, actor=current_user()):
        flash("The token was revoked: calls made with it are refused from now on.")
    else:
        flash("That token was already revoked.")
    return redirect(url_for("api_tokens.index"))
