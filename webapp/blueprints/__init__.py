"""One blueprint per area: auth, recordings, review, oversight, governance, admin, and the
API."""

from __future__ import annotations

from flask import Flask

from webapp.blueprints import (
    admin,
    api,
    api_tokens,
    auth,
    governance,
    health,
    oversight,
    recordings,
    review,
    sso,
)

__all__ = ["register"]


def register(app: Flask) -> None:
    """Register every blueprint on ``app``."""
    for module in (
        auth,
        sso,
        recordings,
        review,
        oversight,
        governance,
        admin,
        api_tokens,
        health,
        api,
    ):
        app.register_blueprint(module.bp)
    # The API authenticates with bearer tokens, which a browser never sends by itself,
    # so it takes no CSRF token (and reads no session cookie).
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(api.bp)
