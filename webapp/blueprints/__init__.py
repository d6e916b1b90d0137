"""One blueprint per area: auth, recordings, review, oversight, admin."""

from __future__ import annotations

from flask import Flask

__all__ = ["register"]


def register(app: Flask) -> None:
    """Register every blueprint on ``app``."""
    from webapp.blueprints import admin, auth, health, oversight, recordings, review

    for module in (auth, recordings, review, oversight, admin, health):
        app.register_blueprint(module.bp)
