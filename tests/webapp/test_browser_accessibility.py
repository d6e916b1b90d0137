"""Accessibility checked by a real engine: axe-core (WCAG 2.2 AA and its best-practice
rules) in a real Chromium on every page of the practitioner's journey, at desktop width
and at a phone's 390 px; and a draft checked, sent and approved with the keyboard alone,
the focus always visible.

The transcriber and drafter are fakes (the real models run in the journey test); the
browser, the app, encryption and the database are real. A serious or critical violation
fails the test, listed with its rule, impact and the elements it was found on.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
#: Desktop, then a phone (an iPhone's 390 CSS pixels).
WIDTHS = ((1280, 800), (390, 844))
#: axe-core's rules for WCAG 2.0, 2.1 and 2.2 at levels A and AA, and its best practice.
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}
FAILING = ("serious", "critical")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed"),
]


def _sign_in(page: Any, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(re.compile(r"/(recordings|oversight|admin)"))


def _sign_out(page: Any) -> None:
    page.click("button:has-text('Sign out')")
    page.wait_for_url(re.compile(r"/login"))


class _Checker:
    """Runs axe on the page at each width and keeps every violation found."""

    def __init__(self, page: Any) -> None:
        from axe_playwright_python.sync_playwright import Axe

        self.page = page
        self.axe = Axe()
        self.found: list[tuple[str, int, dict[str, Any]]] = []
        self.pages: list[str] = []
        #: What axe could not decide alone (contrast over a mixed background, say).
        self.incomplete: list[tuple[str, int, str, str]] = []

    def check(self, name: str) -> None:
        self.pages.append(name)
        for width, height in WIDTHS:
            self.page.set_viewport_size({"width": width, "height": height})
            results = self.axe.run(self.page, options=AXE_OPTIONS)
            # The engine really ran: rules passed, not just found nothing to look at.
            assert results.response["passes"], f"axe-core checked nothing on {name}"
            self.incomplete.extend(
                (name, width, result["id"], " ".join(map(str, node["target"])))
                for result in results.response["incomplete"]
                for node in result["nodes"]
            )
            for violation in results.response["violations"]:
                self.found.append((name, width, violation))
        self.page.set_viewport_size({"width": WIDTHS[0][0], "height": WIDTHS[0][1]})

    def report(self, impacts: tuple[str, ...]) -> str:
        lines = []
        for name, width, violation in self.found:
            if violation["impact"] in impacts:
                targets = ", ".join(
                    " ".join(map(str, node["target"])) for node in violation["nodes"][:6]
                )
                more = len(violation["nodes"]) - 6
                lines.append(
                    f"{name} at {width}px: {violation['id']} ({violation['impact']}): "
                    f"{targets}{f' and {more} more' if more > 0 else ''}"
                )
        return "\n".join(lines)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _, _, violation in self.found:
            counts[violation["impact"]] = counts.get(violation["impact"], 0) + 1
        return counts


def test_every_page_of_the_journey_has_no_serious_accessibility_violation_at_either_width(
    make_app, sqlite_url, data_dir, web, serve_app, launch_chromium, resolve_all
):
    from playwright.sync_api import sync_playwright

    from webapp.services.users import create_user

    app = make_app(sqlite_url)
    svc = app.extensions["carenotes"]
    create_user(svc, "sam", web.PASSWORD, "social_worker", ("North",), display_name="Sam Social")
    create_user(svc, "pat", web.PASSWORD, "practitioner", ("North",), display_name="Pat Approver")
    create_user(svc, "meg", web.PASSWORD, "manager", ("North",), display_name="Meg Manager")
    create_user(svc, "ada", web.PASSWORD, "admin", ("North",), display_name="Ada Admin")
    create_user(
        svc, "ida", web.PASSWORD, "information_governance", ("North",), display_name="Ida Gov"
    )
    uploader = web.Browser(app)
    uploader.login("sam")
    response = web.upload(uploader, data_dir / "jfk.flac")
    recording_id = response.get_json()["url"].rsplit("/", 1)[-1]
    assert len(web.drain(svc)) == 2
    # A second recording is left waiting, so its page shows the progress.
    waiting = web.upload(uploader, data_dir / "jfk.flac", case_reference="CR-2026-0043")
    waiting_id = waiting.get_json()["url"].rsplit("/", 1)[-1]
    base = serve_app(app)
    note = f"{base}/notes/{recording_id}"
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(viewport={"width": WIDTHS[0][0], "height": WIDTHS[0][1]})
        context.set_default_timeout(30_000)
        page = context.new_page()
        checker = _Checker(page)

        page.goto(f"{base}/login")
        checker.check("sign-in")
        _sign_in(page, base, "sam", web.PASSWORD)
        checker.check("recordings list")
        page.goto(f"{base}/recordings/new")
        checker.check("upload form")
        page.fill("#case_reference", "CR-2026-0077")
        page.click("button:has-text('Upload and prepare the draft')")
        page.wait_for_selector("#visit-type-error:not([hidden])")
        checker.check("upload form with a missing visit type")
        page.goto(f"{base}/recordings/{waiting_id}")
        checker.check("recording's progress")
        page.goto(note)
        assert page.locator("li.item[data-flagged=yes]").count() > 0
        assert page.locator(".transcript .segment").count() > 0
        page.click(".speakers summary")
        checker.check("review with flags, citations and the transcript")
        plain = page.locator("li.item[data-flagged=no][data-status=ok]").first
        plain_id = plain.get_attribute("id")
        plain.locator("button.delete").click()
        page.wait_for_function(
            "(id) => document.getElementById(id).dataset.status === 'deleted'", arg=plain_id
        )
        checker.check("review with a deleted statement")
        page.locator(f"#{plain_id} button.restore").click()
        page.wait_for_function(
            "(id) => document.getElementById(id).dataset.status === 'ok'", arg=plain_id
        )
        page.goto(f"{base}/account/password")
        checker.check("change password")
        page.goto(f"{base}/notes/no-such-note")
        checker.check("not found")
        _sign_out(page)

        resolve_all(uploader, svc, recording_id)
        _sign_in(page, base, "pat", web.PASSWORD)
        page.goto(note)
        checker.check("approval")
        page.fill("#approve-password", "not the password at all")
        page.click("#approve-button")
        page.wait_for_selector("#approve-error")
        checker.check("approval with a wrong password")
        page.fill("#approve-password", web.PASSWORD)
        page.click("#approve-button")
        page.wait_for_selector(".notice.approved")
        checker.check("approved note")
        _sign_out(page)

        _sign_in(page, base, "meg", web.PASSWORD)
        page.goto(f"{base}/oversight/notes/{recording_id}")
        checker.check("how the note was reviewed")
        page.goto(f"{base}/oversight/audit")
        checker.check("audit trail")
        page.goto(f"{base}/oversight/dashboard")
        checker.check("dashboard")
        page.goto(f"{base}/oversight/samples")
        checker.check("sampling, with none drawn")
        page.click("button:has-text('Draw a random sample')")
        page.wait_for_selector("#samples tr[data-sample]")
        checker.check("sampling, with a note drawn")
        _sign_out(page)

        _sign_in(page, base, "ada", web.PASSWORD)
        page.goto(f"{base}/admin/users")
        checker.check("users")
        page.goto(f"{base}/admin/api-tokens")
        checker.check("API tokens, with none made")
        page.fill("#name", "Mosaic import")
        page.check("input[name=teams][value=North]")
        page.click("button:has-text('Make the token')")
        page.wait_for_selector("#new-token")
        checker.check("API tokens, with one just made")
        _sign_out(page)

        _sign_in(page, base, "ida", web.PASSWORD)
        page.goto(f"{base}/oversight/holds")
        checker.check("legal holds, with none placed")
        page.fill("#case_reference", "CR-2026-0042")
        page.click("button:has-text('Place a legal hold')")
        page.wait_for_selector("#holds input[name=reason]")
        checker.check("legal holds, with one placed")
        page.goto(f"{base}/oversight/subject-access")
        checker.check("subject access")
        _sign_out(page)
        checker.check("signed out")
        context.close()
        browser.close()
    assert len(checker.pages) == 24
    print("axe-core violations by impact:", checker.counts())
    print(checker.report(("minor", "moderate")))
    print("axe-core could not decide:", sorted(set(checker.incomplete)))
    failing = checker.report(FAILING)
    assert not failing, "axe-core found serious or critical violations:\n" + failing


def _tab_to(page: Any, selector: str, limit: int = 400) -> None:
    """Press Tab until the focus is on ``selector``, and check that the focus can be seen."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
            assert outline not in ("", "none"), f"{selector} has the focus but shows no outline"
            return
    raise AssertionError(f"Tab never reached {selector}")


