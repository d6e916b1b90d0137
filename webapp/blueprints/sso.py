"""Single sign-on with the council's OpenID Connect provider: start and callback, and
finishing an approval for which the approver signed in again there."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from policies import Conflict, Forbidden, InvalidTransition
from webapp.blueprints.auth import _safe_next
from webapp.context import services
from webapp.services import reauthentication
from webapp.services.auth import start_session
from webapp.services.sso import PENDING_COOKIE, PENDING_SECONDS, begin_sign_in, finish_sign_in
from webapp.services.sso_provider import SignInRefused
from webapp.web import current_user, login_required

bp = Blueprint("sso", __name__, url_prefix="/auth/sso")

#: What of the provider's answer is passed on to finish an approval.
_ANSWER = ("code", "state", "iss", "error")


def redirect_uri() -> str:
    """The callback address registered with the provider."""
    return services().settings.oidc_redirect_uri or url_for("sso.callback", _external=True)


def _set_pending(response: Any, value: str) -> None:
    response.set_cookie(
        PENDING_COOKIE,
        value,
        max_age=PENDING_SECONDS,
        path=url_for("sso.callback"),
        secure=services().settings.cookie_secure,
        httponly=True,
        # Lax, not Strict: the provider's redirect back here is a cross-site navigation.
        samesite="Lax",
    )


def _refused(exc: SignInRefused) -> Any:
    page = render_template("error.html", status=exc.status_code, message=str(exc))
    response = make_response(page, exc.status_code)
    response.delete_cookie(PENDING_COOKIE, path=url_for("sso.callback"))
    return response


@bp.get("/start")
def start() -> Any:
    """Send the browser to the provider to sign in."""
    if not services().settings.oidc_issuer:
        abort(404)
    next_path = _safe_next(request.args.get("next"))
    try:
        url, pending = begin_sign_in(
            services(), redirect_uri(), next_path, request.remote_addr or ""
        )
    except SignInRefused as exc:
        return _refused(exc)
    response = redirect(url)
    _set_pending(response, pending)
    return response


@bp.get("/callback")
def callback() -> Any:
    """Finish the sign-in the provider sends back, or refuse it with the reason."""
    if not services().settings.oidc_issuer:
        abort(404)
    if reauthentication.is_attempt(services(), request.args.get("state", "")):
        # Back from signing in again to approve. This request carries no session cookie
        # (SameSite=Strict), so on to a page of ours that it reaches, to finish there.
        answer = {k: v for k, v in request.args.items() if k in _ANSWER}
        return render_template(
            "account/signed_in_again.html", next_path=url_for("sso.approve", **answer)
        )
    try:
        done = finish_sign_in(
            services(),
            request.cookies.get(PENDING_COOKIE),
            request.args.to_dict(),
            redirect_uri(),
            request.remote_addr or "",
        )
    except SignInRefused as exc:
        return _refused(exc)
    session.clear()  # a fresh session on sign-in: no fixation
    session["token"] = start_session(services(), done.user_id)
    session["sso"] = True
    # A page of our own that moves on, rather than a redirect: the session cookie is
    # SameSite=Strict, and a browser would not send it on a redirect that began at the
    # provider, so the next page would ask for sign-in again.
    page = render_template("account/signed_in.html", next_path=_safe_next(done.next_path))
    response = make_response(page, 200)
    response.delete_cookie(PENDING_COOKIE, path=url_for("sso.callback"))
    return response


@bp.get("/approve")
@login_required
def approve() -> Any:
    """Finish an approval once the approver has signed in again at the provider."""
    if not services().settings.oidc_issuer:
        abort(404)
    user = current_user()
    attempt = reauthentication.take(services(), user, request.args.get("state", ""))
    note = url_for("review.show", recording_id=attempt.recording_id)
    try:
        result = reauthentication.approve(
            services(), user, attempt, request.args.to_dict(), redirect_uri()
        )
    except (Forbidden, InvalidTransition, Conflict) as exc:
        # Back to the note with the reason beside the approve button.
        session["approve_error"] = f"Not approved: {exc}"
        return redirect(note + "#approve-button")
    flash(
        "The note was already approved by you."
        if result.already
        else "The note is approved and locked."
    )
    return redirect(note)
