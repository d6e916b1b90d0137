"""The JSON API for case-management systems (Mosaic, Liquidlogic, Eclipse): ``/api/v1``.

Only approved notes, only of the calling token's teams. Every call needs
``Authorization: Bearer <token>`` (see :mod:`webapp.services.api_tokens`); session
cookies are not read here and no CSRF token is needed, since a browser never sends the
bearer token by itself. Every call made with a known token is written to the audit
trail under the token's id. The OpenAPI description, ``openapi.json``, is the one file
``webapp/static/api/openapi-v1.json`` and needs no token.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from policies import BadInput, CarenotesError, NotAuthenticated, RateLimited
from webapp.context import services
from webapp.services import api_note_detail, api_notes
from webapp.services.api_auth import (
    ApiCaller,
    TokenRateLimited,
    TokenRefused,
    authenticate,
    record_refusal,
)

__all__ = ["OPENAPI_FILE", "bp"]

logger = logging.getLogger(__name__)

bp = Blueprint("api", __name__, url_prefix="/api/v1")

#: The API's OpenAPI 3 description: the one source of truth, served as it is.
OPENAPI_FILE = Path(__file__).resolve().parent.parent / "static" / "api" / "openapi-v1.json"

_LIST_PARAMETERS = ("team", "approved_since", "not_imported", "limit", "cursor")
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")
_OFFSET_AS_SPACE = re.compile(r"T[0-9:.]+ \d\d:\d\d$")
#: The largest request body the API reads (a reference and a system name).
_MAX_BODY = 16 * 1024


def _endpoint() -> str:
    """The route called, as the audit trail records it: ``GET /api/v1/notes/<note_id>``."""
    rule = request.url_rule.rule if request.url_rule is not None else "unknown"
    return f"{request.method} {rule}"


def _caller() -> ApiCaller:
    caller: ApiCaller = g.api_caller
    return caller


@bp.before_request
def _authenticate() -> None:
    if request.endpoint == "api.openapi":
        return
    g.api_caller = authenticate(services(), request.headers.get("Authorization"))


@bp.after_request
def _rate_headers(response: Response) -> Response:
    caller = g.get("api_caller")
    if caller is not None:
        response.headers["X-RateLimit-Limit"] = str(services().settings.api_rate_limit)
        response.headers["X-RateLimit-Remaining"] = str(caller.remaining)
    return response


def _audit_refusal(exc: CarenotesError) -> None:
    """Write a refused call to the audit trail when the token is known."""
    caller = g.get("api_caller")
    token_id = caller.token_id if caller else getattr(exc, "token_id", None)
    if token_id is None or (isinstance(exc, TokenRateLimited) and not exc.first):
        return
    prefix = caller.prefix if caller else getattr(exc, "prefix", "")
    note_id = (request.view_args or {}).get("note_id")
    detail = {
        "token": token_id,
        "endpoint": _endpoint(),
        "status": exc.status_code,
        "note": note_id if isinstance(note_id, str) and len(note_id) <= 64 else None,
    }
    record_refusal(services(), token_id, prefix, caller.team_ids if caller else (), detail)


@bp.errorhandler(CarenotesError)
def _api_error(exc: CarenotesError) -> Any:
    status = exc.status_code
    if status >= 500:
        logger.error("%s while serving %s", type(exc).__name__, request.endpoint)
    _audit_refusal(exc)
    response = jsonify(error=str(exc), status=status, field=exc.field)
    response.status_code = status
    if isinstance(exc, NotAuthenticated):
        error = "invalid_token" if request.headers.get("Authorization") else "invalid_request"
        response.headers["WWW-Authenticate"] = f'Bearer realm="carenotes", error="{error}"'
    if isinstance(exc, RateLimited):
        response.headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, TokenRefused):
        logger.warning("API call with revoked or expired token %s refused", exc.token_id)
    return response


def _one(name: str) -> str | None:
    values = request.args.getlist(name)
    if len(values) > 1:
        raise BadInput(f"Give '{name}' at most once.", field=name)
    return values[0] if values else None


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    problem = BadInput(
        "approved_since must be an ISO 8601 date or time, e.g. 2026-12-01T09:00:00Z "
        "(a time without an offset is taken as UTC).",
        field="approved_since",
    )
    if len(value) > 40:
        raise problem
    value = value.strip()
    if _OFFSET_AS_SPACE.search(value):
        # A '+' of an offset sent unencoded in a query string arrives as a space.
        value = value[:-6] + "+" + value[-5:]
    try:
        at = datetime.fromisoformat(value)
        # An offset can carry a time at the very start or end of the calendar past it.
        return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    except (ValueError, OverflowError):
        raise problem from None


def _flag(name: str, value: str | None) -> bool:
    if value is None:
        return False
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise BadInput(f"'{name}' must be true or false.", field=name)


def _limit(value: str | None) -> int:
    if value is None:
        return 50
    if not value.isascii() or not value.isdigit() or len(value) > 4:
        raise BadInput(
            f"limit must be a whole number from 1 to {api_notes.MAX_PAGE}.", field="limit"
        )
    return int(value)


@bp.get("/notes")
def list_notes() -> Any:
    """Approved notes of the token's teams, oldest approval first, a page at a time."""
    unknown = sorted(set(request.args) - set(_LIST_PARAMETERS))
    if unknown:
        raise BadInput(
            f"Unknown parameter {unknown[0][:40]!r}; this list takes "
            + ", ".join(_LIST_PARAMETERS)
            + ".",
        )
    team = _one("team")
    if team is not None and not 1 <= len(team) <= 120:
        raise BadInput("team must be a team's name (1 to 120 characters).", field="team")
    cursor = _one("cursor")
    page = api_notes.list_approved(
        services(),
        _caller(),
        _endpoint(),
        team=team,
        approved_since=_since(_one("approved_since")),
        not_imported=_flag("not_imported", _one("not_imported")),
        limit=_limit(_one("limit")),
        cursor=cursor or None,
    )
    return jsonify(notes=list(page.notes), next_cursor=page.next_cursor)


@bp.get("/notes/<note_id>")
def get_note(note_id: str) -> Any:
    """One approved note, whole."""
    return jsonify(api_note_detail.approved_note(services(), _caller(), note_id, _endpoint()))


@bp.post("/notes/<note_id>/imported")
def mark_imported(note_id: str) -> Any:
    """Mark an approved note imported (idempotent: the same reference again changes nothing)."""
    if request.content_length is not None and request.content_length > _MAX_BODY:
        raise BadInput("The request body is too large: send only external_reference and system.")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadInput(
            'Send a JSON object: {"external_reference": "...", "system": "Mosaic"}, with '
            "Content-Type: application/json."
        )
    imported, created = api_notes.mark_imported(
        services(),
        _caller(),
        note_id,
        body.get("external_reference"),
        body.get("system"),
        _endpoint(),
    )
    return jsonify(id=note_id, imported=True, created=created, **{"import": imported}), (
        201 if created else 200
    )


@bp.get("/openapi.json")
def openapi() -> Any:
    """The API's OpenAPI 3 description (no token needed)."""
    return current_app.response_class(OPENAPI_FILE.read_bytes(), mimetype="application/json")
