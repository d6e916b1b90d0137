"""The web app's settings: one object, built once by the app factory.

Every field can be set from the environment (``CARENOTES_<FIELD>``) or by the
``config`` mapping given to :func:`webapp.create_app` (same field names, upper case).
Secrets have no default. An embedded installation (SQLite, not ``CARENOTES_ENV=production``)
makes its own on the first start and keeps them in files outside the data folder (see
:mod:`webapp.local_secrets`); a production one stops with a message saying how to set
them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any

from policies import ConfigError
from webapp.keys import ENV_KEY
from webapp.local_secrets import default_config_dir, ensure_local_secrets, first_start_message

logger = logging.getLogger(__name__)

__all__ = ["Settings", "load_settings", "read_setting"]


@dataclass(frozen=True)
class Settings:
    """Everything the web app can be configured with.

    Attributes:
        secret_key: Signs session cookies and CSRF tokens. No default: set
            ``CARENOTES_SECRET_KEY`` to a long random string. An embedded installation
            reads it from ``secret_key`` in :attr:`config_dir`, made on the first start.
        database_url: SQLAlchemy URL. ``carenotes.db`` in :attr:`data_dir` by default;
            PostgreSQL as ``postgresql+psycopg://user@host:5432/dbname``.
        storage_dir: Folder holding the encrypted audio blobs (``storage`` in
            :attr:`data_dir` by default).
        env: ``"embedded"`` (the default: one machine, secrets made on the first start
            when none are given) or ``"production"`` (every secret must be given; start-up
            stops, saying how, when one is missing). A server database (anything but
            SQLite) is treated as production.
        data_dir: The data folder: the database and the recordings unless
            :attr:`database_url` or :attr:`storage_dir` say otherwise. The Flask
            instance folder by default (``instance/`` in a checkout); ``carenotes serve
            --data DIR`` chooses another.
        config_dir: Where an embedded installation keeps the secrets it made:
            ``$XDG_CONFIG_HOME/carenotes``, else ``~/.config/carenotes``. Never inside
            :attr:`data_dir`, so a backup of the data does not carry its key.
        master_key_file: File holding the master key (``CARENOTES_MASTER_KEY_FILE``);
            empty when ``CARENOTES_MASTER_KEY`` holds the key itself. An embedded
            installation with neither uses ``master.key`` in :attr:`config_dir`.
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
        transcribe_voice_model: The voice model that tells speakers apart:
            ``campplus`` (the default) or ``resemblyzer`` (faster on a CPU).
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
        api_rate_limit: Calls one API token may make in each rate-limit window; more
            are answered 429 with ``Retry-After``.
        api_rate_window_seconds: Length of the API's fixed rate-limit window.
        password_sign_in: Whether people may sign in with a local password. Turning it
            off needs single sign-on (:attr:`oidc_issuer`); approval still asks a
            password holder for their password.
        oidc_issuer: The OpenID Connect provider's issuer URL, e.g.
            ``https://login.microsoftonline.com/<tenant id>/v2.0`` for Entra ID; its
            settings are read from ``<issuer>/.well-known/openid-configuration``.
            Empty: no single sign-on.
        oidc_client_id: The client (application) id carenotes is registered under.
        oidc_client_secret: The client secret from that registration. No default:
            needed whenever :attr:`oidc_issuer` is set.
        oidc_redirect_uri: The callback address registered with the provider,
            ``https://<host>/auth/sso/callback``; empty builds it from the request
            (set it behind a proxy that rewrites the host).
        oidc_scopes: Scopes asked for, space separated (``openid`` is needed).
        oidc_groups_claim: The claim that carries the person's groups (``groups``; or
            ``roles`` for Entra ID app roles).
        oidc_username_claim: The claim used as the username, and to find an existing
            local account the first time someone signs in (``preferred_username``).
        oidc_create_users: Create an account at first sign-in for someone with no
            matching one (else they are refused until an administrator adds them).
        oidc_group_map_file: The group-to-role-and-team mapping TOML; empty uses
            ``$CARENOTES_POLICY_DIR/sso.toml`` or the packaged ``policies/sso.toml``.
        timezone: The IANA time zone people read times in (the database keeps UTC):
            ``Europe/London`` (UK time), or e.g. ``Europe/Dublin``. One per process:
            :func:`webapp.db.display_zone` reads it once, from the environment.
        log_level: The level of the JSON logs of workers and the sweep (``INFO`` or
            ``WARNING``).
        model_factory: ``package.module:function`` returning app config overrides
            (``{"TRANSCRIBER": ..., "DRAFTER": ...}``) for the Celery workers, to plug in
            other model objects; empty loads the configured models.
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
    transcribe_voice_model: str = "campplus"
    transcribe_batch_size: int = 8
    llm_model: str = ""
    draft_mode: str = "write"
    policy_file: str = ""
    broker_url: str = ""
    transcribe_queue: str = "transcribe"
    draft_queue: str = "draft"
    dispatch_resend_seconds: float = 900.0
    metrics_token: str = ""
    api_rate_limit: int = 120
    api_rate_window_seconds: int = 60
    password_sign_in: bool = True
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_redirect_uri: str = ""
    oidc_scopes: str = "openid profile email"
    oidc_groups_claim: str = "groups"
    oidc_username_claim: str = "preferred_username"
    oidc_create_users: bool = True
    oidc_group_map_file: str = ""
    env: str = "embedded"
    data_dir: str = ""
    config_dir: str = ""
    master_key_file: str = ""
    timezone: str = "Europe/London"
    log_level: str = "INFO"
    model_factory: str = ""

    def transcribe_options(self) -> Any:
        """The transcription options the background jobs use (a ``TranscribeOptions``)."""
        # The transcription package loads PyAV, NumPy and SciPy on import (over a
        # second): only a process that transcribes or checks an upload's length needs it.
        from transcribe import TranscribeOptions

        return TranscribeOptions(
            model=self.transcribe_model,
            diarise=self.transcribe_diarise,
            voice_model=self.transcribe_voice_model,
            batch_size=self.transcribe_batch_size,
        )


