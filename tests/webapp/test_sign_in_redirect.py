"""After signing in, ``next`` leads only to a path on this site."""

from __future__ import annotations

from urllib.parse import quote

import pytest

TRICKS = [
    "/%09/evil.example",
    "/%0A/x",
    "/%0D%0ASet-Cookie:x=1",
    "//evil.example",
    "/\\evil.example",
    "/%5Cevil.example",
    "\\\\evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "/ /evil.example",
    "%2F%2Fevil.example",
    "/%00/x",
]


def _sign_in(app, make_user, web, next_value):
    make_user("redirected", "social_worker")
    browser = web.Browser(app)
    browser.refresh_token("/login")
    return browser.client.post(
        f"/login?next={next_value}",
        data={"username": "redirected", "password": web.PASSWORD, "csrf_token": browser.token},
    )


@pytest.mark.parametrize("trick", TRICKS)
def test_a_next_that_could_leave_the_site_goes_to_the_start_page(app, make_user, web, trick):
    response = _sign_in(app, make_user, web, trick)
    assert response.status_code in (302, 400), response.get_data(as_text=True)
    if response.status_code == 302:
        assert response.headers["Location"] == "/"


def test_a_local_path_is_kept(app, make_user, web):
    response = _sign_in(app, make_user, web, quote("/recordings/new?x=1", safe=""))
    assert response.status_code == 302
    assert response.headers["Location"] == "/recordings/new?x=1"
