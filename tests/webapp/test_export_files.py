"""Exports a case system accepts: named by case reference, visit type and date, with a
heading saying whose note it is, who was there, who approved it, when, and its hash."""

from __future__ import annotations

import io
import re

import pytest

from webapp.dates import written_time
from webapp.services.export_details import content_disposition, export_filename
from webapp.services.exports import NoteMeta

FORMATS = ("txt", "docx", "pdf", "json")


@pytest.fixture
def approved_note(app, svc, login_as, data_dir, web, resolve_all, state):
    """A note recorded by Sam Okafor, approved by Jordan Ellis; ``(approver, id, row)``."""
    worker = login_as("social_worker", username="sam.okafor")
    response = web.upload(
        worker,
        data_dir / "jfk.flac",
        participant_name=["Sam Okafor", "Mrs P"],
        participant_role=["Social worker", "Person"],
        participant_consent=["0", "1"],
        participant_consent_method=["verbal", "written"],
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    recording_id = response.get_json()["url"].rsplit("/", 1)[-1]
    web.drain(svc)
    assert worker.get(f"/notes/{recording_id}").status_code == 200
    version = resolve_all(worker, svc, recording_id)
    approver = login_as("practitioner", username="jordan.ellis")
    answer = approver.post_json(
        f"/notes/{recording_id}/approve", {"password": web.PASSWORD, "version": version}
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return approver, recording_id, state(svc, recording_id)[3]


def _heading_from_docx(data: bytes) -> dict[str, str]:
    import docx

    lines = [p.text for p in docx.Document(io.BytesIO(data)).paragraphs]
    return dict(line.split(": ", 1) for line in lines[1:9])


def _text_of_pdf(data: bytes) -> str:
    import pypdf

    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def test_every_download_is_named_by_case_reference_visit_type_and_date(approved_note):
    approver, recording_id, _ = approved_note
    for fmt in FORMATS:
        response = approver.get(f"/notes/{recording_id}/note.{fmt}")
        assert response.status_code == 200
        assert response.headers["Content-Disposition"] == (
            f'attachment; filename="CR-2026-0042 home visit 2026-03-14.{fmt}"'
        )


def test_the_word_document_carries_the_heading_a_case_system_files_by(approved_note):
    approver, recording_id, note = approved_note
    heading = _heading_from_docx(approver.get(f"/notes/{recording_id}/note.docx").data)
    assert heading == {
        "Case reference": "CR-2026-0042",
        "Visit type": "Home visit",
        "Visit date": "14 March 2026",
        "Present": "Sam Okafor (Social worker); Mrs P (Person)",
        "Consent to record": "Sam Okafor: verbal consent; Mrs P: written consent",
        "Written by": "Sam.Okafor",
        "Approved by": f"Jordan.Ellis, {written_time(note.approved_at)} (UK time)",
        "SHA-256 of the approved text": note.approved_sha256,
    }
    assert re.fullmatch(r"\d{1,2} [A-Z][a-z]+ \d{4} at \d\d:\d\d", written_time(note.approved_at))


def test_the_pdf_carries_the_same_heading_with_the_approval_on_its_own_lines(approved_note):
    approver, recording_id, note = approved_note
    text = _text_of_pdf(approver.get(f"/notes/{recording_id}/note.pdf").data)
    lines = [" ".join(line.split()) for line in text.splitlines()]
    assert "Case reference CR-2026-0042" in lines
    assert "Visit type Home visit" in lines and "Visit date 14 March 2026" in lines
    assert "Present Sam Okafor (Social worker); Mrs P (Person)" in lines
    assert "Consent to record Sam Okafor: verbal consent; Mrs P: written consent" in lines
    assert "Written by Sam.Okafor" in lines
    assert f"Approved by Jordan.Ellis, {written_time(note.approved_at)} (UK time)" in lines
    # The hash is one unbroken line beside its label, not split across two.
    assert any(line.endswith(note.approved_sha256) for line in lines)


def test_a_case_reference_with_accents_and_slashes_gives_a_safe_name_both_ways():
    meta = NoteMeta("Zoë/2026:07", "mental-capacity-assessment", "2026-12-01", "MCA")
    name = export_filename(meta, "pdf")
    assert name == "Zoë-2026-07 mental capacity assessment 2026-12-01.pdf"
    assert content_disposition(name) == (
        'attachment; filename="Zoe-2026-07 mental capacity assessment 2026-12-01.pdf"; '
        "filename*=UTF-8''Zo%C3%AB-2026-07%20mental%20capacity%20assessment%202026-12-01.pdf"
    )


def test_a_case_reference_of_only_unsafe_characters_still_gives_a_file_name():
    meta = NoteMeta('../"\\', "home-visit", "2026-12-01", "Home visit")
    assert export_filename(meta, "txt") == "case home visit 2026-12-01.txt"


def test_an_addendum_s_time_is_written_in_uk_time_in_the_files_and_on_the_page(approved_note):
    import docx

    approver, recording_id, _ = approved_note
    base = f"/notes/{recording_id}"
    assert approver.post(f"{base}/addenda", {"text": "Daughter rang later."}).status_code == 302
    when = r"\d{1,2} [A-Z][a-z]+ \d{4} at \d\d:\d\d"
    text = approver.get(f"{base}/note.txt").get_data(as_text=True)
    assert re.search(rf"ADDENDUM by Jordan\.Ellis, {when} \(UK time\)\nDaughter rang later", text)
    paragraphs = [
        p.text for p in docx.Document(io.BytesIO(approver.get(f"{base}/note.docx").data)).paragraphs
    ]
    assert any(
        re.fullmatch(rf"Addendum by Jordan\.Ellis, {when} \(UK time\)", p) for p in paragraphs
    )
    page = approver.get(base).get_data(as_text=True)
    assert re.search(rf'<p class="meta">Jordan\.Ellis, {when}</p>', page)
    assert "+00:00" not in page
