"""Signing in and out, and changing one's own password."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for

from policies import MIN_PASSWORD_LENGTH, BadInput, Forbidden
from webapp.context import services
from webapp.services.auth import (
    authenticate,
    end_session,
    refuse_password_sign_in,
    start_session,
)
from webapp.services.passwords import change_password, needs_new_password
from webapp.services.sso import sign_out_url
from webapp.web import current_user, login_required

bp = Blueprint("auth", __name__)

_PASSWORDS_OFF = (
    "Signing in with a carenotes password is switched off here. Use "
    "'Sign in with your council account' instead."
)


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site, else the start page.

    Browsers drop tabs and line breaks from a URL and read a backslash as a slash, so
    ``/\t/evil.example`` or ``/\\evil.example`` would lead to another site: any control
    character, space or backslash is refused outright, as are ``//`` and a scheme.
    """
    home = url_for("auth.home")  # which sends each role to its own start page
    if not target or len(target) > 2000:
        return home
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 or ch == "\\" for ch in target):
        return home
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return home
    return target


@bp.get("/")
def home() -> Any:
    """Send people to their recordings, or to sign in."""
    if g.get("user") is None:
        return redirect(url_for("auth.login"))
    if current_user().can("manage_users") and not current_user().can("case_content"):
        return redirect(url_for("admin.users"))
    if current_user().can("subject_access") and not current_user().can("case_content"):
        return redirect(url_for("governance.subject_access_form"))
    return redirect(url_for("recordings.index"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The sign-in form."""
    message = None
    status = 200
    if g.get("session_ended"):
        message = "Your session ended. Sign in again to carry on."
    settings = services().settings
    if request.method == "POST" and not settings.password_sign_in:
        refuse_password_sign_in(services(), request.remote_addr or "")
        message, status = _PASSWORDS_OFF, 403
    elif request.method == "POST":
        username = request.form.get("username", "")
        password = request.form.get("password", "")
        try:
            user_id = authenticate(services(), username, password, request.remote_addr or "")
        except Forbidden as exc:
            message, status = str(exc), 401
        else:
            session.clear()  # a fresh session on sign-in: no fixation
            session["token"] = start_session(services(), user_id)
            if needs_new_password(services(), user_id):
                return redirect(
                    url_for("auth.change_password", next=request.args.get("next") or None)
                )
            return redirect(_safe_next(request.args.get("next")))
    return (
        render_template(
            "login.html",
            message=message,
            passwords=settings.password_sign_in,
            sso=bool(settings.oidc_issuer),
            next_path=request.args.get("next") or None,
            # A refused sign-in keeps the username typed (never the password).
            username=request.form.get("username", "") if status == 401 else "",
        ),
        status,
    )


@bp.post("/logout")
@login_required
def logout() -> Any:
    """End the session on the server, then forget the cookie."""
    end_session(services(), current_user())
    via_sso = bool(session.get("sso"))
    session.clear()
    g.user = None  # the page below is shown to someone signed out
    if via_sso:
        # Sign out at the provider too, which sends the browser back to sign-in here.
        settings = services().settings
        back = url_for("auth.login", _external=True)
        if settings.oidc_redirect_uri:
            back = urljoin(settings.oidc_redirect_uri, url_for("auth.login"))
        there = sign_out_url(services(), back)
        if there:
            # A page that moves on, not a redirect: the pages' form-action 'self' would
            # stop a browser following a form's redirect to another site.
            return render_template("account/signed_out.html", provider_url=there)
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"], endpoint="change_password")
@login_required
def change_password_page() -> Any:
    """Change one's own password (the only page open while a new one is required)."""
    user = current_user()
    message = None
    status = 200
    if request.method == "POST":
        form = request.form
        try:
            change_password(
                services(),
                user,
                form.get("current_password", ""),
                form.get("new_password", ""),
                form.get("repeat_password", ""),
                request.remote_addr or "",
            )
        except (BadInput, Forbidden) as exc:
            message, status = str(exc), exc.status_code
        else:
            flash("Your password was changed. Anyone else signed in as you was signed out.")
            return redirect(_safe_next(request.args.get("next")))
    return (
        render_template(
            "account/password.html",
            message=message,
            required=user.must_change_password,
            min_length=MIN_PASSWORD_LENGTH,
        ),
        status,
    )
