"""Control characters (a vertical tab, NUL, form feed...) never reach an export or the
database: they are taken out of what people type, and out of every export again."""

from __future__ import annotations

import io
import zipfile

import pytest
import sqlalchemy as sa

from webapp import db
from webapp.text import clean

CONTROL = "Mrs P\x0bsaid\x00 she\x0cis well\x01 today."
BAD = ("\x00", "\x01", "\x0b", "\x0c")


def _poison(svc, state, recording_id):
    """Put control characters into the stored note, as a note saved before the check."""
    _, work, _, note = state(svc, recording_id)
    with svc.engine.connect() as conn:
        rec = conn.execute(sa.select(db.recordings).where(db.recordings.c.id == recording_id)).one()
    key = svc.vault.data_key(rec.id, rec.wrapped_key)
    first = next(iter(work["items"]))
    work["items"][first]["text"] = CONTROL
    with svc.engine.begin() as conn:
        conn.execute(
            sa.update(db.notes)
            .where(db.notes.c.id == note.id)
            .values(work_enc=svc.vault.seal(key, "note", note.id, "work", work))
        )


def _approve(svc, recording_id, login_as, resolve_all, web):
    approver = login_as("practitioner")
    version = resolve_all(approver, svc, recording_id)
    response = approver.post_json(
        f"/notes/{recording_id}/approve", {"password": web.PASSWORD, "version": version}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return approver


def test_clean_keeps_line_breaks_and_tabs_and_drops_what_xml_cannot_hold():
    assert clean("a\tb\nc\r\nd") == "a\tb\nc\r\nd"
    assert clean(CONTROL) == "Mrs P\nsaid she\nis well today."
    assert clean("x\ud800y\ufffez\x7f") == "xyz"


def test_every_export_of_a_note_holding_control_characters_answers(
    drafted, svc, state, login_as, resolve_all, web
):
    _, recording_id = drafted
    _poison(svc, state, recording_id)
    approver = _approve(svc, recording_id, login_as, resolve_all, web)
    for extension in ("txt", "docx", "pdf", "json"):
        response = approver.get(f"/notes/{recording_id}/note.{extension}")
        assert response.status_code == 200, (extension, response.get_data(as_text=True)[:300])
        if extension == "docx":
            body = zipfile.ZipFile(io.BytesIO(response.data)).read("word/document.xml")
            text = body.decode("utf-8")
        else:
            text = response.data.decode("latin-1")
        if extension in ("txt", "docx"):
            assert "said she" in text, extension
        if extension != "pdf":
            assert not any(ch in text for ch in BAD), extension
        else:
            assert b"\x0b" not in response.data.split(b"stream")[0]


@pytest.mark.parametrize("character", BAD)
def test_a_statement_edit_with_a_control_character_is_saved_without_it(
    drafted, svc, state, character
):
    worker, recording_id = drafted
    version, work, _, _ = state(svc, recording_id)
    item_id = next(iter(work["items"]))
    response = worker.post_json(
        f"/notes/{recording_id}/items/{item_id}",
        {"action": "edit", "text": f"Grab{character}rail fitted.", "version": version},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    saved = state(svc, recording_id)[1]["items"][item_id]["text"]
    assert saved in ("Grabrail fitted.", "Grab\nrail fitted.")


def test_participant_names_and_speaker_names_lose_their_control_characters(
    svc, login_as, data_dir, web, state
):
    from webapp.services.recordings import participants_of

    worker = login_as("social_worker")
    response = web.upload(
        worker,
        data_dir / "jfk.flac",
        participant_name=["Sam\x0bWorker", "Mrs\x01 P"],
        case_reference="CR-\x0c77",
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    recording_id = response.get_json()["url"].rsplit("/", 1)[-1]
    with svc.engine.connect() as conn:
        rec = conn.execute(sa.select(db.recordings).where(db.recordings.c.id == recording_id)).one()
    names = [p["name"] for p in participants_of(svc, rec)]
    assert names == ["Sam Worker", "Mrs P"]
    web.drain(svc)
    version = state(svc, recording_id)[0]
    renamed = worker.post_json(
        f"/notes/{recording_id}/speakers",
        {"label": "SPEAKER_2", "name": "Mrs\x00 P", "version": version},
    )
    assert renamed.status_code == 200, renamed.get_data(as_text=True)
    assert state(svc, recording_id)[1]["speakers"]["SPEAKER_2"] == "Mrs P"
