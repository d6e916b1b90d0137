"""Request plumbing: the signed-in user, security headers, one error handler."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Flask,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from policies import BadInput, CarenotesError, NotFound
from webapp.context import services
from webapp.db import shown_time
from webapp.services.auth import CurrentUser, load_session
from webapp.spool import UploadRequest

__all__ = ["current_user", "init_app", "login_required", "wants_json"]

logger = logging.getLogger(__name__)

_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


_FLAG_WORDS = {
    "unsupported": "not clearly supported by what was said",
    "extractive-fallback": "taken straight from the transcript",
    "repetition": "repeated words in the transcript",
    "possible-hallucination": "the transcript may be wrong here",
    "check-speaker": "check who said this: the voice was hard to tell apart",
    "check-transcription": "check a name or number against the recording",
}


def flag_words(flag: str) -> str:
    """A draft flag in plain words, e.g. ``high-stakes: medication``."""
    if flag.startswith("high-stakes:"):
        return "high-stakes: " + flag.split(":", 1)[1].replace("-", " ")
    return _FLAG_WORDS.get(flag, flag.replace("-", " "))


def current_user() -> CurrentUser:
    """The signed-in user (only inside views protected by :func:`login_required`)."""
    return g.user  # type: ignore[no-any-return]


def wants_json() -> bool:
    """Whether the client asked for JSON (the page's scripts do)."""
    return request.is_json or request.accept_mimetypes.best == "application/json"


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Send people who are not signed in to the sign-in page (or answer 401 to scripts)."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("user") is None:
            if wants_json():
                return jsonify(error="Your session has ended; sign in again."), 401
            return redirect(url_for("auth.login", next=request.path))
        return view(*args, **kwargs)

    return wrapped


#: The largest id a path may carry (the database's integers are 32-bit at least).
MAX_ID = 2**31 - 1


def _refuse_bad_values() -> None:
    """Refuse, with a clear 400, what no view should ever have to handle.

    A NUL character in the path, a query value or a form value (no database column
    takes one), and a numeric id in the path too large to be any record's. A view that
    keeps its form (:func:`webapp.forms.keeps_form`) says so beside the field itself,
    and keeps the rest of what was typed.
    """
    values = [request.path]
    view = current_app.view_functions.get(request.endpoint or "")
    sources = [request.args]
    if not getattr(view, "keeps_form", False):
        sources.append(request.form)
    for source in sources:
        for key, value in source.items(multi=True):
            values.extend((key, value))
    if any("\x00" in value for value in values):
        raise BadInput(
            "Something sent with this request holds a character that is not allowed "
            "(a NUL). Remove it and try again."
        )
    for value in (request.view_args or {}).values():
        if isinstance(value, int) and value > MAX_ID:
            raise NotFound("There is no such record.")


def _load_user() -> None:
    g.user = None
    # The API takes bearer tokens only: a session cookie sent to it is not even read.
    if request.endpoint == "static" or request.blueprint == "api":
        return
    token = session.get("token")
    if token:
        g.user = load_session(services(), token)
        if g.user is None:
            session.clear()
            g.session_ended = True


#: The pages open to someone who must choose a new password before anything else.
_OPEN_UNTIL_NEW_PASSWORD = frozenset({"auth.change_password", "auth.logout", "static"})


def _require_new_password() -> Any:
    """Send a user who must choose a new password to that page, whatever they asked for."""
    user = g.get("user")
    if user is None or not user.must_change_password:
        return None
    if session.get("sso") and not user.has_password:
        return None  # signed in with their council account, with no password to change
    if request.endpoint in _OPEN_UNTIL_NEW_PASSWORD:
        return None
    if wants_json() or request.path.startswith("/api/"):
        return jsonify(error="Choose a new password first, on the Change password page."), 403
    wanted = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("auth.change_password", next=wanted))


def _headers(response: Any) -> Any:
    response.headers["Content-Security-Policy"] = _CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "microphone=(self), camera=(), geolocation=()"
    if request.endpoint != "static":
        # Case pages and their data must never sit in a browser or proxy cache.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response


def _error_page(status: int, message: str) -> Any:
    if wants_json() or request.path.startswith("/api/"):
        return jsonify(error=message), status
    return render_template("error.html", status=status, message=message), status


def _same_site_referrer() -> str | None:
    referrer = request.referrer or ""
    parts = urlsplit(referrer)
    if parts.netloc != request.host or not parts.path.startswith("/"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _handle_carenotes(exc: CarenotesError) -> Any:
    if exc.status_code >= 500:
        logger.error("%s while serving %s", type(exc).__name__, request.endpoint)
    # A form sent from a page (not a script) that was refused for what it said, or for
    # the state the record is in: back to that page with the reason, not a dead end.
    back = _same_site_referrer() if request.method == "POST" and not wants_json() else None
    if back and exc.status_code in (400, 409):
        flash(f"Not done: {exc}")
        return redirect(back)
    return _error_page(exc.status_code, str(exc))


def _handle_http(exc: HTTPException) -> Any:
    messages = {
        404: "There is no such page, or it is not shared with your teams.",
        405: "That action is not available here.",
    }
    return _error_page(exc.code or 500, messages.get(exc.code or 0, exc.description or ""))


def _handle_too_large(_exc: RequestEntityTooLarge) -> Any:
    limit = services().settings.max_content_length
    if request.content_length is not None and request.content_length <= limit:
        # Werkzeug also refuses a form of too many parts, whatever its size.
        return _error_page(
            413,
            "The form has too many fields; nothing was stored. List fewer participants "
            "and try again.",
        )
    return _error_page(
        413,
        f"The file is larger than this service accepts ({limit // (1024 * 1024)} MiB); "
        "nothing was stored. Split the recording or ask an administrator to raise the limit.",
    )


def _handle_csrf(_exc: CSRFError) -> Any:
    return _error_page(
        400, "This form had expired or was sent from elsewhere. Reload the page and try again."
    )


def _handle_unexpected(exc: Exception) -> Any:
    logger.exception("unexpected error in %s", request.endpoint)
    return _error_page(
        500,
        "Something went wrong on the server; nothing you saved was lost. Try again, and "
        "tell an administrator if it keeps happening.",
    )


def init_app(app: Flask) -> None:
    """Install the hooks and the error handlers on ``app``."""
    # Uploads wait encrypted inside the store, never as plaintext in /tmp.
    app.request_class = UploadRequest
    app.before_request(_refuse_bad_values)
    app.before_request(_load_user)
    app.before_request(_require_new_password)
    app.after_request(_headers)
    app.register_error_handler(CarenotesError, _handle_carenotes)
    app.register_error_handler(CSRFError, _handle_csrf)
    app.register_error_handler(RequestEntityTooLarge, _handle_too_large)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(Exception, _handle_unexpected)

    app.add_template_filter(flag_words, "flag_words")
    app.add_template_filter(shown_time, "shown_time")

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"user": g.get("user")}
