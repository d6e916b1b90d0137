"""The whole journey in a real Chromium, with the real packaged models.

A social worker signs in, uploads a real recording, waits while it is transcribed and
drafted on this machine, resolves the flagged statements, edits one, deletes one and
marks every section reviewed; a practitioner then approves the note (re-entering their
password) and downloads it as text. The same journey runs on SQLite and on the
machine's PostgreSQL.

Needs Debian's Chromium at /usr/bin/chromium (``scripts/setup.sh --with-browser``);
never a browser downloaded by Playwright.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path(tempfile.gettempdir()) / "carenotes-review-page.png"
PASSWORD = "correct horse battery staple"
SPOKEN = b"what your country can do"  # said in jfk.flac: must never be stored in plaintext
TYPED_EDIT = "Edited by the reviewer: canary 7Q4ZK statement."
DRAFT_TIMEOUT_MS = 15 * 60 * 1000

logger = logging.getLogger(__name__)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian Chromium is not installed: run scripts/setup.sh --with-browser",
    ),
]


@pytest.fixture(scope="module")
def real_models() -> dict[str, Any]:
    """The packaged Whisper tiny.en and the packaged drafting model, loaded once."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import summarise
    import transcribe

    return {
        "TRANSCRIBER": transcribe.load_transcriber(
            transcribe.TranscribeOptions(model="tiny.en", diarise=True)
        ),
        "DRAFTER": summarise.load_drafter(),
    }


@pytest.fixture(scope="module")
def browser(launch_chromium) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def database_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'instance' / 'carenotes.db'}"
        return
    with request.getfixturevalue("fresh_postgres_database")("carenotes_journey") as url:
        yield url


@pytest.fixture
def served(real_models, database_url, tmp_path, serve_app) -> Iterator[dict[str, Any]]:
    """The app on a free loopback port, with a social worker and a practitioner."""
    from webapp import create_app
    from webapp.crypto import KeyRing, MasterKey, generate_master_key
    from webapp.services.users import create_user

    instance = tmp_path / "instance"
    app = create_app(
        {
            "INSTANCE_PATH": str(instance),
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATABASE_URL": database_url,
            "KEYRING": KeyRing(MasterKey.from_text(generate_master_key(), source="test")),
            "COOKIE_SECURE": False,  # plain HTTP on loopback
            "PASSWORD_TIME_COST": 1,
            "PASSWORD_MEMORY_KIB": 8192,
            "WORKER_POLL_SECONDS": 0.5,
            "TRANSCRIBE_MODEL": "tiny.en",
            **real_models,
        }
    )
    svc = app.extensions["carenotes"]
    create_user(svc, "sam", PASSWORD, "social_worker", teams=["North"], display_name="Sam Social")
    create_user(svc, "pat", PASSWORD, "practitioner", teams=["North"], display_name="Pat Approver")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        yield {"base": serve_app(app), "app": app, "svc": svc}
    finally:
        worker = getattr(svc, "worker", None)
        if worker is not None and hasattr(worker, "stop"):
            worker.stop()
        svc.engine.dispose()


def _sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(re.compile(r"/recordings"))


def _sign_out(page) -> None:
    page.click("button:has-text('Sign out')")
    page.wait_for_url(re.compile(r"/login"))


def _wait_saved(page) -> None:
    page.wait_for_function(
        "() => !/saving/i.test(document.querySelector('#save-state').textContent)",
        timeout=30_000,
    )
    assert page.locator("#review-error").is_hidden(), page.locator("#review-error").inner_text()


def _files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


