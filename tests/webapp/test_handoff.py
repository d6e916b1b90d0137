"""Handing a checked draft to the approver, and the approver returning it with a comment."""

from __future__ import annotations

import sqlalchemy as sa

from webapp import db


def _audit(svc):
    with svc.engine.connect() as conn:
        return conn.execute(sa.select(db.audit_log.c.action)).scalars().all()


def _check_everything(worker, svc, state, recording_id):
    version, work, draft, _ = state(svc, recording_id)
    for item_id, item in work["items"].items():
        if item["status"] == "open":
            version = worker.post_json(
                f"/notes/{recording_id}/items/{item_id}", {"action": "confirm", "version": version}
            ).get_json()["version"]
    for section in draft["sections"]:
        version = worker.post_json(
            f"/notes/{recording_id}/sections/{section['key']}/reviewed", {"version": version}
        ).get_json()["version"]
    return version


def test_a_draft_with_flags_unresolved_cannot_be_sent_for_approval(drafted, svc, state):
    worker, recording_id = drafted
    version = state(svc, recording_id)[0]
    response = worker.post_json(
        f"/notes/{recording_id}/send-for-approval", {"message": "", "version": version}
    )
    assert response.status_code == 409
    assert "cannot be sent for approval yet" in response.get_json()["error"]
    assert "still need checking" in response.get_json()["error"]
    page = worker.get(f"/notes/{recording_id}").get_data(as_text=True)
    assert 'id="handoff-state" data-state="checking">Being checked<' in page
    assert 'id="send-button" disabled' in page


def test_the_worker_sends_the_checked_draft_and_the_approver_sees_it_ready(
    drafted, svc, state, login_as
):
    worker, recording_id = drafted
    other = login_as("social_worker")  # a second draft, still being checked
    approver = login_as("practitioner")
    version = _check_everything(worker, svc, state, recording_id)
    listing = approver.get("/recordings").get_data(as_text=True)
    assert "Ready for approval (0)" in listing and "Being checked (1)" in listing
    response = worker.post(
        f"/notes/{recording_id}/send-for-approval",
        {"message": "Please look at the medication line.", "version": str(version)},
    )
    assert response.status_code == 302 and response.location.endswith("#handoff")
    page = worker.get(f"/notes/{recording_id}").get_data(as_text=True)
    assert "The note was sent for approval" in page
    assert 'data-state="ready">Ready for approval<' in page
    assert "Please look at the medication line." in page and 'id="send-form"' not in page
    new_version, work, _, _ = state(svc, recording_id)
    assert new_version == version + 1 and work["handoff"] == "ready"
    assert "send_for_approval" in _audit(svc)
    listing = approver.get("/recordings").get_data(as_text=True)
    assert "Ready for approval (1)" in listing and "Being checked (0)" in listing
    assert "Draft ready for review: ready for approval" in listing
    approver_page = approver.get(f"/notes/{recording_id}").get_data(as_text=True)
    assert "Please look at the medication line." in approver_page
    assert 'id="return-form"' in approver_page
    # Sending twice says it is already waiting; the message is sealed.
    again = worker.post_json(f"/notes/{recording_id}/send-for-approval", {"version": new_version})
    assert again.status_code == 409 and "already waiting" in again.get_json()["error"]
    with svc.engine.connect() as conn:
        sealed = conn.execute(
            sa.select(db.note_versions.c.after_enc).where(
                db.note_versions.c.action == "send_for_approval"
            )
        ).scalar_one()
    assert b"medication line" not in sealed
    assert other.get("/recordings").status_code == 200


def test_the_approver_returns_it_with_a_comment_the_worker_sees(drafted, svc, state, login_as):
    worker, recording_id = drafted
    approver = login_as("practitioner")
    version = _check_everything(worker, svc, state, recording_id)
    early = approver.post_json(
        f"/notes/{recording_id}/return", {"comment": "Too soon.", "version": version}
    )
    assert early.status_code == 409 and "being checked" in early.get_json()["error"]
    version = worker.post_json(
        f"/notes/{recording_id}/send-for-approval", {"version": version}
    ).get_json()["version"]
    # A comment is needed, and only an approver may return a note.
    blank = approver.post_json(
        f"/notes/{recording_id}/return", {"comment": " ", "version": version}
    )
    assert blank.status_code == 400 and "Say what needs changing" in blank.get_json()["error"]
    own = worker.post_json(f"/notes/{recording_id}/return", {"comment": "x", "version": version})
    assert own.status_code == 403
    response = approver.post(
        f"/notes/{recording_id}/return",
        {"comment": "Add your analysis of the falls risk.", "version": str(version)},
    )
    assert response.status_code == 302
    assert state(svc, recording_id)[1]["handoff"] == "checking"
    page = worker.get(f"/notes/{recording_id}").get_data(as_text=True)
    assert 'data-state="checking">Being checked<' in page
    assert "Returned for changes by" in page and "Add your analysis of the falls risk." in page
    assert 'id="send-form"' in page  # and it can be sent again
    assert "return_for_changes" in _audit(svc)
    listing = approver.get("/recordings").get_data(as_text=True)
    assert "Ready for approval (0)" in listing and "Being checked (1)" in listing
    # The change history names both hand-offs in words.
    assert "returned the note for changes" in page and "sent the note for approval" in page


def test_a_manager_can_neither_send_nor_return_a_note(drafted, svc, state, login_as):
    _, recording_id = drafted
    manager = login_as("manager")
    version = state(svc, recording_id)[0]
    for path, field in (("send-for-approval", "message"), ("return", "comment")):
        response = manager.post_json(
            f"/notes/{recording_id}/{path}", {field: "x", "version": version}
        )
        assert response.status_code == 403
    page = manager.get(f"/notes/{recording_id}").get_data(as_text=True)
    assert 'id="send-form"' not in page and 'id="return-form"' not in page


def test_a_manager_sees_each_hand_off_among_the_notes_versions(drafted, svc, state, login_as):
    worker, recording_id = drafted
    approver = login_as("practitioner")
    version = _check_everything(worker, svc, state, recording_id)
    version = worker.post_json(
        f"/notes/{recording_id}/send-for-approval", {"message": "Done.", "version": version}
    ).get_json()["version"]
    approver.post_json(
        f"/notes/{recording_id}/return", {"comment": "Add more.", "version": version}
    )
    html = login_as("manager").get(f"/oversight/notes/{recording_id}").get_data(as_text=True)
    assert "sent the note for approval ·" in html and "returned the note for changes ·" in html
    audit = login_as("manager").get("/oversight/audit").get_data(as_text=True)
    assert "sent the note for approval" in audit and "returned the note for changes" in audit
