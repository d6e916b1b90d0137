"""Odd input answers a clear 4xx, never a server error, on SQLite and PostgreSQL alike:
huge numbers, over-long values and NUL characters in the path, the query or a form."""

from __future__ import annotations

import pytest

NINES = "9" * 30
LONG = "x" * 500

# (who asks, method, path, form, expected status)
CASES = {
    "audit before a huge number": ("manager", "GET", f"/oversight/audit?before={NINES}", {}, 400),
    "audit before a word": ("manager", "GET", "/oversight/audit?before=abc", {}, 400),
    "audit action of 201 characters": (
        "manager",
        "GET",
        "/oversight/audit?action=" + "a" * 201,
        {},
        400,
    ),
    "audit action with NUL": ("manager", "GET", "/oversight/audit?action=a%00b", {}, 400),
    "user update of a huge id": (
        "admin",
        "POST",
        f"/admin/users/{NINES}",
        {"role": "manager", "teams": "North"},
        404,
    ),
    "user disable of a huge id": ("admin", "POST", f"/admin/users/{NINES}/disable", {}, 404),
    "note path with NUL": ("social_worker", "GET", "/notes/%00", {}, 400),
    "recording path with NUL": ("social_worker", "GET", "/recordings/a%00b/status", {}, 400),
    "sign-in username with NUL": (
        None,
        "POST",
        "/login",
        {"username": "a\x00b", "password": "whatever it is here"},
        400,
    ),
    "sign-in username over-long": (
        None,
        "POST",
        "/login",
        {"username": LONG, "password": "whatever it is here"},
        401,
    ),
    "new user with an over-long username": (
        "admin",
        "POST",
        "/admin/users",
        {"username": "u" * 200, "password": "a long enough pass phrase", "role": "manager"},
        400,
    ),
    "new user with an over-long full name": (
        "admin",
        "POST",
        "/admin/users",
        {
            "username": "longname",
            "display_name": LONG,
            "password": "a long enough pass phrase",
            "role": "manager",
        },
        400,
    ),
    "new user with an over-long team": (
        "admin",
        "POST",
        "/admin/users",
        {
            "username": "longteam",
            "teams": "t" * 200,
            "password": "a long enough pass phrase",
            "role": "manager",
        },
        400,
    ),
    "new user with NUL in the full name": (
        "admin",
        "POST",
        "/admin/users",
        {
            "username": "nulname",
            "display_name": "A\x00B",
            "password": "a long enough pass phrase",
            "role": "manager",
        },
        400,
    ),
    "team change to an over-long team": (
        "admin",
        "POST",
        "/admin/users/1",
        {"role": "admin", "teams": "t" * 200},
        400,
    ),
    "legal hold with NUL": (
        "manager",
        "POST",
        "/oversight/holds",
        {"case_reference": "A\x00"},
        400,
    ),
    "sample size huge": ("manager", "POST", "/oversight/samples", {"size": NINES}, 400),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_odd_input_gets_a_clear_refusal_not_a_server_error(app, login_as, web, case):
    role, method, path, form, expected = CASES[case]
    browser = login_as(role) if role else web.Browser(app)
    if role is None:
        browser.refresh_token("/login")
    headers = {"Accept": "application/json"}
    if method == "GET":
        response = browser.get(path, headers=headers)
    else:
        response = browser.post(path, form, headers=headers)
    assert response.status_code < 500, response.get_data(as_text=True)
    assert response.status_code == expected, response.get_data(as_text=True)
    if expected == 400:
        assert response.get_json()["error"]