@pytest.mark.parametrize(
    "database_url",
    ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
    indirect=True,
)
def test_a_recording_goes_from_upload_to_an_approved_downloaded_note(
    served, browser, data_dir, database_url
) -> None:
    base, svc = served["base"], served["svc"]
    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(60_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    # The social worker uploads a real recording.
    logger.info("journey: signing in and uploading")
    _sign_in(page, base, "sam")
    page.goto(f"{base}/recordings/new")
    page.fill("#case_reference", "CASE-JOURNEY-01")
    page.select_option("#visit_type", "home-visit")
    page.locator("input[name=participant_name]").nth(0).fill("Speaker at the visit")
    page.locator("input[name=participant_role]").nth(0).fill("Person")
    page.locator("input[name=participant_consent][value='0']").check()
    page.set_input_files("#audio", str(data_dir / "jfk.flac"))
    page.click("button:has-text('Upload and prepare the draft')")

    # Progress shows without reloading; the review screen opens once the draft is ready.
    page.wait_for_url(re.compile(r"/recordings/[0-9a-f]+$|/notes/"), timeout=120_000)
    page.wait_for_url(re.compile(r"/notes/[0-9a-f]+$"), timeout=DRAFT_TIMEOUT_MS)
    review_url = page.url
    recording_id = review_url.rsplit("/", 1)[-1]
    page.wait_for_selector(".note-section")
    assert page.locator(".segment").count() >= 1
    transcript = page.locator(".transcript").inner_text().lower()
    assert "country" in transcript, transcript
    assert page.locator("#approve-form").count() == 0  # social workers do not approve

    logger.info("journey: draft ready at %s", review_url)

    # The decrypted audio plays in the page; a citation jumps to its moment and
    # highlights the segment it rests on.
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    assert page.evaluate("document.getElementById('player').duration") == pytest.approx(11, abs=1)
    citation = page.locator(".transcript .cite").last
    citation.click()
    segment_id = citation.get_attribute("data-segment")
    page.wait_for_selector(f"#seg-{segment_id}.playing")
    assert page.evaluate("document.getElementById('player').currentTime") == pytest.approx(
        float(citation.get_attribute("data-start")), abs=0.6
    )

    # Speakers can be renamed to their role.
    first_label = page.locator(".speaker-form").first.get_attribute("data-label")
    page.click(".speakers summary")
    page.locator(".speaker-form input").first.fill("President Kennedy")
    page.locator(".speaker-form button").first.click()
    _wait_saved(page)
    page.reload()
    assert "President Kennedy" in page.locator(".transcript").inner_text()
    assert first_label not in page.locator(".transcript").inner_text()
    # Resolve every flag: confirm the first against the audio, delete the rest.
    flagged = page.locator("li.item[data-flagged=yes]")
    flags_at_start = flagged.count()
    for index in range(flags_at_start):
        item = flagged.nth(index)
        button = item.locator("button.confirm" if index == 0 else "button.delete")
        button.click()
        page.wait_for_function(
            "(id) => document.getElementById(id).dataset.status !== 'open'",
            arg=item.get_attribute("id"),
            timeout=30_000,
        )
        _wait_saved(page)
        # The button used is gone: focus moves to the outcome, which is read out.
        assert page.evaluate(
            "(id) => document.activeElement.closest('li.item')?.id === id"
            " && document.activeElement.classList.contains('item-status')",
            item.get_attribute("id"),
        )

    logger.info("journey: %d flag(s) resolved", flags_at_start)
    # Edit one statement that is still in the note.
    editable = page.locator("li.item:not([data-status=deleted]) textarea.item-text")
    assert editable.count() >= 1, "the draft has no statement left to edit"
    target = editable.first
    target_item = target.locator("xpath=ancestor::li[1]")
    target.fill(TYPED_EDIT)
    target.press("Tab")
    page.wait_for_function(
        "(id) => document.getElementById(id).dataset.status === 'edited'",
        arg=target_item.get_attribute("id"),
        timeout=30_000,
    )
    _wait_saved(page)

    logger.info("journey: statement edited")
    # Mark every section reviewed.
    sections = page.locator(".note-section")
    for index in range(sections.count()):
        section = sections.nth(index)
        section.locator("button.mark-reviewed").click()
        page.wait_for_function(
            "(id) => document.getElementById(id).classList.contains('reviewed')",
            arg=section.get_attribute("id"),
        )
        _wait_saved(page)
    assert page.locator("button.mark-reviewed:visible").count() == 0
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    _sign_out(page)

    logger.info("journey: sections reviewed; approving")
    # A practitioner in the same team approves, re-entering their password.
    _sign_in(page, base, "pat")
    page.goto(review_url)
    assert page.locator("#blockers li").count() == 0, page.locator("#blockers").inner_text()
    assert page.locator(f"textarea:has-text('{TYPED_EDIT}')").count() == 1
    page.fill("#approve-password", PASSWORD)
    page.click("#approve-button")
    page.wait_for_selector(".notice.approved")
    assert "Approved by Pat Approver" in page.locator(".notice.approved").inner_text()

    with page.expect_download() as download_info:
        page.click("a:has-text('Download as text')")
    downloaded = Path(download_info.value.path()).read_text(encoding="utf-8")
    assert TYPED_EDIT in downloaded
    assert "CASE-JOURNEY-01" in downloaded
    context.close()

    # The database holds the approval, and the audit trail is intact and complete.
    from webapp import audit, db

    with svc.engine.connect() as conn:
        note = conn.execute(sa.select(db.notes).where(db.notes.c.recording_id == recording_id))
        note = note.one()
        actions = set(conn.execute(sa.select(db.audit_log.c.action)).scalars())
        check = audit.verify(conn, db.audit_log)
    assert note.state == "approved"
    # The file ends with who approved it; the recorded hash is of the note above that.
    approved_body, approval = downloaded.split("\n\nApproved by ", 1)
    assert note.approved_sha256 in approval
    assert note.approved_sha256 == hashlib.sha256((approved_body + "\n").encode()).hexdigest()
    assert check.ok, check.problem
    expected = {"sign_in", "upload", "draft_created", "view", "listen", "speaker_rename"}
    expected |= {"edit", "flag_resolve", "section_reviewed", "approve", "download", "sign_out"}
    assert expected <= actions, expected - actions

    # Nothing said in the recording or typed by the reviewer is stored in plaintext.
    if database_url.startswith("sqlite"):
        stored = _files_under(Path(served["app"].instance_path))
    else:
        stored = _files_under(Path(svc.settings.storage_dir))
        with svc.engine.connect() as conn:
            for table in db.metadata.sorted_tables:
                for row in conn.execute(sa.select(table)):
                    dumped = repr(tuple(row)).encode()
                    assert SPOKEN not in dumped.lower(), table.name
                    assert TYPED_EDIT.encode() not in dumped, table.name
    # Under the default retention policy the audio is deleted at approval, so on
    # PostgreSQL (database rows checked above) the storage folder may now be empty.
    assert stored or not database_url.startswith("sqlite"), "nothing was stored"
    for path in stored:
        content = path.read_bytes()
        assert SPOKEN not in content.lower(), path
        assert TYPED_EDIT.encode() not in content, path

    assert [p for p in problems if "favicon" not in p] == []
