"""Oversight and governance: note history with diffs, dashboard, sampling, exports,
subject access, policy versions, and the review page's blockers and speaker names."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
import sqlalchemy as sa

from webapp import db

EDITED = "Speaker 1 greeted Mrs P and asked how things had been since the last visit."


@pytest.fixture
def approved(drafted, svc, login_as, state, web):
    """A note edited (one statement edited, one deleted, a speaker renamed) and approved.

    Returns ``(worker, approver, recording id)``.
    """
    worker, recording_id = drafted
    version, work, draft, _ = state(svc, recording_id)
    base = f"/notes/{recording_id}"
    assert worker.get(base).status_code == 200  # the first opening starts the review clock

    def send(path, body):
        nonlocal version
        response = worker.post_json(base + path, {**body, "version": version})
        assert response.status_code == 200, response.get_data(as_text=True)
        version = response.get_json()["version"]

    send("/speakers", {"label": "SPEAKER_2", "name": "Mrs P"})
    send("/items/observations-1", {"action": "edit", "text": EDITED})
    send("/items/observations-4", {"action": "delete"})
    # Flagged ones: one deleted, one edited; the rest are confirmed unchanged below.
    send("/items/observations-2", {"action": "delete"})
    send(
        "/items/observations-3",
        {"action": "edit", "text": "Mrs P takes twenty milligrams of sertraline each morning."},
    )
    for item_id, item in state(svc, recording_id)[1]["items"].items():
        if item["status"] == "open":
            send(f"/items/{item_id}", {"action": "confirm"})
    for section in draft["sections"]:
        send(f"/sections/{section['key']}/reviewed", {})
    approver = login_as("practitioner")
    response = approver.post_json(f"{base}/approve", {"password": web.PASSWORD, "version": version})
    assert response.status_code == 200, response.get_data(as_text=True)
    return worker, approver, recording_id


def _actions(svc):
    with svc.engine.connect() as conn:
        return conn.execute(sa.select(db.audit_log.c.action)).scalars().all()


def test_a_manager_sees_the_ai_draft_each_version_and_the_approved_text_with_a_diff(
    approved, svc, login_as
):
    _, _, recording_id = approved
    manager = login_as("manager")
    page = manager.get(f"/oversight/notes/{recording_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<ins class="added">' in html and EDITED in html
    assert '<del class="removed">' in html and "Speaker 1 asked whether Good morning" in html
    assert "Confirmed unchanged" in html and "Deleted" in html and "Edited" in html
    assert "renamed speaker <code>Speaker 2</code>" in html and "Version 2" in html
    assert "edited <code>statement 1 in \u201cObservations\u201d</code>" in html
    assert "min" in html and "from first opening to approval" in html
    assert "Policy version</dt><dd>2026.2" in html
    assert "oversight_note_view" in _actions(svc)


def test_the_note_history_is_hidden_from_other_teams_and_refused_to_social_workers(
    approved, login_as
):
    _, _, recording_id = approved
    assert (
        login_as("manager", team="South").get(f"/oversight/notes/{recording_id}").status_code == 404
    )
    assert login_as("social_worker").get(f"/oversight/notes/{recording_id}").status_code == 403


def test_the_dashboard_draws_charts_for_the_managers_teams_and_filters_them(
    approved, svc, login_as
):
    manager = login_as("manager")
    html = manager.get("/oversight/dashboard").get_data(as_text=True)
    for chart in (
        "chart-weekly",
        "chart-unchanged",
        "chart-edit-worker",
        "chart-edit-template",
        "chart-flags",
        "chart-visit-days",
        "chart-review",
    ):
        assert f'id="{chart}"' in html
    assert "<strong>1</strong> approved note(s) shown" in html
    assert 'data-label="Home visit case note"' in html  # titles, not keys
    assert "w/c " in html  # weeks by their Monday
    assert "dashboard_view" in _actions(svc)
    other = login_as("manager", team="South").get("/oversight/dashboard").get_data(as_text=True)
    assert "<strong>0</strong> approved note(s) shown" in other
    filtered = manager.get("/oversight/dashboard?template=review&date_from=2020-01-01")
    assert "<strong>0</strong> approved note(s)" in filtered.get_data(as_text=True)
    bad = manager.get("/oversight/dashboard?date_from=yesterday")
    assert bad.status_code == 400 and "as a date" in bad.get_data(as_text=True)
    assert login_as("social_worker").get("/oversight/dashboard").status_code == 403


def test_review_figures_are_stored_at_approval_so_the_dashboard_decrypts_nothing(
    approved, svc, login_as, monkeypatch
):
    _, _, recording_id = approved
    with svc.engine.connect() as conn:
        figures = conn.scalar(
            sa.select(db.notes.c.review_figures).where(db.notes.c.recording_id == recording_id)
        )
    # One statement edited and one deleted: neither counts as kept; words changed.
    assert set(figures) == {
        "unchanged_share",
        "edit_share",
        "flags",
        "flags_confirmed",
        "statements_added",
        "statements_removed",
    }
    assert figures["statements_added"] == 0 and figures["statements_removed"] == 2
    assert 0.0 < figures["unchanged_share"] < 1.0 and 0.0 < figures["edit_share"] < 1.0
    assert EDITED not in str(figures)  # counts and shares only

    def no_decrypting(*_args, **_kwargs):
        raise AssertionError("the dashboard decrypted a note")

    monkeypatch.setattr(svc.vault, "open_json", no_decrypting)
    html = login_as("manager").get("/oversight/dashboard").get_data(as_text=True)
    assert "<strong>1</strong> approved note(s) shown" in html


def test_a_note_approved_before_figures_were_stored_gets_them_on_first_view(
    approved, svc, login_as
):
    _, _, recording_id = approved
    where = db.notes.c.recording_id == recording_id
    with svc.engine.begin() as conn:
        stored = conn.scalar(sa.select(db.notes.c.review_figures).where(where))
        conn.execute(sa.update(db.notes).where(where).values(review_figures=None))
    manager = login_as("manager")
    assert "<strong>1</strong> approved note(s)" in manager.get("/oversight/dashboard").get_data(
        as_text=True
    )
    with svc.engine.connect() as conn:
        assert conn.scalar(sa.select(db.notes.c.review_figures).where(where)) == stored


def test_a_note_approved_unchanged_in_seconds_is_shown_as_an_outlier(
    drafted, svc, login_as, resolve_all, web
):
    _, recording_id = drafted
    approver = login_as("practitioner", username="quickpat")
    assert approver.get(f"/notes/{recording_id}").status_code == 200
    version = resolve_all(approver, svc, recording_id)
    approver.post_json(
        f"/notes/{recording_id}/approve", {"password": web.PASSWORD, "version": version}
    )
    html = login_as("manager").get("/oversight/dashboard").get_data(as_text=True)
    assert 'id="outliers"' in html and "approved by Quickpat" in html
    assert 'class="point outlier"' in html and 'class="bar outlier"' in html


def test_naming_the_speakers_is_not_counted_as_editing_the_ai_draft(
    drafted, svc, login_as, resolve_all, web, state
):
    _, recording_id = drafted
    approver = login_as("practitioner", username="namingpat")
    assert approver.get(f"/notes/{recording_id}").status_code == 200
    version = state(svc, recording_id)[0]
    for label, name in (("SPEAKER_1", "Sam"), ("SPEAKER_2", "Mrs P")):
        response = approver.post_json(
            f"/notes/{recording_id}/speakers", {"label": label, "name": name, "version": version}
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        version = response.get_json()["version"]
    assert "Mrs P said that" in " ".join(
        i["text"] for i in state(svc, recording_id)[1]["items"].values()
    )
    version = resolve_all(approver, svc, recording_id)
    approver.post_json(
        f"/notes/{recording_id}/approve", {"password": web.PASSWORD, "version": version}
    )
    with svc.engine.connect() as conn:
        figures = conn.scalar(sa.select(db.notes.c.review_figures))
    assert figures["unchanged_share"] == 1.0 and figures["edit_share"] == 0.0
    html = login_as("manager").get("/oversight/dashboard").get_data(as_text=True)
    assert "approved by Namingpat" in html  # unchanged in seconds: still an outlier


def test_a_manager_draws_a_sample_and_records_the_outcome(approved, svc, login_as):
    manager = login_as("manager")
    assert manager.post("/oversight/samples", {"size": "3"}).status_code == 302
    with svc.engine.connect() as conn:
        [sample] = conn.execute(sa.select(db.quality_samples)).all()
    page = manager.get("/oversight/samples").get_data(as_text=True)
    assert f'data-sample="{sample.id}"' in page
    refused = manager.post(f"/oversight/samples/{sample.id}", {"outcome": "concerns"})
    assert refused.status_code == 400 and "Say what the concerns are" in refused.get_data(
        as_text=True
    )
    # The sampling page comes back with the outcome chosen and the reason beside the comment.
    page = refused.get_data(as_text=True)
    assert "<h1>Quality sampling</h1>" in page
    assert 'name="outcome" value="concerns" required checked' in page
    assert f'id="comment-{sample.id}-error">Say what the concerns are' in page
    done = manager.post(
        f"/oversight/samples/{sample.id}", {"outcome": "concerns", "comment": "Risk section thin."}
    )
    assert done.status_code == 302
    assert "Risk section thin." in manager.get("/oversight/samples").get_data(as_text=True)
    with svc.engine.connect() as conn:
        row = conn.execute(sa.select(db.quality_samples)).one()
    assert row.outcome == "concerns" and b"Risk section" not in row.comment_enc
    assert {"sample_drawn", "sample_reviewed"} <= set(_actions(svc))
    # Nothing left to draw: the one note is already sampled.
    manager.post("/oversight/samples", {"size": "3"})
    with svc.engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(db.quality_samples)).scalar() == 1
        )


def test_approved_notes_export_as_docx_pdf_and_json_that_read_back(approved):
    import docx
    import pypdf

    _, approver, recording_id = approved
    base = f"/notes/{recording_id}"
    document = docx.Document(io.BytesIO(approver.get(f"{base}/note.docx").data))
    words = "\n".join(p.text for p in document.paragraphs)
    assert EDITED in words and "CR-2026-0042" in words
    pdf = approver.get(f"{base}/note.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf.data)).pages)
    assert "CR-2026-0042" in text and "greeted Mrs P" in " ".join(text.split())
    assert "Staying in their own home" not in text  # deleted in review: never leaves
    record = json.loads(approver.get(f"{base}/note.json").data)
    assert record["case_reference"] == "CR-2026-0042" and record["visit_date"] == "2026-03-14"
    assert record["note_type"] == "home-visit" and record["policy_version"] == "2026.2"
    assert record["author"] and record["approver"] and record["approved_at"]
    assert (
        record["actions"][0]["owner"] == "Speaker 1" and record["actions"][0]["due"] == "next week"
    )
    assert (
        record["significant_event"] is True and "medication" in record["significant_event_topics"]
    )
    assert any(EDITED in item for s in record["sections"] for item in s["items"])
    assert not any("Staying in their own home" in i for s in record["sections"] for i in s["items"])


@pytest.mark.parametrize("fmt", ["pdf", "json", "docx", "txt"])
def test_an_unapproved_note_is_never_exported(drafted, fmt):
    worker, recording_id = drafted
    response = worker.get(f"/notes/{recording_id}/note.{fmt}")
    assert response.status_code == 409 and "approve it first" in response.get_data(as_text=True)


def test_a_subject_access_export_holds_everything_about_the_case_with_third_parties_marked(
    approved, svc, login_as
):
    _, _, recording_id = approved
    governance = login_as("information_governance")
    assert (
        governance.post("/oversight/holds", {"case_reference": "CR-2026-0042"}).status_code == 302
    )
    response = governance.post("/oversight/subject-access", {"case_reference": "cr-2026-0042"})
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = archive.namelist()
    folder = f"recordings/2026-03-14-{recording_id[:8]}"
    assert {
        f"{folder}/note-approved.txt",
        f"{folder}/transcript.json",
        "audit.csv",
        "manifest.json",
        f"{folder}/details.json",
        "README.txt",
    } <= set(names)
    assert EDITED in archive.read(f"{folder}/note-approved.txt").decode()
    segments = json.loads(archive.read(f"{folder}/transcript.json"))
    marked = {s["speaker"]: s["redact"] for s in segments}
    assert marked == {"SPEAKER_1": True, "Mrs P": False}
    assert (
        "FOR REDACTION: third party (SPEAKER_1)"
        in archive.read(f"{folder}/transcript.txt").decode()
    )
    audit_csv = archive.read("audit.csv").decode()
    assert "approve" in audit_csv and recording_id in audit_csv and "legal_hold_set" in audit_csv
    details = json.loads(archive.read(f"{folder}/details.json"))
    assert [p["name"] for p in details["participants"]] == ["Sam Social Worker", "Mrs P"]
    assert "subject_access_export" in _actions(svc)
    nothing = governance.post("/oversight/subject-access", {"case_reference": "CR-NOBODY"})
    assert nothing.status_code == 400 and "Nothing is held" in nothing.get_data(as_text=True)


def test_only_governance_may_export_subject_access_data(approved, login_as):
    # Administrators see no case content, and an export is all of a case's content.
    for role in ("social_worker", "practitioner", "manager", "admin"):
        browser = login_as(role)
        response = browser.post("/oversight/subject-access", {"case_reference": "CR-2026-0042"})
        assert response.status_code == 403, role
    governance = login_as("information_governance")
    assert governance.get(f"/notes/{approved[2]}").status_code == 404  # no case content


def test_legal_holds_are_placed_and_lifted_through_the_page_and_audited(svc, login_as):
    manager = login_as("manager")
    assert manager.post("/oversight/holds", {"case_reference": "CR-9"}).status_code == 302
    page = manager.get("/oversight/holds").get_data(as_text=True)
    assert "CR-9" in page
    again = manager.post("/oversight/holds", {"case_reference": "cr-9"})
    assert again.status_code == 400 and "already on legal hold" in again.get_data(as_text=True)
    with svc.engine.connect() as conn:
        hold = conn.execute(sa.select(db.legal_holds)).one()
    assert b"CR-9" not in hold.case_ref_enc
    # Lifting lets deletion resume: information governance only, with a reason.
    assert manager.post(f"/oversight/holds/{hold.id}/lift", {"reason": "Done"}).status_code == 403
    governance = login_as("information_governance")
    lifted = governance.post(f"/oversight/holds/{hold.id}/lift", {"reason": "Claim settled"})
    assert lifted.status_code == 302
    assert "No case is on legal hold" in manager.get("/oversight/holds").get_data(as_text=True)
    assert {"legal_hold_set", "legal_hold_cleared"} <= set(_actions(svc))
    assert (
        login_as("social_worker").post("/oversight/holds", {"case_reference": "X"}).status_code
        == 403
    )


def test_each_note_records_the_policy_version_it_was_produced_under(drafted, svc, state):
    _, recording_id = drafted
    assert state(svc, recording_id)[3].policy_version == svc.policy.version == "2026.2"


def test_a_social_worker_without_an_approve_form_still_gets_a_live_blockers_list(drafted):
    worker, recording_id = drafted
    html = worker.get(f"/notes/{recording_id}").get_data(as_text=True)
    assert 'id="approve-form"' not in html
    assert '<ul id="blockers"' in html and "checking: confirm each" in html
    script = worker.get("/static/review.js").get_data(as_text=True)
    assert "if (!list) { return; }" in script and "if (button)" in script


def test_the_transcript_names_carry_the_speaker_label_the_rename_script_looks_for(drafted):
    worker, recording_id = drafted
    html = worker.get(f"/notes/{recording_id}").get_data(as_text=True)
    assert '<span class="speaker" data-label="SPEAKER_2">SPEAKER_2</span>' in html
    assert '<form class="speaker-form inline" data-label="SPEAKER_2">' in html
    script = worker.get("/static/review.js").get_data(as_text=True)
    assert """'.speaker[data-label="' + label + '"]'""" in script


def test_carenotes_purge_runs_the_retention_policy(monkeypatch, tmp_path, sqlite_url, capsys):
    import argparse

    from webapp.commands import add_commands
    from webapp.crypto import generate_master_key

    monkeypatch.setenv("CARENOTES_SECRET_KEY", "cli-secret-key-0123456789abcdef")
    monkeypatch.setenv("CARENOTES_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("CARENOTES_STORAGE_DIR", str(tmp_path / "storage"))
    monkeypatch.setenv("CARENOTES_MASTER_KEY", generate_master_key())
    monkeypatch.delenv("CARENOTES_MASTER_KEY_FILE", raising=False)
    monkeypatch.delenv("CARENOTES_PREVIOUS_MASTER_KEYS", raising=False)
    for argv in (["purge"], ["retention", "run"]):
        parser = argparse.ArgumentParser(prog="carenotes")
        add_commands(parser.add_subparsers(dest="command", required=True))
        args = parser.parse_args(argv)
        assert args.func(args) == 0
        assert "Deleted the audio of 0 approved recording(s)" in capsys.readouterr().out


def test_consent_is_recorded_per_participant_with_who_gave_it_how_and_when(
    svc, login_as, data_dir, web
):
    from webapp.services.recordings import participants_of

    worker = login_as("social_worker")
    response = web.upload(
        worker,
        data_dir / "jfk.flac",
        participant_consent=["0", "1"],
        participant_consent_method=["verbal", "lpa"],
        participant_consent_by=["", "Jo P (attorney)"],
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    with svc.engine.connect() as conn:
        rec = conn.execute(sa.select(db.recordings)).one()
    worker_part, person = participants_of(svc, rec)
    assert worker_part["consent"]["method"] == "verbal"
    assert worker_part["consent"]["given_by"] == "Sam Social Worker"
    assert (
        person["consent"]["method"] == "lpa" and person["consent"]["given_by"] == "Jo P (attorney)"
    )
    assert person["consent"]["recorded_by"] == worker.username.title()
    assert person["consent"]["recorded_at"].startswith(str(db.utcnow().date()))
    web.drain(svc)
    page = worker.get(f"/notes/{rec.id}").get_data(as_text=True)
    assert "Mrs P: lasting power of attorney, given by Jo P (attorney)" in page


@pytest.mark.parametrize(
    ("methods", "given_by", "message"),
    [
        (["verbal", "lpa"], ["", ""], "name of the attorney"),
        (["verbal", "nodded"], ["", ""], "Choose how consent was given for Mrs P"),
    ],
)
def test_consent_given_on_someones_behalf_must_say_by_whom(
    svc, login_as, data_dir, web, methods, given_by, message
):
    worker = login_as("social_worker")
    response = web.upload(
        worker,
        data_dir / "jfk.flac",
        participant_consent=["0", "1"],
        participant_consent_method=methods,
        participant_consent_by=given_by,
    )
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    with svc.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(db.recordings)).scalar() == 0
    assert not [p for p in (svc.vault.store.root / "blobs").rglob("*") if p.is_file()]


def test_a_legal_hold_is_still_readable_after_the_master_key_is_rotated(make_app, sqlite_url, web):
    from webapp.crypto import KeyRing, MasterKey, generate_master_key
    from webapp.services.auth import load_user
    from webapp.services.holds import list_holds, place_hold
    from webapp.services.keys import rotate_keys
    from webapp.services.users import create_user

    old = MasterKey.from_text(generate_master_key(), source="test")
    new = MasterKey.from_text(generate_master_key(), source="test")
    svc = make_app(sqlite_url, KEYRING=KeyRing(old)).extensions["carenotes"]
    manager = load_user(svc, create_user(svc, "meg", web.PASSWORD, "manager", ("North",)))
    place_hold(svc, manager, "CR-ROTATE-1")
    rotated = make_app(sqlite_url, KEYRING=KeyRing(new, (old,))).extensions["carenotes"]
    assert rotate_keys(rotated) == (1, 0)
    only_new = make_app(sqlite_url, KEYRING=KeyRing(new)).extensions["carenotes"]
    assert [h.case_reference for h in list_holds(only_new, manager)] == ["CR-ROTATE-1"]


# Role → expected status for each oversight and governance page (North team).
GOVERNANCE_ROUTES = {
    "/oversight/notes/{id}": (403, 403, 200, 404, 403),
    "/oversight/dashboard": (403, 403, 200, 200, 403),
    "/oversight/samples": (403, 403, 200, 403, 403),
    "/oversight/holds": (403, 403, 200, 200, 200),
    "/oversight/subject-access": (403, 403, 403, 403, 200),
}
ROLES = ("social_worker", "practitioner", "manager", "admin", "information_governance")


def test_each_governance_page_answers_each_role_as_the_policy_says(drafted, login_as):
    _, recording_id = drafted
    browsers = {role: login_as(role) for role in ROLES}
    mismatches = []
    for route, expected in GOVERNANCE_ROUTES.items():
        for role, status in zip(ROLES, expected, strict=True):
            got = browsers[role].get(route.format(id=recording_id)).status_code
            if got != status:
                mismatches.append(f"{route} as {role}: expected {status}, got {got}")
    assert not mismatches, "\n".join(mismatches)
    assert (
        login_as("manager", team="South").get(f"/oversight/notes/{recording_id}").status_code == 404
    )
