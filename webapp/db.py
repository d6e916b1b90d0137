"""Database tables (SQLAlchemy Core) and the engine, for SQLite and PostgreSQL.

Case content never sits in a column as plain text: the ``*_enc`` columns hold
AES-256-GCM blobs made by :mod:`webapp.crypto`, bound to their record and field.
"""

from __future__ import annotations

import functools
import logging
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import event

from webapp import audit
from webapp.migrate import migrate
from webapp.settings import read_setting

__all__ = [
    "addenda",
    "api_token_teams",
    "api_tokens",
    "app_state",
    "audit_log",
    "create_engine",
    "init_schema",
    "jobs",
    "legal_holds",
    "metadata",
    "note_imports",
    "note_versions",
    "notes",
    "quality_samples",
    "recordings",
    "sessions",
    "teams",
    "user_teams",
    "users",
    "utcnow",
]

logger = logging.getLogger(__name__)

metadata = sa.MetaData()


def utcnow() -> datetime:
    """The current time in UTC, timezone-aware."""
    return datetime.now(UTC)


_ts = sa.DateTime(timezone=True)

teams = sa.Table(
    "teams",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(120), nullable=False, unique=True),
    sa.Column("created_at", _ts, nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(120), nullable=False, unique=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("password_hash", sa.String(300), nullable=False),
    sa.Column("role", sa.String(40), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("failed_logins", sa.Integer, nullable=False, default=0),
    sa.Column("locked_until", _ts, nullable=True),
    sa.Column("created_at", _ts, nullable=False),
    # Set for the first administrator and by an administrator (revision 0009): the
    # user must choose a new password before any other page opens.
    sa.Column(
        "must_change_password",
        sa.Boolean,
        nullable=False,
        default=False,
        server_default=sa.false(),
    ),
    # The single sign-on identity (revision 0011): the provider's issuer and the
    # person's subject there, which never changes when their name or email does.
    sa.Column("oidc_issuer", sa.String(300), nullable=True),
    sa.Column("oidc_subject", sa.String(255), nullable=True),
    sa.Index("ix_users_oidc_identity", "oidc_issuer", "oidc_subject", unique=True),
)


def _team_link(name: str, owner_column: str, owner_table: str) -> sa.Table:
    """A table linking each row of ``owner_table`` to its teams, gone when either goes."""
    return sa.Table(
        name,
        metadata,
        sa.Column(
            owner_column,
            sa.ForeignKey(f"{owner_table}.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("team_id", sa.ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    )


user_teams = _team_link("user_teams", "user_id", "users")

# Server-side sessions: the cookie carries only a random token; its sha256 is the key.
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("last_seen_at", _ts, nullable=False),
    sa.Column("revoked_at", _ts, nullable=True),
)

recordings = sa.Table(
    "recordings",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("team_id", sa.ForeignKey("teams.id"), nullable=False, index=True),
    sa.Column("owner_id", sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("visit_type", sa.String(80), nullable=False),
    sa.Column("visit_date", sa.String(10), nullable=False),
    sa.Column("case_ref_enc", sa.LargeBinary, nullable=False),
    sa.Column("participants_enc", sa.LargeBinary, nullable=False),
    sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
    sa.Column("audio_blob", sa.String(64), nullable=True),
    sa.Column("audio_type", sa.String(40), nullable=False),
    sa.Column("audio_bytes", sa.BigInteger, nullable=False),
    sa.Column("duration_s", sa.Float, nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("audio_deleted_at", _ts, nullable=True),
    # The transcript between the transcription and drafting jobs (revision 0004),
    # sealed with the recording's key; cleared when the note is written.
    sa.Column("transcript_enc", sa.LargeBinary, nullable=True),
    # The language spoken (revision 0012): Whisper's code, "auto" to detect it, NULL
    # for English, and the one found when detected; whether an interpreter was
    # present, and their name, sealed.
    sa.Column("visit_language", sa.String(16), nullable=True),
    sa.Column("detected_language", sa.String(16), nullable=True),
    sa.Column("interpreter_present", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("interpreter_name_enc", sa.LargeBinary, nullable=True),
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("recording_id", sa.ForeignKey("recordings.id"), nullable=False, index=True),
    sa.Column("state", sa.String(20), nullable=False, index=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("worker_id", sa.String(80), nullable=True),
    sa.Column("lease_until", _ts, nullable=True),
    sa.Column("heartbeat_at", _ts, nullable=True),
    sa.Column("stage", sa.String(40), nullable=False, default="queued"),
    sa.Column("progress", sa.Float, nullable=False, default=0.0),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("started_at", _ts, nullable=True),
    sa.Column("finished_at", _ts, nullable=True),
    # When a Celery task was last sent for the job (revision 0002); NULL when none was.
    sa.Column("dispatched_at", _ts, nullable=True),
    # ``transcribe`` or ``draft`` (revision 0004): which stage the job runs, and so
    # which queue its Celery message goes to.
    sa.Column("kind", sa.String(20), nullable=False, server_default="transcribe", index=True),
)

# One note per recording. ``work_enc`` is the reviewer's working state (statement
# texts and resolutions, sections reviewed, speaker names); ``version`` rises with
# every change so that racing changes are detected.
notes = sa.Table(
    "notes",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("recording_id", sa.ForeignKey("recordings.id"), nullable=False, unique=True),
    sa.Column("transcript_enc", sa.LargeBinary, nullable=False),
    sa.Column("draft_enc", sa.LargeBinary, nullable=False),
    sa.Column("work_enc", sa.LargeBinary, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("updated_at", _ts, nullable=False),
    sa.Column("approved_by", sa.ForeignKey("users.id"), nullable=True),
    sa.Column("approved_at", _ts, nullable=True),
    sa.Column("approved_sha256", sa.String(64), nullable=True),
    sa.Column("approved_text_enc", sa.LargeBinary, nullable=True),
    # The access policy's version when the note was drafted (revision 0003).
    sa.Column("policy_version", sa.String(40), nullable=True),
    # Counts and shares of how much of the AI draft was kept, stored at approval for
    # the team dashboard; no text (revision 0005).
    sa.Column("review_figures", sa.JSON(none_as_null=True), nullable=True),
)

note_versions = sa.Table(
    "note_versions",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("note_id", sa.ForeignKey("notes.id"), nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("target", sa.String(80), nullable=True),
    sa.Column("actor_id", sa.ForeignKey("users.id"), nullable=False),
    sa.Column("at", _ts, nullable=False),
    sa.Column("before_enc", sa.LargeBinary, nullable=True),
    sa.Column("after_enc", sa.LargeBinary, nullable=True),
    sa.UniqueConstraint("note_id", "version", name="uq_note_versions_note_version"),
)

addenda = sa.Table(
    "addenda",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("note_id", sa.ForeignKey("notes.id"), nullable=False, index=True),
    sa.Column("author_id", sa.ForeignKey("users.id"), nullable=False),
    sa.Column("at", _ts, nullable=False),
    sa.Column("text_enc", sa.LargeBinary, nullable=False),
)

# A legal hold pauses every deletion for a case reference (revision 0003). The case
# reference is sealed under the hold's own data key, like a recording's.
legal_holds = sa.Table(
    "legal_holds",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("case_ref_enc", sa.LargeBinary, nullable=False),
    sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
    sa.Column("set_by", sa.ForeignKey("users.id"), nullable=False),
    sa.Column("set_at", _ts, nullable=False),
    sa.Column("cleared_by", sa.ForeignKey("users.id"), nullable=True),
    sa.Column("cleared_at", _ts, nullable=True),
    # The team whose case is held (revision 0007): only that team sees and lifts it.
    # NULL for holds placed before, which only information governance sees.
    sa.Column("team_id", sa.ForeignKey("teams.id"), nullable=True, index=True),
)

# Approved notes drawn for a manager's second read, and its outcome (revision 0003).
quality_samples = sa.Table(
    "quality_samples",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("note_id", sa.ForeignKey("notes.id"), nullable=False, index=True),
    sa.Column("manager_id", sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column("drawn_at", _ts, nullable=False),
    sa.Column("outcome", sa.String(20), nullable=True),
    sa.Column("comment_enc", sa.LargeBinary, nullable=True),
    sa.Column("reviewed_at", _ts, nullable=True),
)

audit_log = audit.audit_table(metadata)

# Small signed values kept outside the audit trail (revision 0008): the master key's
# check value and the audit trail's checkpoint (see webapp.integrity).
app_state = sa.Table(
    "app_state",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("updated_at", _ts, nullable=False),
)


# Tokens a case-management system uses to read approved notes through the API
# (revision 0010). Only the SHA-256 of a token is kept; ``prefix`` is its public part,
# for telling tokens apart. ``rate_window`` and ``rate_count`` hold the current
# rate-limit window (its number since the epoch) and the calls made in it.
api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("prefix", sa.String(16), nullable=False, unique=True),
    sa.Column("token_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("can_mark_imported", sa.Boolean, nullable=False),
    sa.Column("created_by", sa.ForeignKey("users.id"), nullable=True),
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("expires_at", _ts, nullable=True),
    sa.Column("revoked_at", _ts, nullable=True),
    sa.Column("revoked_by", sa.ForeignKey("users.id"), nullable=True),
    sa.Column("last_used_at", _ts, nullable=True),
    sa.Column("rate_window", sa.BigInteger, nullable=False, default=0),
    sa.Column("rate_count", sa.Integer, nullable=False, default=0),
)

api_token_teams = _team_link("api_token_teams", "token_id", "api_tokens")

# An approved note taken into a case-management system (revision 0010): when, by
# which token, and the other system's reference for it, sealed with the recording's
# data key like the note itself.
note_imports = sa.Table(
    "note_imports",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("note_id", sa.ForeignKey("notes.id"), nullable=False, unique=True),
    sa.Column("token_id", sa.ForeignKey("api_tokens.id"), nullable=False),
    sa.Column("imported_at", _ts, nullable=False),
    sa.Column("system", sa.String(40), nullable=False),
    sa.Column("reference_enc", sa.LargeBinary, nullable=False),
)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Take over transaction control from the driver so that every transaction can
    # start with BEGIN IMMEDIATE (below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    # A deferred transaction that reads and then writes fails outright when another
    # connection wrote in between; taking the write lock up front makes it wait
    # (busy_timeout) instead, so read-check-update sequences are serialised.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str) -> sa.Engine:
    """Return an engine for ``url``, with SQLite made safe for several threads.

    Args:
        url: A SQLAlchemy URL (``sqlite:///path`` or ``postgresql+psycopg://...``).
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def init_schema(engine: sa.Engine) -> None:
    """Bring the schema to the newest migration (idempotent; see :mod:`webapp.migrate`)."""
    migrate(engine)
    logger.info("database schema ready")


@functools.cache
def display_zone() -> ZoneInfo:
    """The time zone people read times in (the database keeps UTC).

    The ``timezone`` setting (``CARENOTES_TIMEZONE``, UK time by default), read once,
    when first needed.
    """
    return ZoneInfo(read_setting("timezone"))


def shown_time(value: datetime | str | None, fmt: str = "%d %b %Y %H:%M") -> str:
    """A stored time as people read it: in the council's time zone (UK time by default).

    Args:
        value: A datetime (naive ones are UTC) or an ISO 8601 string; ``None`` gives "".
        fmt: ``strftime`` format.
    """
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    at = as_utc(value)
    return at.astimezone(display_zone()).strftime(fmt) if at else ""


def local_today() -> date:
    """Today's date in the council's time zone (UTC's differs just after midnight in summer)."""
    return datetime.now(display_zone()).date()


def as_utc(value: datetime | None) -> datetime | None:
    """Return ``value`` as an aware UTC datetime (SQLite gives naive ones back)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