_MASTER_KEY_HELP = (
    "Run `carenotes keys generate` and export the result as CARENOTES_MASTER_KEY, or "
    "save it in a file readable only by the service and set CARENOTES_MASTER_KEY_FILE "
    "to that file's path. Keep it outside the database and its backups."
)
_MISSING_SETTINGS_HELP = (
    "CARENOTES_SECRET_KEY is not set, and a production installation does not make its own "
    "secrets. Generate one with\n"
    "  python -c 'import secrets; print(secrets.token_urlsafe(48))'\n"
    "and export it (or put it in the service's environment file). Also set the master "
    "key that encrypts case content. " + _MASTER_KEY_HELP
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
    if isinstance(default, int | float):
        kind, words = (int, "a whole number") if isinstance(default, int) else (float, "a number")
        try:
            return kind(raw)
        except (TypeError, ValueError):
            raise ConfigError(f"Setting {name} must be {words}, not {raw!r}.") from None
    return str(raw)


def _raw(key: str, config: Mapping[str, Any]) -> Any:
    """The value given for ``key`` in ``config`` or the environment, else ``None``."""
    if key in config:
        return config[key]
    return os.environ.get(f"CARENOTES_{key}")


def read_setting(name: str) -> Any:
    """One setting, read as :func:`load_settings` reads it, before any app is built.

    For what must be known first: the Celery worker module's broker and queue (Celery
    reads them as the module loads), the queues ``carenotes worker --celery`` serves,
    the log level and the time zone. It comes from the environment
    (``CARENOTES_<NAME>``), else the field's default, checked like every setting.

    Args:
        name: A :class:`Settings` field name, e.g. ``"broker_url"``.

    Raises:
        ConfigError: The value has the wrong type.
    """
    field = next(f for f in fields(Settings) if f.name == name)
    default = "" if field.default is MISSING else field.default
    raw = _raw(name.upper(), {})
    return default if raw is None else _coerce(name.upper(), raw, default)


def _default_config_dir() -> Path:
    return default_config_dir()


def _fill_secrets(values: dict[str, Any], config: Mapping[str, Any]) -> None:
    """Make or read an embedded installation's missing secrets; refuse production's."""
    need_secret_key = "secret_key" not in values
    need_master_key = not (
        "KEYRING" in config or values.get("master_key_file") or os.environ.get(ENV_KEY, "").strip()
    )
    if not (need_secret_key or need_master_key):
        return
    embedded = values["env"] == "embedded" and values["database_url"].startswith("sqlite")
    if not embedded:
        raise ConfigError(
            _MISSING_SETTINGS_HELP
            if need_secret_key
            else "No master key is set, and a production installation does not make its own. "
            + _MASTER_KEY_HELP
        )
    made = ensure_local_secrets(
        Path(values["config_dir"]),
        Path(values["data_dir"]),
        secret_key=need_secret_key,
        master_key=need_master_key,
    )
    if need_secret_key:
        values["secret_key"] = made.read_secret_key()
    if need_master_key:
        values["master_key_file"] = str(made.master_key_file)
    if made.created:
        logger.warning(first_start_message(made))


def load_settings(instance_path: str | Path, config: Mapping[str, Any] | None = None) -> Settings:
    """Build the settings from ``config`` first, then the environment, then defaults.

    An embedded installation given no secret key or no master key has them made (on the
    first start) or read (later) from files in :attr:`Settings.config_dir`; the first
    start logs, once, where they are and what to back up.

    Args:
        instance_path: The Flask instance folder (the default data folder).
        config: Overrides, by upper-case field name (e.g. ``{"DATABASE_URL": ...}``).
            ``KEYRING`` there counts as a given master key.

    Returns:
        The settings.

    Raises:
        ConfigError: A production installation lacks a secret, or a value has the
            wrong type.
    """
    config = dict(config or {})
    raw_values = {
        f.name: _raw(f.name.upper(), config) for f in fields(Settings) if f.name != "secret_key"
    }
    data_dir = Path(raw_values["data_dir"] or instance_path).expanduser().absolute()
    defaults: dict[str, Any] = {
        "database_url": f"sqlite:///{data_dir / 'carenotes.db'}",
        "storage_dir": str(data_dir / "storage"),
        "data_dir": str(data_dir),
        "config_dir": str(_default_config_dir()),
    }
    values: dict[str, Any] = {}
    for f in fields(Settings):
        key = f.name.upper()
        raw = _raw(key, config) if f.name == "secret_key" else raw_values[f.name]
        if raw is None:
            raw = defaults.get(f.name)
        if raw is None:
            continue
        default = "" if f.default is MISSING else f.default
        values[f.name] = _coerce(key, raw, default)
    values["env"] = values.get("env", Settings.env).strip().lower()
    if values["env"] not in ("embedded", "production"):
        raise ConfigError(f"CARENOTES_ENV must be embedded or production, not {values['env']!r}.")
    _fill_secrets(values, config)
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
    _refuse_empty(values, ("transcribe_queue", "draft_queue"), "a queue")
    if values.get("draft_mode", "write") not in ("write", "extractive"):
        raise ConfigError("Setting DRAFT_MODE must be write or extractive.")
    if values.get("transcribe_voice_model", "campplus") not in ("campplus", "resemblyzer"):
        raise ConfigError("Setting TRANSCRIBE_VOICE_MODEL must be campplus or resemblyzer.")
    for name in ("api_rate_limit", "api_rate_window_seconds"):
        if not 1 <= values.get(name, 1) <= 1_000_000:
            raise ConfigError(f"Setting {name.upper()} must be a whole number from 1 to 1000000.")
    if values.get("max_content_length", 1) < 1:
        raise ConfigError("MAX_CONTENT_LENGTH must be a positive number of bytes.")
    _check_single_sign_on(values)
    return Settings(**values)


def _check_single_sign_on(values: dict[str, Any]) -> None:
    """Refuse single sign-on settings that cannot work, saying which to set."""
    issuer = values.get("oidc_issuer", "").strip().rstrip("/")
    values["oidc_issuer"] = issuer
    if not issuer:
        if not values.get("password_sign_in", True):
            raise ConfigError(
                "CARENOTES_PASSWORD_SIGN_IN is off but single sign-on is not configured, so "
                "nobody could sign in. Set CARENOTES_OIDC_ISSUER (see docs/deployment.md) "
                "or turn password sign-in back on."
            )
        return
    if not issuer.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise ConfigError(f"CARENOTES_OIDC_ISSUER must be an https:// address, not {issuer!r}.")
    for name in ("oidc_client_id", "oidc_client_secret"):
        if not values.get(name, "").strip():
            raise ConfigError(
                f"CARENOTES_OIDC_ISSUER is set but CARENOTES_{name.upper()} is not. Copy it "
                "from the provider's app registration (see docs/deployment.md)."
            )
    if "openid" not in values.get("oidc_scopes", Settings.oidc_scopes).split():
        raise ConfigError("CARENOTES_OIDC_SCOPES must include openid.")
    _refuse_empty(values, ("oidc_groups_claim", "oidc_username_claim"), "a claim")


def _refuse_empty(values: dict[str, Any], names: tuple[str, ...], what: str) -> None:
    """Refuse a setting among ``names`` that is given but blank; it must name ``what``."""
    for name in names:
        if name in values and not values[name].strip():
            raise ConfigError(f"Setting {name.upper()} must name {what}, not be empty.")
