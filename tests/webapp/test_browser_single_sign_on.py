"""Single sign-on in a real browser (Debian's Chromium), against the real test provider.

carenotes is browsed at ``localhost`` and the provider at ``127.0.0.1``: two sites, as
in a council, so the browser applies its cross-site cookie rules to the redirects.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

GROUP_MAP = """
[[groups]]
group = "carenotes-social-workers"
role = "social_worker"

[[groups]]
group = "team-north"
teams = ["North"]
"""

pytestmark = pytest.mark.slow


def test_signing_in_and_out_through_the_provider_works_in_a_real_browser(
    make_app: Any, sqlite_url: str, tmp_path: Any, start_oidc_provider: Any, launch_chromium: Any
) -> None:
    from playwright.sync_api import expect, sync_playwright
    from werkzeug.serving import make_server

    served: dict[str, Any] = {}
    server = make_server(
        "127.0.0.1", 0, lambda env, reply: served["app"](env, reply), threaded=True
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://localhost:{server.server_port}"
    group_map = tmp_path / "sso.toml"
    group_map.write_text(GROUP_MAP, encoding="utf-8")
    try:
        with start_oidc_provider(f"{base}/auth/sso/callback", f"{base}/login") as provider:
            served["app"] = make_app(
                sqlite_url,
                **provider.app_config(OIDC_REDIRECT_URI="", OIDC_GROUP_MAP_FILE=str(group_map)),
            )
            provider.set_account(
                "sub-nia-1",
                name="Nia Hart",
                preferred_username="nia.hart",
                groups=["carenotes-social-workers", "team-north"],
            )
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                page = browser.new_page()
                page.set_default_timeout(30_000)
                page.goto(f"{base}/recordings")
                page.get_by_role("link", name="Sign in with your council account").click()

                page.wait_for_url(f"{provider.issuer}/interaction/**")
                page.fill("input[name=login]", "sub-nia-1")
                page.click("button")
                # Back at carenotes, signed in, on the page first asked for.
                page.wait_for_url(f"{base}/recordings")
                expect(page.locator(".who")).to_contain_text("Nia Hart · Social worker")

                page.get_by_role("button", name="Sign out").click()
                page.wait_for_url(f"{provider.issuer}/session/end**")
                page.locator("button[name=logout]").click()
                page.wait_for_url(f"{base}/login")
                page.goto(f"{base}/recordings")
                page.wait_for_url(f"{base}/login?next=/recordings")
                browser.close()
    finally:
        server.shutdown()


APPROVER_GROUP_MAP = (
    GROUP_MAP
    + """
[[groups]]
group = "carenotes-practitioners"
role = "practitioner"
"""
)


def test_an_approver_with_no_password_approves_by_signing_in_again_in_a_real_browser(
    make_app: Any,
    sqlite_url: str,
    tmp_path: Any,
    start_oidc_provider: Any,
    launch_chromium: Any,
    web: Any,
    data_dir: Any,
    resolve_all: Any,
    state: Any,
) -> None:
    from playwright.sync_api import expect, sync_playwright
    from werkzeug.serving import make_server

    from webapp.services.users import create_user

    served: dict[str, Any] = {}
    server = make_server(
        "127.0.0.1", 0, lambda env, reply: served["app"](env, reply), threaded=True
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://localhost:{server.server_port}"
    group_map = tmp_path / "sso.toml"
    group_map.write_text(APPROVER_GROUP_MAP, encoding="utf-8")
    try:
        with start_oidc_provider(f"{base}/auth/sso/callback", f"{base}/login") as provider:
            app = make_app(
                sqlite_url,
                **provider.app_config(OIDC_REDIRECT_URI="", OIDC_GROUP_MAP_FILE=str(group_map)),
            )
            served["app"] = app
            svc = app.extensions["carenotes"]
            # The social worker's draft, checked (they sign in with a password).
            create_user(svc, "wyn.hale", web.PASSWORD, "social_worker", ("North",))
            worker = web.Browser(app)
            assert worker.login("wyn.hale").status_code == 302
            uploaded = web.upload(worker, data_dir / "jfk.flac")
            recording_id = uploaded.get_json()["url"].rsplit("/", 1)[-1]
            web.drain(svc)
            resolve_all(worker, svc, recording_id)
            provider.set_account(
                "sub-ama-2",
                name="Ama Osei",
                preferred_username="ama.osei",
                groups=["carenotes-practitioners", "team-north"],
            )
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                page = browser.new_page()
                page.set_default_timeout(30_000)
                page.goto(f"{base}/recordings")
                page.get_by_role("link", name="Sign in with your council account").click()
                page.wait_for_url(f"{provider.issuer}/interaction/**")
                page.fill("input[name=login]", "sub-ama-2")
                page.click("button")
                page.wait_for_url(f"{base}/recordings")

                page.goto(f"{base}/notes/{recording_id}")
                expect(page.locator("#approve-password")).to_have_count(0)
                approve = page.get_by_role(
                    "button", name="Sign in again to approve and lock the note"
                )
                approve.click()
                # Signed in there a minute ago, yet asked to sign in again (prompt=login).
                page.wait_for_url(f"{provider.issuer}/interaction/**")
                page.fill("input[name=login]", "sub-ama-2")
                page.click("button")
                # Back on the note, still signed in, and it is approved.
                page.wait_for_url(f"{base}/notes/{recording_id}")
                expect(page.locator("body")).to_contain_text("The note is approved and locked.")
                expect(page.locator(".who")).to_contain_text("Ama Osei")
                browser.close()
            assert state(svc, recording_id)[3].state == "approved"
    finally:
        server.shutdown()