def _sign_in_by_keyboard(page: Any, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    _tab_to(page, "#username")
    page.keyboard.type(username)
    _tab_to(page, "#password")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/recordings"))


def test_a_draft_is_checked_sent_and_approved_with_the_keyboard_alone(
    make_app, sqlite_url, data_dir, web, serve_app, launch_chromium, state
):
    from playwright.sync_api import sync_playwright

    from webapp.services.users import create_user

    app = make_app(sqlite_url)
    svc = app.extensions["carenotes"]
    create_user(svc, "sam", web.PASSWORD, "social_worker", ("North",), display_name="Sam Social")
    create_user(svc, "pat", web.PASSWORD, "practitioner", ("North",), display_name="Pat Approver")
    uploader = web.Browser(app)
    uploader.login("sam")
    response = web.upload(uploader, data_dir / "jfk.flac")
    recording_id = response.get_json()["url"].rsplit("/", 1)[-1]
    assert len(web.drain(svc)) == 2
    base = serve_app(app)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(viewport={"width": WIDTHS[1][0], "height": WIDTHS[1][1]})
        context.set_default_timeout(30_000)
        page = context.new_page()

        # The social worker, on a phone's width: every flag confirmed, every section
        # marked reviewed, and the draft sent, from the keyboard.
        _sign_in_by_keyboard(page, base, "sam", web.PASSWORD)
        page.goto(f"{base}/notes/{recording_id}")
        flags = page.locator("li.item[data-status=open] button.confirm").count()
        assert flags > 0
        for _ in range(flags):
            _tab_to(page, "li.item[data-status=open] button.confirm")
            page.keyboard.press("Enter")
            page.wait_for_function("() => document.activeElement.matches('.item-status')")
        assert page.locator("li.item[data-status=open]").count() == 0
        sections = page.locator("button.mark-reviewed:not([hidden])").count()
        for _ in range(sections):
            _tab_to(page, "button.mark-reviewed:not([hidden])")
            page.keyboard.press("Enter")
            page.wait_for_function("() => document.activeElement.matches('.reviewed-label')")
        page.wait_for_function("() => !document.getElementById('send-button').disabled")
        _tab_to(page, "#send-message")
        page.keyboard.type("Checked from the keyboard.")
        _tab_to(page, "#send-button")
        page.keyboard.press("Enter")
        page.wait_for_selector("#handoff-state[data-state=ready]")
        _tab_to(page, ".who button.link-button")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/login"))

        # The approver approves it from the keyboard.
        _sign_in_by_keyboard(page, base, "pat", web.PASSWORD)
        page.goto(f"{base}/notes/{recording_id}")
        _tab_to(page, "#approve-password")
        page.keyboard.type(web.PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_selector(".notice.approved")
        context.close()
        browser.close()
    _, work, _, note = state(svc, recording_id)
    assert note.state == "approved"
    assert {item["status"] for item in work["items"].values()} <= {"ok", "confirmed"}
