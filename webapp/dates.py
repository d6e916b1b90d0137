"""Dates and times as people write them: "1 December 2026", "1 December 2026 at 14:05".

The database keeps UTC; people read the council's time zone (UK time by default, see
:func:`webapp.db.display_zone`).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from webapp.db import as_utc, display_zone

__all__ = ["init_app", "written_date", "written_time", "zone_name"]


def zone_name() -> str:
    """What people call the time zone times are shown in ("UK time" for Europe/London)."""
    zone = display_zone().key
    return "UK time" if zone == "Europe/London" else zone


def written_date(value: date | datetime | str | None) -> str:
    """A date as people write it: ``1 December 2026``.

    Args:
        value: A date, a datetime (naive ones are UTC; shown in the display zone), or an
            ISO 8601 string of either; ``None`` or ``""`` gives ``""``.

    Returns:
        Day without a leading zero, month in words, year. A string that is not a date is
        returned as it came.
    """
    if value is None or value == "":
        return ""
    day: date | datetime
    if isinstance(value, str):
        try:
            day = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            return value
    else:
        day = value
    if isinstance(day, datetime):
        day = day.replace(tzinfo=day.tzinfo or UTC).astimezone(display_zone()).date()
    return f"{day.day} {day:%B %Y}"


def written_time(value: datetime | str | None, seconds: bool = False) -> str:
    """A moment as people write it, in the display zone: ``1 December 2026 at 14:05``.

    Args:
        value: A datetime (naive ones are UTC) or an ISO 8601 string; ``None`` or ``""``
            gives ``""``.
        seconds: Give the seconds too (``14:05:09``), as the audit trail does.
    """
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    at = as_utc(value)
    if at is None:
        return ""
    local = at.astimezone(display_zone())
    clock = f"{local:%H:%M:%S}" if seconds else f"{local:%H:%M}"
    return f"{local.day} {local:%B %Y} at {clock}"


def init_app(app: Any) -> None:
    """Give the templates ``written_date``, ``written_time`` and ``zone_name``."""
    app.add_template_filter(written_date, "written_date")
    app.add_template_filter(written_time, "written_time")
    app.add_template_global(zone_name, "zone_name")
