"""Times are stored in UTC and shown in UK time."""

from __future__ import annotations

from datetime import UTC, datetime

from webapp.db import shown_time


def test_a_summer_time_is_shown_in_british_summer_time_and_a_winter_one_in_gmt():
    assert shown_time(datetime(2026, 7, 1, 23, 30, tzinfo=UTC)) == "02 Jul 2026 00:30"
    assert shown_time(datetime(2026, 12, 1, 23, 30, tzinfo=UTC)) == "01 Dec 2026 23:30"


def test_naive_times_and_iso_strings_from_the_database_are_read_as_utc():
    naive = datetime(2026, 7, 1, 12, 0)  # noqa: DTZ001 - as SQLite gives them back
    assert shown_time(naive) == "01 Jul 2026 13:00"
    assert shown_time("2026-07-01T12:00:00.123456+00:00", "%H:%M:%S") == "13:00:00"
    assert shown_time(None) == "" and shown_time("") == ""
