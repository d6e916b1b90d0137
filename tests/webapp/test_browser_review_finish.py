"""Finishing a note in a real Chromium: the practitioner's own statements, restoring and
reordering from the keyboard, handing the draft over and back, a wrong approval password,
and the upload form's visit type and consent choice.

The transcriber and drafter are fakes (the real models run in the journey test); the
browser, the app, encryption and the database are real.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ANALYSIS = (
    "Mrs P manages at home with help from her daughter. The grab rail should lower the "
    "risk of falls on the stairs; the occupational therapist will advise on anything more. "
    "Her wish to stay at home is clear and the support in place makes it realistic."
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed"),
]

IN_VIEW = """(id) => {
  const box = document.getElementById(id).getBoundingClientRect();
  return box.top >= 0 && box.bottom <= window.innerHeight;
}"""


def _sign_in(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(re.compile(r"/recordings"))


def _sign_out(page) -> None:
    page.click("button:has-text('Sign out')")
    page.wait_for_url(re.compile(r"/login"))


def _saved(page) -> None:
    page.wait_for_function(
        "() => !/saving/i.test(document.querySelector('#save-state').textContent)"
    )
    assert page.locator("#review-error").is_hidden(), page.locator("#review-error").inner_text()


def _order(page, section: str) -> list[str]:
    return page.eval_on_selector_all(
        f"#section-{section} .items > li.item", "items => items.map(i => i.dataset.item)"
    )


def test_a_note_is_finished_handed_over_returned_and_approved_in_a_real_browser(
    make_app, sqlite_url, data_dir, web, serve_app, launch_chromium
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
    note = f"{base}/notes/{recording_id}"
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(30_000)
        page = context.new_page()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        _sign_in(page, base, "sam", web.PASSWORD)

        # The upload form chooses no visit type, and says so beside the list.
        page.goto(f"{base}/recordings/new")
        assert page.eval_on_selector("#visit_type", "s => s.value") == ""
        page.fill("#case_reference", "CR-2026-0077")
        page.locator("select[name=participant_consent_method]").nth(1).select_option(
            "best_interests"
        )
        page.click("button:has-text('Upload and prepare the draft')")
        page.wait_for_selector("#visit-type-error:not([hidden])")
        assert "Choose the visit type" in page.inner_text("#visit-type-error")
        assert page.evaluate("() => document.activeElement.id") == "visit_type"
        assert page.evaluate(IN_VIEW, "visit-type-error")
        # The consent choice is as wide as its words: nothing of it is cut off.
        fits = page.eval_on_selector(
            "select[name=participant_consent_method] >> nth=1",
            """s => {
              const style = getComputedStyle(s);
              const ctx = document.createElement('canvas').getContext('2d');
              ctx.font = style.font;
              const words = ctx.measureText(s.options[s.selectedIndex].text).width;
              const inner = s.clientWidth - parseFloat(style.paddingLeft)
                - parseFloat(style.paddingRight);
              return [words, inner];
            }""",
        )
        assert fits[0] > 300 and fits[1] >= fits[0], fits

        page.goto(note)
        # The practitioner's own analysis, in the empty Analysis section.
        assert page.locator("#section-analysis .empty-hint").is_visible()
        page.fill("#add-analysis", ANALYSIS)
        page.click("#section-analysis button:has-text('Add the statement')")
        page.wait_for_selector("#item-analysis-added-1")
        _saved(page)
        added = page.locator("#item-analysis-added-1")
        assert "Written by the practitioner, not the AI" in added.inner_text()
        assert page.locator("#section-analysis .empty-hint").is_hidden()
        # Its box grows with its text: nothing of it is hidden behind a scroll bar.
        sizes = page.eval_on_selector(
            "#text-analysis-added-1", "t => [t.scrollHeight, t.clientHeight]"
        )
        assert sizes[1] >= sizes[0] - 2 and sizes[1] > 60, sizes

        # Reorder from the keyboard: Move up on the second statement of a section.
        section = page.eval_on_selector_all(
            ".note-section",
            "ss => ss.find(s => s.querySelectorAll('.items > li.item').length >= 3)"
            ".dataset.section",
        )
        first, second = _order(page, section)[:2]
        page.locator(f"#item-{second} button.move-up").focus()
        page.keyboard.press("Enter")
        _saved(page)
        page.wait_for_function(
            "([s, id]) => document.querySelector('#section-' + s + ' .items > li.item')"
            ".dataset.item === id",
            arg=[section, second],
        )
        assert _order(page, section)[:2] == [second, first]
        # At the top now, Move up is off and the focus stays on the statement's buttons.
        assert page.locator(f"#item-{second} button.move-up").is_disabled()
        assert page.evaluate(
            "(id) => document.activeElement.closest('li.item')?.id === 'item-' + id", second
        )
        page.keyboard.press("Enter")  # Move down, from the same place
        _saved(page)
        assert _order(page, section)[:2] == [first, second]
        page.locator(f"#item-{first} button.move-down").focus()
        page.keyboard.press("Enter")
        _saved(page)
        assert _order(page, section)[:2] == [second, first]

        # Delete a statement, then restore it as it was.
        plain = page.locator("li.item[data-flagged=no][data-status=ok]").first
        plain_id = plain.get_attribute("id")
        plain.locator("button.delete").click()
        page.wait_for_function(
            "(id) => document.getElementById(id).dataset.status === 'deleted'", arg=plain_id
        )
        _saved(page)
        page.locator(f"#{plain_id} button.restore").click()
        page.wait_for_function(
            "(id) => document.getElementById(id).dataset.status === 'ok'", arg=plain_id
        )
        _saved(page)
        assert page.locator(f"#{plain_id} button.restore").is_hidden()
        assert page.locator(f"#{plain_id} textarea").is_enabled()

        # Check everything, then send it for approval with a message.
        assert page.locator("#send-button").is_disabled()
        flagged = page.locator("li.item[data-flagged=yes][data-status=open]")
        while flagged.count():
            item_id = flagged.first.get_attribute("id")
            flagged.first.locator("button.confirm").click()
            page.wait_for_function(
                "(id) => document.getElementById(id).dataset.status !== 'open'", arg=item_id
            )
            _saved(page)
        for button in page.locator("button.mark-reviewed").all():
            button.click()
            _saved(page)
        page.wait_for_function("() => !document.getElementById('send-button').disabled")
        page.fill("#send-message", "Ready; the analysis is mine.")
        page.click("#send-button")
        page.wait_for_selector("#handoff-state[data-state=ready]")
        assert "Ready for approval" in page.inner_text("#handoff-state")
        _sign_out(page)

        # The approver sees it ready; a wrong password is said beside the box.
        _sign_in(page, base, "pat", web.PASSWORD)
        waiting = page.inner_text("section.awaiting")
        assert "Ready for approval (1)" in waiting and "Being checked (0)" in waiting
        page.goto(note)
        assert "Ready; the analysis is mine." in page.inner_text("#handoff")
        assert _order(page, section)[:2] == [second, first]
        page.fill("#approve-password", "not the password at all")
        page.click("#approve-button")
        page.wait_for_selector("#approve-error")
        assert "The password was not right" in page.inner_text("#approve-error")
        assert page.evaluate("() => document.activeElement.id") == "approve-password"
        assert page.evaluate(IN_VIEW, "approve-error")
        assert page.evaluate(IN_VIEW, "approve-password")
        # Returned with a comment instead.
        page.fill("#return-comment", "Say who will fit the grab rail.")
        page.click("#return-button")
        page.wait_for_selector("#handoff-state[data-state=checking]")
        _sign_out(page)

        # The worker sees the comment and sends it again.
        _sign_in(page, base, "sam", web.PASSWORD)
        page.goto(note)
        assert "Say who will fit the grab rail." in page.inner_text("#returned-comment")
        assert "Being checked" in page.inner_text("#handoff-state")
        page.click("#send-button")
        page.wait_for_selector("#handoff-state[data-state=ready]")
        _sign_out(page)

        # Approved: the practitioner's statement is still marked as theirs.
        _sign_in(page, base, "pat", web.PASSWORD)
        page.goto(note)
        page.fill("#approve-password", web.PASSWORD)
        page.click("#approve-button")
        page.wait_for_selector(".notice.approved")
        assert "Written by the practitioner" in page.inner_text("#item-analysis-added-1")
        assert (
            f"[Written by the practitioner] {ANALYSIS}"
            in page.locator("#approved-text").text_content()
        )
        context.close()
        browser.close()
    assert not problems, problems
