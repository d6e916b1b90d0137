"""The audit trail page names people by their full names, not sign-in names or ids."""

from __future__ import annotations

import re

import sqlalchemy as sa

from webapp import db


def _rows(page: str) -> list[list[str]]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_who_did_it_and_the_user_it_was_about_are_shown_by_their_full_names(login_as, svc):
    admin = login_as("admin", username="ops.admin")
    response = admin.post(
        "/admin/users",
        {
            "username": "priya.shah",
            "display_name": "Priya Shah",
            "role": "practitioner",
            "teams": "North",
            "password": "Marmalade-Tuesday-Lighthouse-7",
        },
    )
    assert response.status_code == 302
    with svc.engine.connect() as conn:
        priya = conn.execute(
            sa.select(db.users.c.id).where(db.users.c.username == "priya.shah")
        ).scalar_one()

    page = admin.get("/oversight/audit?action=user_create").get_data(as_text=True)
    (row,) = [
        row for row in _rows(page) if row[2] != "carenotes (a scheduled job or the command line)"
    ]
    _, _, who, what, about, _ = row
    assert (who, what, about) == ("Ops.Admin", "created a user", "Priya Shah")
    assert "ops.admin" not in page and "priya.shah" not in page
    assert f"user {priya}" not in page


def test_a_manager_sees_their_team_s_sign_ins_under_full_names(login_as):
    login_as("social_worker", username="sam.okafor")
    manager = login_as("manager", username="lee.manager")
    page = manager.get("/oversight/audit?action=sign_in").get_data(as_text=True)
    people = {(row[2], row[4]) for row in _rows(page)}
    assert ("Sam.Okafor", "Sam.Okafor") in people
    assert ("Lee.Manager", "Lee.Manager") in people
    assert "sam.okafor" not in page and not re.search(r">user \d+<", page)


def test_an_entry_written_by_carenotes_itself_says_so(login_as, svc):
    from webapp.services.users import create_user

    create_user(svc, "night.admin", "Marmalade-Tuesday-Lighthouse-7", "admin", (), "Night Admin")
    admin = login_as("admin")
    page = admin.get("/oversight/audit?action=user_create").get_data(as_text=True)
    rows = [row for row in _rows(page) if row[4] == "Night Admin"]
    assert rows and rows[0][2] == "carenotes (a scheduled job or the command line)"
