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


def test_dates_and_times_are_written_as_people_write_them_in_uk_time():
    from webapp.dates import written_date, written_time

    assert written_date("2026-12-01") == "1 December 2026"
    assert written_date(datetime(2026, 6, 30, 23, 30, tzinfo=UTC)) == "1 July 2026"  # BST
    assert written_time(datetime(2026, 7, 1, 8, 5, tzinfo=UTC)) == "1 July 2026 at 09:05"
    assert written_time("2026-12-01T14:05:09+00:00", seconds=True) == (
        "1 December 2026 at 14:05:09"
    )
    assert written_date("not a date") == "not a date" and written_time(None) == ""


def test_the_pages_show_visit_dates_in_words_and_times_in_uk_time_never_utc(
    drafted, login_as, svc, state
):
    import re

    worker, recording_id = drafted
    version = state(svc, recording_id)[0]
    edited = worker.post_json(
        f"/notes/{recording_id}/speakers",
        {"label": "SPEAKER_2", "name": "Mrs P", "version": version},
    )
    assert edited.status_code == 200
    note_page = worker.get(f"/notes/{recording_id}").get_data(as_text=True)
    assert "visit on 14 March 2026" in note_page
    assert "UTC" not in note_page and "When (UK time)" in note_page
    assert re.search(r"<td>\d{1,2} [A-Z][a-z]+ \d{4} at \d\d:\d\d</td>", note_page)
    assert "14 March 2026" in worker.get("/recordings").get_data(as_text=True)

    manager = login_as("manager")
    audit_page = manager.get("/oversight/audit").get_data(as_text=True)
    assert "When (UK time)" in audit_page and "UTC" not in audit_page
    assert re.search(r"<td>\d{1,2} [A-Z][a-z]+ \d{4} at \d\d:\d\d:\d\d</td>", audit_page)
    review_page = manager.get(f"/oversight/notes/{recording_id}").get_data(as_text=True)
    assert "UTC" not in review_page and "visit on 14 March 2026" in review_page
    first_opened = re.search(r"<dt>First opened</dt><dd>([^<]*)</dd>", review_page)
    assert first_opened and first_opened.group(1).endswith("(UK time)")
