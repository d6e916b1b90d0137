"""The review screen: flags, sections, edits as versions, approval, addenda, downloads."""

from __future__ import annotations

import hashlib
import io
import threading

import sqlalchemy as sa

from webapp import db


def _flagged(work):
    return [i for i, item in work["items"].items() if item["flagged"]]


def _audit_actions(svc):
    with svc.engine.connect() as conn:
        return (
            conn.execute(sa.select(db.audit_log.c.action).order_by(db.audit_log.c.id))
            .scalars()
            .all()
        )


def test_the_review_page_shows_draft_transcript_speakers_times_and_flags(drafted, svc, state):
    worker, recording_id = drafted
    page = worker.get(f"/notes/{recording_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    _, work, draft, _ = state(svc, recording_id)
    assert _flagged(work), "the fake transcript mentions medication, which must be flagged"
    for section in draft["sections"]:
        assert section["title"] in html
    assert "SPEAKER_2" in html and "0:01" in html  # speaker labels and segment times
    assert "Present: Sam Social Worker (Social worker), Mrs P (Person)" in html
    assert 'class="item status-open flagged"' in html
    assert "Check against the audio" in html
    assert f'src="/recordings/{recording_id}/audio"' in html
    assert page.headers["Cache-Control"] == "no-store"
    assert "view" in _audit_actions(svc)


def test_a_draft_with_unresolved_flags_cannot_be_approved(drafted, svc, login_as, state, web):
    _, recording_id = drafted
    approver = login_as("practitioner")
    version, work, draft, _ = state(svc, recording_id)
    for section in draft["sections"]:
        version = approver.post_json(
            f"/notes/{recording_id}/sections/{section['key']}/reviewed", {"version": version}
        ).get_json()["version"]
    response = approver.post_json(
        f"/notes/{recording_id}/approve", {"password": web.PASSWORD, "version": version}
    )
    assert response.status_code == 409
    assert "still need checking: confirm each" in response.get_json()["error"]
    assert state(svc, recording_id)[3].state == "draft"


def test_every_section_must_be_marked_reviewed_before_approval(drafted, svc, login_as, state, web):
    _, recording_id = drafted
    approver = login_as("practitioner")
    version, work, _, _ = state(svc, recording_id)
    for item_id in _flagged(work):
        version = approver.post_json(
            f"/notes/{recording_id}/items/{item_id}", {"action": "delete", "version": version}
        ).get_json()["version"]
    response = approver.post_json(
        f"/notes/{recording_id}/approve", {"password": web.PASSWORD, "version": version}
    )
    assert response.status_code == 409
    assert "not yet marked reviewed" in response.get_json()["error"]


def test_edits_are_saved_as_encrypted_versions_with_who_and_what(drafted, svc, state):
    worker, recording_id = drafted
    version, work, _, note = state(svc, recording_id)
    item_id = next(iter(work["items"]))
    before = work["items"][item_id]["text"]
    response = worker.post_json(
        f"/notes/{recording_id}/items/{item_id}",
        {"action": "edit", "text": "Mrs P said she is managing well.", "version": version},
    )
    assert response.get_json() == {"version": version + 1}
    new_version, work, _, _ = state(svc, recording_id)
    assert work["items"][item_id] == {
        **work["items"][item_id],
        "text": "Mrs P said she is managing well.",
        "status": "edited",
    }
    with svc.engine.connect() as conn:
        row = conn.execute(sa.select(db.note_versions)).one()
        rec = conn.execute(sa.select(db.recordings)).one()
    key = svc.vault.data_key(rec.id, rec.wrapped_key)
    assert row.version == new_version and row.action == "edit" and row.target == item_id
    assert b"managing well" not in row.after_enc
    assert (
        svc.vault.open_json(key, "note_version", row.id, "before", row.before_enc)["text"] == before
    )
    assert (
        svc.vault.open_json(key, "note_version", row.id, "after", row.after_enc)["status"]
        == "edited"
    )
    history = worker.get(f"/notes/{recording_id}").get_data(as_text=True)
    assert "Change history (1)" in history and "managing well" in history


def test_a_change_based_on_an_old_version_is_refused_and_says_so(drafted, svc, state):
    worker, recording_id = drafted
    version, work, _, _ = state(svc, recording_id)
    first, second = list(work["items"])[:2]
    assert (
        worker.post_json(
            f"/notes/{recording_id}/items/{first}",
            {"action": "edit", "text": "One.", "version": version},
        ).status_code
        == 200
    )
    stale = worker.post_json(
        f"/notes/{recording_id}/items/{second}",
        {"action": "edit", "text": "Two.", "version": version},
    )
    assert stale.status_code == 409
    assert "still in the box" in stale.get_json()["error"]
    assert state(svc, recording_id)[1]["items"][first]["text"] == "One."


def test_approval_needs_the_password_records_the_hash_and_locks_the_note(
    drafted, svc, login_as, state, resolve_all, web
):
    _, recording_id = drafted
    approver = login_as("practitioner")
    version = resolve_all(approver, svc, recording_id)
    wrong = approver.post_json(
        f"/notes/{recording_id}/approve", {"password": "not the password", "version": version}
    )
    assert wrong.status_code == 403 and state(svc, recording_id)[3].state == "draft"
    response = approver.post_json(
        f"/notes/{recording_id}/approve", {"password": web.PASSWORD, "version": version}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    digest = response.get_json()["sha256"]
    note = state(svc, recording_id)[3]
    assert note.state == "approved" and note.approved_sha256 == digest
    text = approver.get(f"/notes/{recording_id}/note.txt")
    assert text.status_code == 200
    # The file says who approved it and when, after the note; the hash is of the note.
    note_text, approval = text.get_data(as_text=True).rsplit("\n\n", 1)
    assert approval.startswith("Approved by ") and digest in approval
    assert hashlib.sha256((note_text + "\n").encode("utf-8")).hexdigest() == digest
    assert "CR-2026-0042" in note_text
    # Locked: no more edits, only addenda.
    _, work, _, _ = state(svc, recording_id)
    item_id = next(iter(work["items"]))
    edit = approver.post_json(
        f"/notes/{recording_id}/items/{item_id}",
        {"action": "edit", "text": "Late change.", "version": note.version},
    )
    assert edit.status_code == 409 and "locked" in edit.get_json()["error"]
    added = approver.post(
        f"/notes/{recording_id}/addenda", {"text": "Daughter phoned later to confirm."}
    )
    assert added.status_code == 302
    after = approver.get(f"/notes/{recording_id}/note.txt").get_data(as_text=True)
    assert "ADDENDUM by" in after and "Daughter phoned later" in after
    assert after.index("Approved by ") < after.index("ADDENDUM by")
    assert hashlib.sha256(after.split("\n\nApproved by ", 1)[0].encode() + b"\n").hexdigest() == (
        digest
    )
    actions = _audit_actions(svc)
    for expected in (
        "approve_refused",
        "approve",
        "download",
        "addendum",
        "flag_resolve",
        "section_reviewed",
    ):
        assert expected in actions


def test_the_approved_note_downloads_as_a_word_document(drafted, svc, login_as, resolve_all, web):
    import docx

    worker, recording_id = drafted
    approver = login_as("practitioner")
    version = resolve_all(approver, svc, recording_id)
    approver.post_json(
        f"/notes/{recording_id}/approve", {"password": web.PASSWORD, "version": version}
    )
    response = approver.get(f"/notes/{recording_id}/note.docx")
    assert response.status_code == 200
    document = docx.Document(io.BytesIO(response.data))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Case reference: CR-2026-0042" in text and "Approved by" in text


def test_a_draft_cannot_be_downloaded(drafted):
    worker, recording_id = drafted
    assert worker.get(f"/notes/{recording_id}/note.txt").status_code == 409


def test_a_double_click_on_approve_is_harmless(drafted, svc, login_as, resolve_all, web):
    _, recording_id = drafted
    approver = login_as("practitioner")
    version = resolve_all(approver, svc, recording_id)
    body = {"password": web.PASSWORD, "version": version}
    first = approver.post_json(f"/notes/{recording_id}/approve", body)
    second = approver.post_json(f"/notes/{recording_id}/approve", body)
    assert first.status_code == second.status_code == 200
    assert second.get_json() == {"sha256": first.get_json()["sha256"], "already": True}
    assert _audit_actions(svc).count("approve") == 1


def test_two_people_approving_at_once_exactly_one_wins(
    drafted, svc, login_as, resolve_all, web, app
):
    _, recording_id = drafted
    one = login_as("practitioner")
    two = login_as("practitioner")
    version = resolve_all(one, svc, recording_id)
    results = {}
    barrier = threading.Barrier(2)

    def approve(name, browser):
        barrier.wait()
        results[name] = browser.post_json(
            f"/notes/{recording_id}/approve", {"password": web.PASSWORD, "version": version}
        )

    threads = [
        threading.Thread(target=approve, args=(n, b)) for n, b in (("one", one), ("two", two))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in results.values())
    assert codes == [200, 409], {n: r.get_data(as_text=True) for n, r in results.items()}
    loser = next(r for r in results.values() if r.status_code == 409)
    assert "approved by" in loser.get_json()["error"]
    assert _audit_actions(svc).count("approve") == 1


def test_an_edit_racing_an_approval_loses_or_wins_cleanly(
    drafted, svc, login_as, resolve_all, web, state
):
    worker, recording_id = drafted
    approver = login_as("practitioner")
    version = resolve_all(approver, svc, recording_id)
    item_id = next(iter(state(svc, recording_id)[1]["items"]))
    results = {}
    barrier = threading.Barrier(2)

    def approve():
        barrier.wait()
        results["approve"] = approver.post_json(
            f"/notes/{recording_id}/approve", {"password": web.PASSWORD, "version": version}
        )

    def edit():
        barrier.wait()
        results["edit"] = worker.post_json(
            f"/notes/{recording_id}/items/{item_id}",
            {"action": "edit", "text": "Racing edit.", "version": version},
        )

    threads = [threading.Thread(target=approve), threading.Thread(target=edit)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = {k: r.status_code for k, r in results.items()}
    assert sorted(codes.values()) == [200, 409], codes
    _, work, _, note = state(svc, recording_id)
    if codes["approve"] == 200:
        assert note.state == "approved" and work["items"][item_id]["text"] != "Racing edit."
        assert "still in the box" in results["edit"].get_json()["error"]
    else:
        assert note.state == "draft" and work["items"][item_id]["text"] == "Racing edit."
        assert "changed this note" in results["approve"].get_json()["error"]


def test_the_uploader_cannot_approve_their_own_note_by_default(drafted, svc, resolve_all, web):
    worker, recording_id = drafted
    version = resolve_all(worker, svc, recording_id)
    response = worker.post_json(
        f"/notes/{recording_id}/approve", {"password": web.PASSWORD, "version": version}
    )
    assert response.status_code == 403


def test_renaming_a_speaker_shows_the_new_name_in_transcript_and_draft(drafted, svc, state):
    worker, recording_id = drafted
    version, work, _, _ = state(svc, recording_id)
    mentioned = [i for i, item in work["items"].items() if "Speaker 2" in item["text"]]
    assert mentioned, "the extractive draft names the speaker"
    response = worker.post_json(
        f"/notes/{recording_id}/speakers",
        {"label": "SPEAKER_2", "name": "Mrs P", "version": version},
    )
    assert response.status_code == 200
    html = worker.get(f"/notes/{recording_id}").get_data(as_text=True)
    assert ">Mrs P</span>" in html
    _, work, _, _ = state(svc, recording_id)
    for item_id in mentioned:
        assert "Speaker 2" not in work["items"][item_id]["text"]
        assert "Mrs P" in work["items"][item_id]["text"]


def test_the_audio_streams_decrypted_with_byte_ranges(drafted, data_dir):
    worker, recording_id = drafted
    original = (data_dir / "jfk.flac").read_bytes()
    whole = worker.get(f"/recordings/{recording_id}/audio")
    assert whole.status_code == 200 and whole.data == original
    assert whole.headers["Cache-Control"] == "no-store"
    part = worker.get(f"/recordings/{recording_id}/audio", headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.data == original[1000:2000]
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(original)}"


def test_approving_from_the_page_form_redirects_with_a_confirmation(
    drafted, svc, login_as, resolve_all, web, state
):
    _, recording_id = drafted
    approver = login_as("practitioner")
    version = resolve_all(approver, svc, recording_id)
    page = approver.get(f"/notes/{recording_id}").get_data(as_text=True)
    assert 'id="approve-button" >' in page or 'id="approve-button">' in page  # enabled
    response = approver.post(
        f"/notes/{recording_id}/approve", {"password": web.PASSWORD, "version": str(version)}
    )
    assert response.status_code == 302
    page = approver.get(f"/notes/{recording_id}").get_data(as_text=True)
    assert "The note is approved and locked." in page and "Approved note" in page
    assert state(svc, recording_id)[3].state == "approved"


def test_a_wrong_password_on_the_form_returns_to_the_note_with_the_reason(
    drafted, svc, login_as, resolve_all, web, state
):
    _, recording_id = drafted
    approver = login_as("practitioner")
    version = resolve_all(approver, svc, recording_id)
    page = approver.get(f"/notes/{recording_id}").get_data(as_text=True)
    assert "audio is then deleted" in page  # said before approving
    response = approver.post(
        f"/notes/{recording_id}/approve", {"password": "not my password", "version": version}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/notes/{recording_id}#approve-password")
    page = approver.get(f"/notes/{recording_id}").get_data(as_text=True)
    # The reason is beside the password box, which says so and takes the focus.
    form = page.split('id="approve-form"', 1)[1].split("</form>", 1)[0]
    assert (
        '<p class="error" id="approve-error" role="alert">Not approved: The password was not '
        "right; the note was not approved.</p>"
    ) in form
    assert 'aria-invalid="true" aria-describedby="approve-error approve-consequence" autofocus' in (
        form
    )
    assert "Draft note" in page and state(svc, recording_id)[3].state == "draft"
    # Said once: the next opening of the note is clean.
    assert 'id="approve-error"' not in approver.get(f"/notes/{recording_id}").get_data(as_text=True)


def test_a_manager_sees_the_note_read_only(drafted, login_as):
    _, recording_id = drafted
    manager = login_as("manager")
    page = manager.get(f"/notes/{recording_id}").get_data(as_text=True)
    assert "Draft note" in page
    assert "<textarea" not in page and 'id="approve-form"' not in page
    assert 'class="mark-reviewed"' not in page


def test_a_practitioner_sees_the_notes_waiting_for_their_approval(drafted, login_as):
    worker, recording_id = drafted
    page = worker.get(f"/notes/{recording_id}").get_data(as_text=True)
    assert 'id="handover"' in page and "A practitioner in your team approves" in page
    listing = worker.get("/recordings").get_data(as_text=True)
    assert "Draft ready for review" in listing and "Waiting for your approval" not in listing
    approver = login_as("practitioner")
    listing = approver.get("/recordings").get_data(as_text=True)
    assert "Waiting for your approval (1)" in listing
    assert f'href="/notes/{recording_id}"' in listing
    assert (
        login_as("practitioner", team="South")
        .get("/recordings")
        .get_data(as_text=True)
        .count("Waiting for your approval")
        == 0
    )
