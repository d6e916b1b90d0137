"""Uploads that used to be accepted but must not be: a recording with no sound, an
endless list of participants, a visit date that is not a calendar date."""

from __future__ import annotations

import io
import wave

import pytest
import sqlalchemy as sa

from webapp import db


def _post(browser, audio: bytes, name: str, **form):
    from tests.webapp.conftest import upload_form

    data = upload_form(**form)
    data["audio"] = (io.BytesIO(audio), name)
    return browser.client.post(
        "/recordings",
        data={**data, "csrf_token": browser.token},
        headers={"Accept": "application/json"},
        content_type="multipart/form-data",
    )


def _silent_wav(frames: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\x00\x00" * frames)
    return buffer.getvalue()


def _stored(svc) -> int:
    with svc.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(db.recordings)).scalar_one()


def test_a_header_only_wav_of_no_seconds_is_refused_with_the_reason(svc, login_as):
    worker = login_as("social_worker")
    response = _post(worker, _silent_wav(0), "empty.wav")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert "holds no sound" in response.get_json()["error"]
    assert _stored(svc) == 0
    assert not list((svc.vault.store.root / "blobs").iterdir())


def test_a_short_but_real_wav_is_still_taken(svc, login_as):
    worker = login_as("social_worker")
    response = _post(worker, _silent_wav(16000), "one-second.wav")
    assert response.status_code == 201, response.get_data(as_text=True)


@pytest.mark.parametrize(
    "names, roles",
    [
        (["Person"] * 31, ["Role"] * 31),
        (["x" * 400_000, "Mrs P"], ["Social worker", "Person"]),
        (["Sam", "Mrs P"], ["Social worker", "r" * 81]),
        (["Person"] * 100, ["Role"] * 100),
    ],
    ids=["31 people", "a 400 KB name", "an over-long role", "100 people"],
)
def test_participants_are_limited_in_number_and_length(svc, login_as, data_dir, names, roles):
    worker = login_as("social_worker")
    form = {
        "participant_name": names,
        "participant_role": roles,
        "participant_consent": [str(i) for i in range(len(names))],
    }
    response = _post(worker, (data_dir / "jfk.flac").read_bytes(), "jfk.flac", **form)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert "at most" in response.get_json()["error"]
    assert _stored(svc) == 0


@pytest.mark.parametrize(
    "visit_date", ["2026W113", "2026-W11-3", "20260314", "2026-073", "14/03/2026"]
)
def test_only_a_calendar_date_is_taken_as_the_visit_date(svc, login_as, data_dir, visit_date):
    worker = login_as("social_worker")
    response = _post(
        worker, (data_dir / "jfk.flac").read_bytes(), "jfk.flac", visit_date=visit_date
    )
    assert response.status_code == 400, response.get_data(as_text=True)
    assert "2026-03-14" in response.get_json()["error"]
    assert _stored(svc) == 0
