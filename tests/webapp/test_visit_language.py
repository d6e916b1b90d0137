"""Visits in another language or through an interpreter, from upload to the exported note.

The recording is real Spanish speech, transcribed and translated by the real packaged
Whisper base model (loaded once for the session); the drafter is the fake of the
other web tests, so the draft is the cited English extracts.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
import sqlalchemy as sa

from transcribe import TranscribeOptions, load_transcriber
from webapp import db
from webapp.services.visit_language import VisitLanguage, heading_rows, visit_language_of

SPANISH = "spanish_visit.wav"
INTERPRETER = "Ana Ruiz"


@pytest.fixture(scope="session")
def base_whisper() -> Any:
    """The packaged multilingual Whisper base model, loaded once for the session."""
    return load_transcriber(TranscribeOptions(model="base"))


@pytest.fixture
def spanish_app(make_app, sqlite_url, base_whisper) -> Any:
    """An app whose jobs transcribe with the real base model."""
    return make_app(sqlite_url, TRANSCRIBER=base_whisper)


def _browser(app: Any, web: Any, make_user: Any, name: str, role: str) -> Any:
    make_user(name, role)
    browser = web.Browser(app)
    assert browser.login(name).status_code == 302
    return browser


def _upload_spanish(app: Any, web: Any, data_dir: Any, make_user: Any) -> tuple[Any, str]:
    worker = _browser(app, web, make_user, "sam.okafor", "social_worker")
    response = web.upload(
        worker,
        data_dir / SPANISH,
        visit_language="es",
        interpreter_present="yes",
        interpreter_name=INTERPRETER,
        participant_name=["Sam Okafor", "Mrs G", INTERPRETER],
        participant_role=["Social worker", "Person", "Interpreter"],
        participant_consent=["0", "1", "2"],
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return worker, response.get_json()["url"].rsplit("/", 1)[-1]


@pytest.fixture
def make_spanish_user(spanish_app: Any) -> Any:
    from webapp.services.users import create_user

    svc = spanish_app.extensions["carenotes"]

    def make(username: str, role: str) -> int:
        return create_user(svc, username, "correct horse battery staple", role, ("North",))

    return make


def test_the_heading_names_the_language_and_interpreter_and_is_unchanged_for_english() -> None:
    assert heading_rows(VisitLanguage()) == []
    assert heading_rows(VisitLanguage("pl", True, "Ana Ruiz"), "pl") == [
        ("Language", "Polish; transcribed as spoken and translated into English"),
        ("Interpreter", "Ana Ruiz"),
    ]
    # An interpreter at a visit held in English is still named.
    assert heading_rows(VisitLanguage(None, True)) == [
        ("Language", "English"),
        ("Interpreter", "Present (name not recorded)"),
    ]
    # A language to be detected that turned out to be English was not translated.
    assert heading_rows(VisitLanguage("auto"), "en") == [("Language", "English (detected)")]
    assert heading_rows(VisitLanguage("auto"), "so") == [
        (
            "Language",
            "Other language (detected as Somali); transcribed as spoken and translated "
            "into English",
        )
    ]
    assert heading_rows(VisitLanguage("auto")) == [
        (
            "Language",
            "Other language (not yet detected); transcribed as spoken and translated into English",
        )
    ]


def test_the_upload_form_asks_for_the_language_and_an_interpreter(app, login_as) -> None:
    page = login_as("social_worker").get("/recordings/new").get_data(as_text=True)
    assert '<select id="visit_language" name="visit_language">' in page
    assert '<option value="" selected>English</option>' in page
    assert '<option value="pl">Polish</option>' in page
    assert '<option value="auto">Other language (detect it)</option>' in page
    assert 'name="interpreter_present" value="yes"' in page
    assert 'name="interpreter_name"' in page


def test_the_language_and_interpreter_are_stored_on_the_recording_and_ask_for_a_translation(
    app, svc, login_as, data_dir, web
) -> None:
    worker = login_as("social_worker")
    response = web.upload(
        worker, data_dir / "jfk.flac", visit_language="pl", interpreter_name=INTERPRETER
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    recording_id = response.get_json()["url"].rsplit("/", 1)[-1]
    with svc.engine.connect() as conn:
        rec = conn.execute(sa.select(db.recordings).where(db.recordings.c.id == recording_id)).one()
        audit = conn.execute(
            sa.select(db.audit_log.c.detail).where(db.audit_log.c.action == "upload")
        ).scalar_one()
    assert rec.visit_language == "pl"
    # A name given means an interpreter was there, ticked or not; it is stored sealed.
    assert rec.interpreter_present is True
    assert INTERPRETER.encode() not in rec.interpreter_name_enc
    assert visit_language_of(svc, rec).interpreter_name == INTERPRETER
    assert json.loads(audit)["language"] == "pl"
    assert json.loads(audit)["interpreter"] is True
    assert INTERPRETER not in audit
    web.drain(svc)
    options = svc.model("transcriber").options[-1]
    assert (options.language, options.translate) == ("pl", True)


def test_an_english_visit_is_neither_given_a_language_nor_translated(
    app, svc, login_as, data_dir, web
) -> None:
    response = web.upload(login_as("social_worker"), data_dir / "jfk.flac")
    recording_id = response.get_json()["url"].rsplit("/", 1)[-1]
    with svc.engine.connect() as conn:
        rec = conn.execute(sa.select(db.recordings).where(db.recordings.c.id == recording_id)).one()
    assert (rec.visit_language, rec.interpreter_present, rec.interpreter_name_enc) == (
        None,
        False,
        None,
    )
    web.drain(svc)
    options = svc.model("transcriber").options[-1]
    assert (options.language, options.translate) == (None, False)


def test_a_language_not_on_the_list_is_refused_and_nothing_is_stored(
    app, svc, login_as, data_dir, web
) -> None:
    response = web.upload(login_as("social_worker"), data_dir / "jfk.flac", visit_language="xx")
    assert response.status_code == 400
    assert "Choose the language of the visit" in response.get_data(as_text=True)
    with svc.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(db.recordings)).scalar() == 0


@pytest.mark.slow
def test_a_spanish_visit_is_reviewed_in_english_beside_the_spanish_and_exported_with_both(
    spanish_app, make_spanish_user, data_dir, web, resolve_all, state
) -> None:
    svc = spanish_app.extensions["carenotes"]
    worker, recording_id = _upload_spanish(spanish_app, web, data_dir, make_spanish_user)
    assert len(web.drain(svc)) == 2

    # The note is drafted from the English, each segment keeping the Spanish it translates.
    _, _, draft, note = state(svc, recording_id)
    cited = [c for s in draft["sections"] for st in s["statements"] for c in st["citations"]]
    assert cited
    key = svc.vault.data_key(recording_id, _recording(svc, recording_id).wrapped_key)
    transcript = svc.vault.open_json(key, "note", note.id, "transcript", note.transcript_enc)
    assert transcript["language"] == "es"
    english = " ".join(s["text"] for s in transcript["segments"]).lower()
    spanish = " ".join(s["text"] for s in transcript["original"]).lower()
    # The jobs decode in batches, whose translation of this recording differs a little
    # from the one-window-at-a-time decoding of the transcription tests.
    assert "house" in english and "afraid of falling" in english
    assert "madre" in spanish and "escalera" in spanish
    assert all(s["original_ids"] for s in transcript["segments"])

    page = worker.get(f"/notes/{recording_id}").get_data(as_text=True)
    assert "Transcript in English, translated from Spanish" in page
    assert "Language: Spanish; transcribed as spoken and translated into English" in page
    assert f"Interpreter: {INTERPRETER}" in page
    assert page.count("Spanish, as spoken:") == len(transcript["segments"])
    assert '<span lang="es">' in page and "madre" in page.lower()
    # Click-to-play: each English segment still plays its moment of the recording.
    for segment in transcript["segments"]:
        assert f'data-segment="{segment["id"]}"' in page
    assert worker.get(f"/recordings/{recording_id}/audio").status_code == 200

    version = resolve_all(worker, svc, recording_id)
    approver = _browser(spanish_app, web, make_spanish_user, "jordan.ellis", "practitioner")
    answer = approver.post_json(
        f"/notes/{recording_id}/approve", {"password": web.PASSWORD, "version": version}
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)

    # Approval deleted the audio, re-sealing what the recording keeps under a new key:
    # the interpreter's name is still read.
    assert _recording(svc, recording_id).audio_blob is None
    text = approver.get(f"/notes/{recording_id}/note.txt").get_data(as_text=True)
    assert "Language: Spanish; transcribed as spoken and translated into English\n" in text
    assert f"Interpreter: {INTERPRETER}\n" in text
    import docx

    lines = [
        p.text
        for p in docx.Document(
            io.BytesIO(approver.get(f"/notes/{recording_id}/note.docx").data)
        ).paragraphs
    ]
    assert "Language: Spanish; transcribed as spoken and translated into English" in lines
    assert f"Interpreter: {INTERPRETER}" in lines
    import pypdf

    pdf = pypdf.PdfReader(io.BytesIO(approver.get(f"/notes/{recording_id}/note.pdf").data))
    pdf_text = " ".join(" ".join(page.extract_text().split()) for page in pdf.pages)
    assert f"Interpreter: {INTERPRETER}" in pdf_text or f"Interpreter {INTERPRETER}" in pdf_text
    assert "Spanish; transcribed as spoken" in pdf_text

    from webapp.services.api_tokens import create_token

    token = create_token(svc, "Mosaic import", ("North",)).token
    fetched = spanish_app.test_client(use_cookies=False).get(
        f"/api/v1/notes/{note.id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert fetched.status_code == 200, fetched.get_data(as_text=True)
    heading = fetched.get_json()["heading"]
    assert heading["language"] == {
        "code": "es",
        "name": "Spanish",
        "detected": False,
        "translated_into_english": True,
    }
    assert heading["interpreter"] == {"present": True, "name": INTERPRETER}
    assert f"Interpreter: {INTERPRETER}\n" in fetched.get_json()["text"]

    # A subject access export holds the words as spoken as well as the English.
    governance = _browser(
        spanish_app, web, make_spanish_user, "gov.officer", "information_governance"
    )
    archive = zipfile.ZipFile(
        io.BytesIO(
            governance.post("/oversight/subject-access", {"case_reference": "CR-2026-0042"}).data
        )
    )
    folder = next(n for n in archive.namelist() if n.endswith("/transcript.json")).rsplit("/", 1)[0]
    segments = json.loads(archive.read(f"{folder}/transcript.json"))
    assert "madre" in " ".join(s["original"] for s in segments).lower()
    assert "as spoken: " in archive.read(f"{folder}/transcript.txt").decode()
    details = json.loads(archive.read(f"{folder}/details.json"))
    assert details["language"] == "es"
    assert details["interpreter"] == {"present": True, "name": INTERPRETER}


@pytest.mark.slow
def test_a_language_to_be_detected_is_named_as_whisper_found_it(
    spanish_app, make_spanish_user, data_dir, web
) -> None:
    svc = spanish_app.extensions["carenotes"]
    worker = _browser(spanish_app, web, make_spanish_user, "sam.okafor", "social_worker")
    response = web.upload(worker, data_dir / SPANISH, visit_language="auto")
    assert response.status_code == 201, response.get_data(as_text=True)
    recording_id = response.get_json()["url"].rsplit("/", 1)[-1]
    assert _recording(svc, recording_id).detected_language is None
    web.drain(svc)

    rec = _recording(svc, recording_id)
    assert (rec.visit_language, rec.detected_language) == ("auto", "es")
    page = worker.get(f"/notes/{recording_id}").get_data(as_text=True)
    assert "Language: Other language (detected as Spanish); transcribed as spoken" in page
    assert "Transcript in English, translated from Spanish" in page
    assert "Interpreter:" not in page


def _recording(svc: Any, recording_id: str) -> Any:
    with svc.engine.connect() as conn:
        return conn.execute(
            sa.select(db.recordings).where(db.recordings.c.id == recording_id)
        ).one()
