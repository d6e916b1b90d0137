"""The web app's settings: one object, built once by the app factory.

Every field can be set from the environment (``CARENOTES_<FIELD>``) or by the
``config`` mapping given to :func:`webapp.create_app` (same field names, upper case).
Secrets have no default: start-up stops with a message saying how to set them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from policies.errors import ConfigError

__all__ = ["Settings", "load_settings"]


@dataclass(frozen=True)
class Settings:
    """Everything the web app can be configured with.

    Attributes:
        secret_key: Signs session cookies and CSRF tokens. No default: set
            ``CARENOTES_SECRET_KEY`` to a long random string.
        database_url: SQLAlchemy URL. SQLite in the instance folder by default;
            PostgreSQL as ``postgresql+psycopg://user@host:5432/dbname``.
        storage_dir: Folder holding the encrypted audio blobs.
        max_content_length: Largest upload accepted, in bytes (default 500 MiB).
        session_idle_minutes: A session unused for this long is ended.
        session_absolute_hours: A session older than this is ended however busy.
        cookie_secure: Send the session cookie over HTTPS only. Leave on except
            for a developer's plain-HTTP test server.
        run_worker: Start the in-process background worker with the app.
        worker_poll_seconds: How often an idle worker looks for queued jobs.
        job_lease_seconds: How long a claimed job is reserved for its worker
            without a heartbeat; after that another worker may take it over.
        job_max_attempts: A job failing this many times stays failed.
        lockout_threshold: Failed sign-ins in a row before the account is locked.
        lockout_base_seconds: First lock length; each further failure doubles it.
        lockout_max_seconds: Longest lock.
        password_time_cost: argon2id passes.
        password_memory_kib: argon2id memory per hash, in KiB.
        transcribe_model: Whisper model for the background jobs: ``base``,
            ``tiny.en`` or a local model directory.
        transcribe_diarise: Label speakers in the background jobs.
        transcribe_batch_size: Whisper batch size for the background jobs; batched
            decoding is about twice as fast on a CPU (see docs/benchmarks.md), 0 decodes
            in order.
        llm_model: Language model file or directory for drafting, or a packaged
            model's name; empty uses the packaged default.
        draft_mode: ``"write"`` (the model writes the note, every sentence checked) or
            ``"extractive"`` (chosen sentences in reported speech, for the smallest
            machines and models).
        policy_file: Access policy TOML; empty uses ``policies/access.toml``.
        broker_url: Celery broker (``redis://host:6379/0`` or
            ``amqp://user:password@host:5672//``). Empty: jobs run in-process.
        transcribe_queue: The Celery queue transcription jobs are sent to
            (``transcribe``; e.g. ``transcribe-gpu`` for workers on a GPU server).
        draft_queue: The Celery queue drafting jobs are sent to (``draft``).
        dispatch_resend_seconds: A queued job whose task was sent this long ago
            without being started is sent again by the sweep (a lost message).
        metrics_token: Bearer token for ``/metrics`` from other machines; empty
            allows loopback only.
    """

    secret_key: str
    database_url: str
    storage_dir: str
    max_content_length: int = 500 * 1024 * 1024
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    cookie_secure: bool = True
    run_worker: bool = True
    worker_poll_seconds: float = 2.0
    job_lease_seconds: float = 120.0
    job_max_attempts: int = 3
    lockout_threshold: int = 5
    lockout_base_seconds: int = 60
    lockout_max_seconds: int = 3600
    password_time_cost: int = 3
    password_memory_kib: int = 65536
    transcribe_model: str = "base"
    transcribe_diarise: bool = True
    transcribe_batch_size: int = 8
    llm_model: str = ""
    draft_mode: str = "write"
    policy_file: str = ""
    broker_url: str = ""
    transcribe_queue: str = "transcribe"
    draft_queue: str = "draft"
    dispatch_resend_seconds: float = 900.0
    metrics_token: str = ""


_MISSING_SETTINGS_HELP = (
    "CARENOTES_SECRET_KEY is not set. Generate one with\n"
    "  python -c 'import secrets; print(secrets.token_urlsafe(48))'\n"
    "and export it (or put it in the service's environment file). Also set the master "
    "key that encrypts case content: run `carenotes keys generate` and export the "
    "result as CARENOTES_MASTER_KEY, or save it in a file readable only by the service "
    "and set CARENOTES_MASTER_KEY_FILE to that file's path."
)


def _coerce(name: str, raw: Any, default: Any) -> Any:
    if isinstance(default, bool):
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"Setting {name} must be true or false, not {raw!r}.")
    if isinstance(default, int):
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"Setting {name} must be a whole number, not {raw!r}.") from None
    if isinstance(default, float):
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"Setting {name} must be a number, not {raw!r}.") from None
    return str(raw)


def load_settings(instance_path: str | Path, config: Mapping[str, Any] | None = None) -> Settings:
    """Build the settings from ``config`` first, then the environment, then defaults.

    Args:
        instance_path: The Flask instance folder (default home of the database and
            the storage folder).
        config: Overrides, by upper-case field name (e.g. ``{"DATABASE_URL": ...}``).

    Returns:
        The settings.

    Raises:
        ConfigError: The secret key is missing, or a value has the wrong type.
    """
    config = dict(config or {})
    instance = Path(instance_path)
    defaults: dict[str, Any] = {
        "database_url": f"sqlite:///{instance / 'carenotes.db'}",
        "storage_dir": str(instance / "storage"),
    }
    values: dict[str, Any] = {}
    for f in fields(Settings):
        key = f.name.upper()
        if key in config:
            raw = config[key]
        elif f"CARENOTES_{key}" in os.environ:
            raw = os.environ[f"CARENOTES_{key}"]
        elif f.name in defaults:
            raw = defaults[f.name]
        elif f.name == "secret_key":
            raise ConfigError(_MISSING_SETTINGS_HELP)
        else:
            continue
        default = f.default if f.name not in ("secret_key", "database_url", "storage_dir") else ""
        values[f.name] = _coerce(key, raw, default)
    if len(values["secret_key"]) < 16:
        raise ConfigError(
            "CARENOTES_SECRET_KEY is too short (16 characters at least). " + _MISSING_SETTINGS_HELP
        )
    if "CELERY_QUEUE" in config or "CARENOTES_CELERY_QUEUE" in os.environ:
        raise ConfigError(
            "CARENOTES_CELERY_QUEUE is no longer used: transcription and drafting have "
            "their own queues. Set CARENOTES_TRANSCRIBE_QUEUE (default transcribe) and "
            "CARENOTES_DRAFT_QUEUE (default draft) instead, and remove it."
        )
    for name in ("transcribe_queue", "draft_queue"):
        if name in values and not values[name].strip():
            raise ConfigError(f"Setting {name.upper()} must name a queue, not be empty.")
    if values.get("draft_mode", "write") not in ("write", "extractive"):
        raise ConfigError("Setting DRAFT_MODE must be write or extractive.")
    if values.get("max_content_length", 1) < 1:
        raise ConfigError("MAX_CONTENT_LENGTH must be a positive number of bytes.")
    return Settings(**values)
