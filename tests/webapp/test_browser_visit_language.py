"""The review page of a Spanish visit in a real Chromium: the English with the words as
spoken under each line, click-to-play on the English, and no serious accessibility
violation (axe-core) at desktop or phone width.

The recording is transcribed and translated by the real packaged Whisper base model;
the drafter is the fake of the other web tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from transcribe import TranscribeOptions, load_transcriber

CHROMIUM = Path("/usr/bin/chromium")
WIDTHS = ((1280, 800), (390, 844))
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
    "resultTypes": ["violations"],
}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed"),
]


@pytest.fixture
def browser(launch_chromium) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


def test_a_spanish_visit_plays_from_its_english_lines_and_passes_axe_at_both_widths(
    make_app, sqlite_url, data_dir, web, serve_app, browser
) -> None:
    from axe_playwright_python.sync_playwright import Axe

    from webapp.services.users import create_user

    app = make_app(sqlite_url, TRANSCRIBER=load_transcriber(TranscribeOptions(model="base")))
    svc = app.extensions["carenotes"]
    create_user(svc, "sam.okafor", web.PASSWORD, "social_worker", ("North",))
    client = web.Browser(app)
    assert client.login("sam.okafor").status_code == 302
    response = web.upload(
        client,
        data_dir / "spanish_visit.wav",
        visit_language="es",
        interpreter_name="Ana Ruiz",
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    review_url = response.get_json()["url"].replace("/recordings/", "/notes/")
    assert len(web.drain(svc)) == 2

    base = serve_app(app)
    page = browser.new_page()
    page.goto(f"{base}/login")
    page.fill("#username", "sam.okafor")
    page.fill("#password", web.PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(re.compile(r"/recordings"))
    page.goto(base + review_url)

    assert "translated from Spanish" in page.locator("#transcript-heading").inner_text()
    originals = page.locator(".transcript .seg-original")
    assert originals.count() == page.locator(".transcript .segment").count() > 0
    assert originals.first.locator(".original-label").inner_text() == "Spanish, as spoken:"
    assert "madre" in page.locator('.transcript [lang="es"]').all_inner_texts()[0].lower()

    # An English line still plays its moment of the recording.
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    line = page.locator(".transcript .seg-time").last
    line.click()
    page.wait_for_selector(f"#seg-{line.get_attribute('data-segment')}.playing")
    assert page.evaluate("document.getElementById('player').currentTime") == pytest.approx(
        float(line.get_attribute("data-start") or 0), abs=0.6
    )

    axe = Axe()
    failing = []
    for width, height in WIDTHS:
        page.set_viewport_size({"width": width, "height": height})
        results = axe.run(page, options=AXE_OPTIONS)
        assert results.response["passes"]
        failing += [
            f"{width}px: {v['id']} ({v['impact']}) on "
            + ", ".join(" ".join(map(str, n["target"])) for n in v["nodes"][:4])
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
    assert not failing, "\n".join(failing)
