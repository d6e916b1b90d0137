"""Recording in the browser (MediaRecorder, WebM/Opus) and uploading with progress, in Chromium.

Chromium's fake microphone supplies the sound; the transcriber and drafter are fakes,
so this tests the page's recorder, the upload and the server's checks of a WebM file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from webapp import db

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed"),
]


def test_a_recording_made_in_the_browser_is_uploaded_and_accepted(
    make_app, sqlite_url, web, serve_app, launch_chromium
):
    from playwright.sync_api import expect, sync_playwright

    from webapp.services.users import create_user

    app = make_app(sqlite_url)
    svc = app.extensions["carenotes"]
    create_user(svc, "sam", web.PASSWORD, "social_worker", ("North",))
    base = serve_app(app)
    with sync_playwright() as playwright:
        browser = launch_chromium(
            playwright, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"
        )
        context = browser.new_context(permissions=["microphone"])
        page = context.new_page()
        page.goto(f"{base}/login")
        page.fill("#username", "sam")
        page.fill("#password", web.PASSWORD)
        page.click("button:has-text('Sign in')")
        page.goto(f"{base}/recordings/new")
        page.fill("#case_reference", "CR-BROWSER-1")
        page.locator("input[name=participant_name]").nth(0).fill("Sam")
        page.locator("input[name=participant_role]").nth(0).fill("Social worker")
        page.locator("input[name=participant_consent][value='0']").check()
        page.click("#record-start")
        expect(page.locator("#record-state")).to_contain_text("Recording")
        page.wait_for_timeout(2500)
        page.click("#record-stop")
        expect(page.locator("#record-state")).to_contain_text("KiB")
        # A visit type where recording is not permitted is refused before anything is sent.
        page.select_option("#visit_type", "mental-capacity-assessment")
        page.click("button:has-text('Upload and prepare the draft')")
        expect(page.locator("#upload-error")).to_contain_text("Nothing was uploaded")
        page.select_option("#visit_type", "home-visit")
        page.click("button:has-text('Upload and prepare the draft')")
        page.wait_for_url(re.compile(r"/recordings/[0-9a-f]{32}$"), timeout=30_000)
        assert page.locator("#progress").count() == 1
        browser.close()
    with svc.engine.connect() as conn:
        rec = conn.execute(sa.select(db.recordings)).one()  # only the permitted one
    assert rec.audio_type == "webm" and rec.audio_bytes > 1000
