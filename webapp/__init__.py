"""The carenotes web app: upload, background transcription and drafting, review, approval.

Nothing happens at import time; :func:`create_app` builds everything.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from policies import load_access_policy, load_group_map, load_templates
from webapp.keys import ENV_KEY_FILE

__all__ = ["create_app"]

logger = logging.getLogger(__name__)


def _load_templates() -> dict[str, Any]:
    return dict(load_templates())


def _transcriber_factory(settings: Any) -> Any:
    def load() -> Any:
        # The model packages load PyAV, NumPy and SciPy (and, for a model, torch) on
        # import: a web process that never transcribes or drafts does without them.
        import transcribe

        return transcribe.load_transcriber(settings.transcribe_options())

    return load


def _drafter_factory(settings: Any) -> Any:
    def load() -> Any:
        import summarise

        return summarise.load_drafter(settings.llm_model or None)

    return load


def _load_group_map(settings: Any) -> Any:
    """The single sign-on group mapping, checked now, when single sign-on is configured."""
    if not settings.oidc_issuer:
        return None
    return load_group_map(settings.oidc_group_map_file or None)


def _key_environment(settings: Any) -> dict[str, str]:
    """The environment the master keys are read from, with the settings' key file."""
    environ = dict(os.environ)
    if settings.master_key_file:
        environ[ENV_KEY_FILE] = settings.master_key_file
    return environ


def _configure(app: Any, settings: Any, config: Mapping[str, Any]) -> None:
    """Set Flask's own configuration: the secret key, upload limit, cookies and CSRF."""
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_content_length,
        TESTING=bool(config.get("TESTING", False)),
        SESSION_COOKIE_NAME="carenotes_session",
        SESSION_COOKIE_SECURE=settings.cookie_secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_SSL_STRICT=settings.cookie_secure,
    )
    if "WTF_CSRF_ENABLED" in config:
        app.config["WTF_CSRF_ENABLED"] = bool(config["WTF_CSRF_ENABLED"])


def create_app(config: Mapping[str, Any] | None = None) -> Any:
    """Build the Flask app.

    Args:
        config: Overrides. Upper-case :class:`~webapp.settings.Settings` field names
            (``SECRET_KEY``, ``DATABASE_URL``, ``RUN_WORKER``...), plus ``KEYRING`` (a
            :class:`webapp.crypto.KeyRing`, else read from the environment),
            ``TRANSCRIBER`` and ``DRAFTER`` (model objects, else the packaged models
            are loaded on first use), ``INSTANCE_PATH`` and ``TESTING``.

    Returns:
        The app.

    Raises:
        ConfigError: A production installation lacks its secret key or master key
            (an embedded one makes them on its first start), or the master key does not
            open this database's data; the message says what to do.
        PolicyError: A policy file (the access policy, or the single sign-on group
            mapping when single sign-on is configured) is invalid.
    """
    from flask import Flask
    from flask_wtf.csrf import CSRFProtect

    # Imported here, not at the top: every module of the package loads this file first,
    # and these import many of those modules (a cycle at the top).
    from webapp import blueprints, crypto, dates, db, integrity, web, worker
    from webapp.context import Services, Vault
    from webapp.settings import load_settings
    from webapp.storage import BlobStore

    config = dict(config or {})
    app = Flask(
        __name__,
        instance_path=config.get("INSTANCE_PATH"),
        instance_relative_config=True,
    )
    settings = load_settings(app.instance_path, config)
    ring = config.get("KEYRING") or crypto.KeyRing.from_env(_key_environment(settings))
    _configure(app, settings, config)

    engine = db.create_engine(settings.database_url)
    db.init_schema(engine)
    integrity.ensure_master_key(engine, ring)  # a wrong key stops here, with the reason
    integrity.register(engine, ring)
    store = BlobStore(Path(settings.storage_dir))
    removed = store.remove_stale_temp()
    if removed:
        logger.warning("removed %d temporary files left by an earlier crash", removed)

    transcriber = config.get("TRANSCRIBER")
    drafter = config.get("DRAFTER")
    svc = Services(
        settings=settings,
        engine=engine,
        policy=load_access_policy(settings.policy_file or None),
        vault=Vault(ring=ring, store=store),
        templates=config.get("TEMPLATES") or _load_templates(),
        transcriber_factory=(lambda: transcriber)
        if transcriber
        else _transcriber_factory(settings),
        drafter_factory=(lambda: drafter) if drafter else _drafter_factory(settings),
        group_map=_load_group_map(settings),
    )
    app.extensions["carenotes"] = svc

    CSRFProtect(app)
    web.init_app(app)
    dates.init_app(app)
    blueprints.register(app)
    if settings.run_worker:
        svc.worker = worker.start_worker(app)
    return app
