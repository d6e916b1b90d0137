"""A refused form comes back as it was typed (passwords left out), the reason beside the
field it is about, instead of a page of its own."""

from __future__ import annotations

import re

import sqlalchemy as sa

from webapp import db


def _value_of(page: str, field: str) -> str | None:
    found = re.search(rf'<input id="{field}" name="{field}"[^>]*?value="([^"]*)"', page)
    return found.group(1) if found else None


def _user_count(svc) -> int:
    with svc.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(db.users)).scalar_one()


def test_a_too_short_password_shows_the_add_user_form_again_with_the_reason_beside_it(
    login_as, svc
):
    admin = login_as("admin")
    before = _user_count(svc)
    response = admin.post(
        "/admin/users",
        {
            "username": "priya.shah",
            "display_name": "Priya Shah",
            "role": "practitioner",
            "teams": "North, East",
            "password": "short",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<h1>Users</h1>" in page and "Please check" not in page
    assert _value_of(page, "username") == "priya.shah"
    assert _value_of(page, "display_name") == "Priya Shah"
    assert _value_of(page, "teams") == "North, East"
    assert '<option value="practitioner" selected>' in page
    # The box left unticked stays unticked.
    assert re.search(r'name="must_change_password" value="1"\s*>', page)
    # The message sits with the password field, which is marked and left empty.
    beside = re.search(
        r'<p class="field-error" id="password-error">([^<]*)</p><input id="password"[^>]*>', page
    )
    assert beside and "12 characters" in beside.group(1)
    assert 'aria-invalid="true" aria-describedby="password-error"' in beside.group(0)
    assert "value=" not in beside.group(0) and 'value="short"' not in page
    assert _user_count(svc) == before


def test_a_taken_username_is_shown_beside_the_username_with_the_rest_kept(login_as, svc):
    admin = login_as("admin")
    taken = login_as("social_worker").username
    response = admin.post(
        "/admin/users",
        {
            "username": taken,
            "display_name": "Someone Else",
            "role": "manager",
            "teams": "West",
            "password": "a long enough passphrase 42",
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert re.search(r'<p class="field-error" id="username-error">[^<]*already taken', page)
    assert _value_of(page, "username") == taken
    assert _value_of(page, "display_name") == "Someone Else"
    assert '<option value="manager" selected>' in page
    assert "a long enough passphrase 42" not in page


def test_a_user_created_after_a_refusal_is_created_and_the_form_is_empty_again(login_as, svc):
    admin = login_as("admin")
    form = {
        "username": "alex.jones",
        "display_name": "Alex Jones",
        "role": "social_worker",
        "teams": "North",
    }
    assert admin.post("/admin/users", {**form, "password": "tiny"}).status_code == 400
    response = admin.post("/admin/users", {**form, "password": "Marmalade-Tuesday-Lighthouse-7"})
    assert response.status_code == 302
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "The user was created" in page
    assert _value_of(page, "username") == "" and 'class="field-error"' not in page
