"""Oversight pages in a real Chromium: the review page's live blockers and speaker
names, a manager's view of how a note was reviewed (diff), and the team dashboard.

The transcriber and drafter are fakes (the real models run in the journey test);
the browser, the app, encryption and the database are real.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
EDIT = "The reviewer rewrote this statement after listening again."
SCREENSHOTS = Path(tempfile.gettempdir())

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed"),
]


def _sign_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(re.compile(r"/(recordings|oversight)"))


def _saved(page) -> None:
    page.wait_for_function(
        "() => !/saving/i.test(document.querySelector('#save-state').textContent)"
    )
    assert page.locator("#review-error").is_hidden(), page.locator("#review-error").inner_text()


def test_review_history_and_dashboard_pages_work_in_a_real_browser(
    make_app, sqlite_url, data_dir, web, serve_app, launch_chromium
):
    from playwright.sync_api import sync_playwright

    from webapp.services.users import create_user

    app = make_app(sqlite_url)
    svc = app.extensions["carenotes"]
    create_user(svc, "sam", web.PASSWORD, "social_worker", ("North",), display_name="Sam Social")
    create_user(svc, "pat", web.PASSWORD, "practitioner", ("North",), display_name="Pat Approver")
    create_user(svc, "meg", web.PASSWORD, "manager", ("North",), display_name="Meg Manager")
    uploader = web.Browser(app)
    uploader.login("sam")
    response = web.upload(uploader, data_dir / "jfk.flac")
    recording_id = response.get_json()["url"].rsplit("/", 1)[-1]
    assert len(web.drain(svc)) == 2
    base = serve_app(app)
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(30_000)
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: problems.append(str(exc)))

        # The social worker (no approve form) reviews the draft.
        _sign_in(page, base, "sam", web.PASSWORD)
        page.goto(f"{base}/notes/{recording_id}")
        assert page.locator("#approve-form").count() == 0
        assert "checking: confirm each" in page.locator("#blockers").inner_text()

        # Renaming a speaker updates the transcript at once, without a reload.
        page.click(".speakers summary")
        form = page.locator('.speaker-form[data-label="SPEAKER_2"]')
        form.locator("input").fill("Mrs P")
        form.locator("button").click()
        _saved(page)
        page.wait_for_function(
            "() => [...document.querySelectorAll('.speaker[data-label=\"SPEAKER_2\"]')]"
            ".every(s => s.textContent === 'Mrs P')"
        )
        # ...and the draft's statements, without a reload.
        page.wait_for_function(
            "() => [...document.querySelectorAll('textarea.item-text')]"
            ".some(t => t.value.startsWith('Mrs P said'))"
        )

        # Resolve the flags: edit the first, delete the second, confirm the rest.
        flagged = page.locator("li.item[data-flagged=yes]")
        for index in range(flagged.count()):
            item = flagged.nth(index)
            item_id = item.get_attribute("id")
            if index == 0:
                item.locator("textarea").fill(EDIT)
                item.locator("textarea").press("Tab")
            else:
                item.locator("button.delete" if index == 1 else "button.confirm").click()
            page.wait_for_function(
                "(id) => document.getElementById(id).dataset.status !== 'open'", arg=item_id
            )
            _saved(page)
        assert "checking: confirm each" not in page.locator("#blockers").inner_text()
        sections = page.locator(".note-section")
        for index in range(sections.count()):
            sections.nth(index).locator("button.mark-reviewed").click()
            _saved(page)
        # Every blocker cleared for the social worker too, without a reload.
        page.wait_for_function("() => document.querySelectorAll('#blockers li').length === 0")
        page.click("button:has-text('Sign out')")

        # A practitioner approves.
        _sign_in(page, base, "pat", web.PASSWORD)
        page.goto(f"{base}/notes/{recording_id}")
        page.fill("#approve-password", web.PASSWORD)
        page.click("#approve-button")
        page.wait_for_selector(".notice.approved")
        page.click("button:has-text('Sign out')")

        # The manager sees how the note was reviewed, with the changes marked.
        _sign_in(page, base, "meg", web.PASSWORD)
        page.goto(f"{base}/notes/{recording_id}")
        page.click("a:has-text('How this note was reviewed')")
        page.wait_for_url(re.compile(r"/oversight/notes/"))
        assert EDIT in page.locator("#overall-diff ins.added").all_inner_texts()[0] or any(
            EDIT in t for t in page.locator("#overall-diff ins.added").all_inner_texts()
        )
        assert page.locator("#overall-diff del.removed").count() >= 2
        assert page.locator("#ai-text").is_visible() and page.locator("#approved-text").is_visible()
        assert EDIT not in page.locator("#ai-text").inner_text()
        assert EDIT in page.locator("#approved-text").inner_text()
        outcomes = page.locator("#flag-outcomes").inner_text()
        assert "Edited" in outcomes and "Deleted" in outcomes and "Confirmed unchanged" in outcomes
        assert re.search(r"\d+ min \d+ s", page.locator("#review-time").inner_text())
        # Struck-through and marked, not colour alone.
        decoration = page.evaluate(
            "() => getComputedStyle(document.querySelector('del.removed')).textDecorationLine"
        )
        assert decoration == "line-through"
        assert page.locator("#versions li.version").count() >= 5
        page.screenshot(path=str(SCREENSHOTS / "carenotes-note-history.png"), full_page=True)

        # The dashboard draws its charts and filters them.
        page.click("nav a:has-text('Dashboard')")
        page.wait_for_url(re.compile(r"/oversight/dashboard"))
        for chart in (
            "chart-weekly",
            "chart-unchanged",
            "chart-edit-worker",
            "chart-edit-template",
            "chart-flags",
            "chart-visit-days",
            "chart-review",
        ):
            assert page.locator(f"svg#{chart}").is_visible(), chart
        bar = page.locator("#chart-weekly rect.bar").first.bounding_box()
        assert bar is not None and bar["height"] > 50
        assert page.locator("#chart-edit-worker g.row").get_attribute("data-label") == "Sam Social"
        assert page.locator("#chart-review g.point").count() == 1
        assert "1" in page.locator("#note-count").inner_text()
        page.screenshot(path=str(SCREENSHOTS / "carenotes-dashboard.png"), full_page=True)
        page.fill("#date_from", "2999-01-01")
        page.click("#dashboard-filter button")
        page.wait_for_url(re.compile(r"date_from=2999-01-01"))
        assert "0" in page.locator("#note-count").inner_text()
        assert page.locator("svg#chart-weekly").count() == 0
        page.select_option("#worker", label="Sam Social")
        page.fill("#date_from", "")
        page.click("#dashboard-filter button")
        page.wait_for_url(re.compile(r"worker=\d+"))
        assert "1" in page.locator("#note-count").inner_text()
        browser.close()
    assert [p for p in problems if "favicon" not in p] == []


def test_a_failed_recording_shows_why_and_try_again_works_in_a_real_browser(
    make_app, sqlite_url, data_dir, web, serve_app, launch_chromium
):
    from playwright.sync_api import expect, sync_playwright

    from webapp.services.users import create_user

    app = make_app(sqlite_url, TRANSCRIBER=web.FailsOnceTranscriber())
    svc = app.extensions["carenotes"]
    create_user(svc, "sam", web.PASSWORD, "social_worker", ("North",))
    uploader = web.Browser(app)
    uploader.login("sam")
    recording_id = web.upload(uploader, data_dir / "jfk.flac").get_json()["url"].rsplit("/", 1)[-1]
    base = serve_app(app)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page()
        _sign_in(page, base, "sam", web.PASSWORD)
        page.goto(f"{base}/recordings/{recording_id}")
        expect(page.locator("#retry-form")).to_be_hidden()  # still waiting
        web.drain(svc)  # the transcription fails; the page's polling notices
        expect(page.locator("#progress-error")).to_contain_text("could not be read this time")
        expect(page.locator("#retry-form")).to_be_visible()
        page.click("#retry-form button")
        expect(page.locator("body")).to_contain_text("The recording will be transcribed again.")
        assert len(web.drain(svc)) == 2  # transcribed, then drafted
        page.wait_for_url(re.compile(rf"/notes/{recording_id}$"), timeout=15_000)
        browser.close()
