"""Single sign-on with the council's OpenID Connect provider: start and callback."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from webapp.blueprints.auth import _safe_next
from webapp.context import services
from webapp.services.auth import start_session
from webapp.services.sso import PENDING_COOKIE, PENDING_SECONDS, begin_sign_in, finish_sign_in
from webapp.services.sso_provider import SignInRefused

bp = Blueprint("sso", __name__, url_prefix="/auth/sso")


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
