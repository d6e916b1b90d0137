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


# --- The forms of oversight, governance and the review page ----------------------------

#: Longer than any field takes: what a script, or a paste gone wrong, can send.
TOO_LONG = "Mrs P said " + "x" * 9_989


def _input(page: str, element_id: str) -> str | None:
    found = re.search(rf'<input id="{element_id}"[^>]*?value="([^"]*)"', page)
    return found.group(1) if found else None


def _textarea(page: str, element_id: str) -> str | None:
    found = re.search(rf'<textarea id="{element_id}"[^>]*>([^<]*)</textarea>', page)
    return found.group(1) if found else None


def _beside(page: str, element_id: str) -> str | None:
    """The message shown beside the field, whose box is marked invalid and has the focus."""
    found = re.search(rf'<p class="field-error" id="{element_id}-error">([^<]*)</p>', page)
    marked = f'aria-invalid="true" aria-describedby="{element_id}-error" autofocus'
    return found.group(1) if found and marked in page else None


def _count(svc, table, *where) -> int:
    with svc.engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(table)
        for condition in where:
            query = query.where(condition)
        return conn.execute(query).scalar_one()


def _approved_note(drafted, svc, login_as, resolve_all, web):
    """``(approver's browser, recording id)`` of a note checked and approved."""
    worker, recording_id = drafted
    version = resolve_all(worker, svc, recording_id)
    approver = login_as("practitioner")
    answer = approver.post(
        f"/notes/{recording_id}/approve", {"password": web.PASSWORD, "version": version}
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return approver, recording_id


def test_a_too_long_case_reference_comes_back_in_the_legal_hold_form_and_nothing_is_held(
    login_as, svc
):
    manager = login_as("manager")
    response = manager.post("/oversight/holds", {"case_reference": TOO_LONG})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<h1>Legal holds</h1>" in page
    assert _value_of(page, "case_reference") == TOO_LONG
    assert "up to 64 characters" in (_beside(page, "case_reference") or "")
    assert _count(svc, db.legal_holds) == 0


def test_a_case_already_on_hold_is_said_beside_the_reference_which_is_kept(login_as, svc):
    manager = login_as("manager")
    assert manager.post("/oversight/holds", {"case_reference": "CR-77"}).status_code == 302
    response = manager.post("/oversight/holds", {"case_reference": "cr-77"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _value_of(page, "case_reference") == "cr-77"
    assert "already on legal hold" in (_beside(page, "case_reference") or "")
    assert _count(svc, db.legal_holds) == 1


def test_a_refused_reason_for_lifting_a_hold_comes_back_beside_that_hold(login_as, svc):
    manager = login_as("manager")
    governance = login_as("information_governance")
    assert manager.post("/oversight/holds", {"case_reference": "CR-88"}).status_code == 302
    with svc.engine.connect() as conn:
        hold_id = conn.execute(sa.select(db.legal_holds.c.id)).scalar_one()
    response = governance.post(f"/oversight/holds/{hold_id}/lift", {"reason": TOO_LONG})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _input(page, f"reason-{hold_id}") == TOO_LONG
    assert "at most 200 characters" in (_beside(page, f"reason-{hold_id}") or "")
    # The form placing a hold is not marked: the problem is with the lifting.
    assert _value_of(page, "case_reference") == ""
    assert _count(svc, db.legal_holds, db.legal_holds.c.cleared_at.is_(None)) == 1


def test_a_case_reference_holding_nothing_comes_back_in_the_subject_access_form(login_as, svc):
    governance = login_as("information_governance")
    response = governance.post("/oversight/subject-access", {"case_reference": "CR-NOBODY-1"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "<h1>Subject access export</h1>" in page
    assert _value_of(page, "case_reference") == "CR-NOBODY-1"
    assert "Nothing is held" in (_beside(page, "case_reference") or "")
    assert _count(svc, db.audit_log, db.audit_log.c.action == "subject_access_export") == 0


def test_a_nul_in_a_case_reference_is_said_beside_it_and_the_rest_is_kept(login_as, svc):
    governance = login_as("information_governance")
    response = governance.post("/oversight/subject-access", {"case_reference": "CR-12\x0034"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _value_of(page, "case_reference") == "CR-1234"
    assert "not allowed (a NUL" in (_beside(page, "case_reference") or "")
    manager = login_as("manager")
    response = manager.post("/oversight/holds", {"case_reference": "\x00CR-55"})
    assert response.status_code == 400
    assert _value_of(response.get_data(as_text=True), "case_reference") == "CR-55"
    assert _count(svc, db.legal_holds) == 0


def test_a_too_long_addendum_comes_back_in_its_box_and_nothing_is_added(
    drafted, svc, login_as, resolve_all, web
):
    approver, recording_id = _approved_note(drafted, svc, login_as, resolve_all, web)
    response = approver.post(f"/notes/{recording_id}/addenda", {"text": TOO_LONG})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Approved by" in page  # the approved note's page, not one of its own
    assert _textarea(page, "addendum-text") == TOO_LONG
    assert "1 to 5000 characters" in (_beside(page, "addendum-text") or "")
    assert _count(svc, db.addenda) == 0


def test_a_nul_in_an_addendum_is_said_beside_it_and_the_words_are_kept(
    drafted, svc, login_as, resolve_all, web
):
    approver, recording_id = _approved_note(drafted, svc, login_as, resolve_all, web)
    response = approver.post(
        f"/notes/{recording_id}/addenda", {"text": "Daughter rang\x00 on Friday."}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _textarea(page, "addendum-text") == "Daughter rang on Friday."
    assert "a NUL" in (_beside(page, "addendum-text") or "")
    assert _count(svc, db.addenda) == 0
    # Sent again as it came back, it is added.
    again = approver.post(f"/notes/{recording_id}/addenda", {"text": "Daughter rang on Friday."})
    assert again.status_code == 302
    assert _count(svc, db.addenda) == 1


def test_concerns_without_a_comment_come_back_with_the_outcome_chosen_and_nothing_recorded(
    drafted, svc, login_as, resolve_all, web
):
    _approved_note(drafted, svc, login_as, resolve_all, web)
    manager = login_as("manager")
    assert manager.post("/oversight/samples", {"size": "1"}).status_code == 302
    with svc.engine.connect() as conn:
        sample_id = conn.execute(sa.select(db.quality_samples.c.id)).scalar_one()
    response = manager.post(
        f"/oversight/samples/{sample_id}", {"outcome": "concerns", "comment": TOO_LONG}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _textarea(page, f"comment-{sample_id}") == TOO_LONG
    assert "at most 5000 characters" in (_beside(page, f"comment-{sample_id}") or "")
    assert 'name="outcome" value="concerns" required checked' in page
    assert _count(svc, db.quality_samples, db.quality_samples.c.outcome.is_not(None)) == 0


def test_a_number_of_notes_to_draw_that_is_not_one_comes_back_beside_the_box(login_as, svc):
    manager = login_as("manager")
    response = manager.post("/oversight/samples", {"size": "lots"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _value_of(page, "size") == "lots"
    assert "as a number" in (_beside(page, "size") or "")
    assert _count(svc, db.quality_samples) == 0


def test_a_too_long_message_for_the_approver_comes_back_and_the_note_is_not_sent(
    drafted, svc, resolve_all, state
):
    worker, recording_id = drafted
    version = resolve_all(worker, svc, recording_id)
    response = worker.post(
        f"/notes/{recording_id}/send-for-approval", {"message": TOO_LONG, "version": version}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _textarea(page, "send-message") == TOO_LONG
    assert "at most 2000 characters" in (_beside(page, "send-message") or "")
    assert state(svc, recording_id)[0] == version  # nothing saved
    assert 'data-state="checking"' in page


def test_a_refusal_whose_form_is_no_longer_on_the_page_is_still_said(drafted, svc, state):
    worker, recording_id = drafted
    version = state(svc, recording_id)[0]
    # An addendum to a note still being drafted: the page has no addendum form.
    response = worker.post(f"/notes/{recording_id}/addenda", {"text": "Rang the GP."})
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert 'id="form-problem"><strong>Not done:</strong> The note is still a draft' in page
    assert _count(svc, db.addenda) == 0
    assert state(svc, recording_id)[0] == version


def test_a_script_asking_for_json_still_gets_the_reason_as_json(login_as, svc):
    manager = login_as("manager")
    response = manager.client.post(
        "/oversight/holds",
        data={"case_reference": "", "csrf_token": manager.token},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 400
    assert "case reference" in response.get_json()["error"]


def test_a_refused_sign_in_keeps_the_username_but_never_the_password(app, login_as, web):
    login_as("social_worker", username="kim.rowe")
    response = web.Browser(app).login("kim.rowe", "not the right password at all")
    page = response.get_data(as_text=True)
    assert response.status_code == 401
    assert _value_of(page, "username") == "kim.rowe"
    assert "not the right password at all" not in page
    assert re.search(r'<input id="password"[^>]*autofocus>', page)


def test_a_refused_change_to_a_users_teams_comes_back_in_their_row(login_as, svc):
    admin = login_as("admin")
    worker = login_as("social_worker")
    with svc.engine.connect() as conn:
        worker_id = conn.execute(
            sa.select(db.users.c.id).where(db.users.c.username == worker.username)
        ).scalar_one()
    teams = "North, " + "A very long team name " * 5
    response = admin.post(f"/admin/users/{worker_id}", {"role": "manager", "teams": teams})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert _input(page, f"teams-{worker_id}") == teams
    assert "at most 80 characters" in (_beside(page, f"teams-{worker_id}") or "")
    chosen = re.search(rf'<select id="role-{worker_id}"[^>]*>(.*?)</select>', page)
    assert chosen and '<option value="manager" selected>' in chosen.group(1)
    with svc.engine.connect() as conn:
        role = conn.execute(sa.select(db.users.c.role).where(db.users.c.id == worker_id))
        assert role.scalar_one() == "social_worker"
