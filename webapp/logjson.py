"""Structured logs: one JSON object a line, for a log collector.

Only what the code logged goes out (the project logs ids, never case content),
plus the time, level, logger, process id and, where the record has them, the
exception type and traceback.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from webapp.settings import read_setting

__all__ = ["JsonFormatter", "configure_json_logging"]


class JsonFormatter(logging.Formatter):
    """Formats a log record as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
            "msg": record.getMessage(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            entry["exc_type"] = record.exc_info[0].__name__
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_json_logging(level: str | None = None) -> None:
    """Send every log record to standard error as JSON (level from ``CARENOTES_LOG_LEVEL``)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel((level or read_setting("log_level")).upper())
    # Alembic and Celery are chatty at INFO about their own machinery.
    logging.getLogger("alembic").setLevel(logging.WARNING)
