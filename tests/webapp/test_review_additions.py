"""The practitioner finishing the note: their own statements, restoring, reordering.

A statement the practitioner adds is theirs, not the AI's: marked so on the page, in
every export and in the manager's comparison, and counted as added in the figures.
"""

from __future__ import annotations

import json

import sqlalchemy as sa

from webapp import db
from webapp.services.note_items import PRACTITIONER_MARK

ANALYSIS = "Mrs P is managing at home with help from her daughter; the risk of falls is low."


def _sender(browser, svc, state, recording_id):
    version = state(svc, recording_id)[0]

    def send(path, body, expect=200):
        nonlocal version
        response = browser.post_json(f"/notes/{recording_id}{path}", {**body, "version": version})
        assert response.status_code == expect, response.get_data(as_text=True)
        if expect == 200:
            version = response.get_json()["version"]
        return response.get_json()

    return send


def _versions(svc):
    with svc.engine.connect() as conn:
        return conn.execute(
            sa.select(db.note_versions.c.action, db.note_versions.c.target).order_by(
                db.note_versions.c.version
            )
        ).all()


def _audit(svc):
    with svc.engine.connect() as conn:
        return conn.execute(sa.select(db.audit_log.c.action)).scalars().all()


def _section_ids(work, key):
    from webapp.services.note_items import section_item_ids

    return section_item_ids(work, key)


def test_a_practitioner_adds_their_own_analysis_marked_as_theirs_and_audited(drafted, svc, state):
    worker, recording_id = drafted
    _, work, draft, _ = state(svc, recording_id)
    analysis = next(s for s in draft["sections"] if s["key"] == "analysis")
    assert not _section_ids(work, "analysis"), "the fake draft has no analysis of its own"
    send = _sender(worker, svc, state, recording_id)
    answer = send("/sections/analysis/statements", {"text": f"  {ANALYSIS}  "})
    assert answer["item"] == "analysis-added-1"
    _, work, _, _ = state(svc, recording_id)
    assert work["items"]["analysis-added-1"] == {
        "section": "analysis",
        "text": ANALYSIS,
        "status": "added",
        "flagged": False,
        "author": "practitioner",
    }
    assert ("add", "analysis-added-1") in _versions(svc) and "add" in _audit(svc)
    html = worker.get(f"/notes/{recording_id}").get_data(as_text=True)
    assert "Written by the practitioner, not the AI" in html and ANALYSIS in html
    assert "added <code>" not in html  # the page's history names it in words
    assert "the practitioner&#39;s statement 1 in \u201cAnalysis\u201d" in html
    assert analysis["title"] in html
    # Editing it keeps it theirs; an empty statement or an unknown section is refused.
    send("/items/analysis-added-1", {"action": "edit", "text": ANALYSIS + " Reviewed."})
    assert state(svc, recording_id)[1]["items"]["analysis-added-1"]["status"] == "added"
    refused = send("/sections/analysis/statements", {"text": "   "}, expect=400)
    assert "Type the statement" in refused["error"]
    assert "no section" in send("/sections/nowhere/statements", {"text": "x"}, expect=400)["error"]


def test_a_deleted_statement_is_restored_as_it_stood_before(drafted, svc, state):
    worker, recording_id = drafted
    _, work, _, _ = state(svc, recording_id)
    flagged = next(i for i, item in work["items"].items() if item["status"] == "open")
    plain = next(i for i, item in work["items"].items() if item["status"] == "ok")
    send = _sender(worker, svc, state, recording_id)
    # A flagged statement deleted unchecked needs checking again once restored.
    send(f"/items/{flagged}", {"action": "delete"})
    assert send(f"/items/{flagged}", {"action": "restore"})["status"] == "open"
    # An edited one comes back edited, with its edit.
    send(f"/items/{plain}", {"action": "edit", "text": "Mrs P's daughter helps on Tuesdays."})
    send(f"/items/{plain}", {"action": "delete"})
    assert send(f"/items/{plain}", {"action": "restore"})["status"] == "edited"
    item = state(svc, recording_id)[1]["items"][plain]
    assert item["text"] == "Mrs P's daughter helps on Tuesdays." and item["status"] == "edited"
    assert "not deleted" in send(f"/items/{plain}", {"action": "restore"}, expect=400)["error"]
    assert _audit(svc).count("restore") == 2
    assert [a for a, _ in _versions(svc)].count("restore") == 2


def test_statements_move_within_their_section_and_the_note_follows_that_order(drafted, svc, state):
    from summarise import Draft
    from webapp.services.exports import render_text
    from webapp.services.notes import note_meta

    worker, recording_id = drafted
    _, work, draft, _ = state(svc, recording_id)
    key = next(s["key"] for s in draft["sections"] if len(_section_ids(work, s["key"])) >= 3)
    first, second, third = _section_ids(work, key)[:3]
    send = _sender(worker, svc, state, recording_id)
    send(f"/items/{second}/move", {"direction": "up"})
    send(f"/items/{first}/move", {"direction": "down"})
    _, work, _, _ = state(svc, recording_id)
    assert _section_ids(work, key)[:3] == [second, third, first]
    assert (
        "already the first"
        in send(f"/items/{second}/move", {"direction": "up"}, expect=400)["error"]
    )
    assert (
        "use up or down"
        in send(f"/items/{second}/move", {"direction": "sideways"}, expect=400)["error"]
    )
    assert [a for a, _ in _versions(svc)] == ["reorder", "reorder"]
    assert _audit(svc).count("reorder") == 2
    # A statement added afterwards goes at the end of the chosen order.
    added = send(f"/sections/{key}/statements", {"text": "Added last."})["item"]
    _, work, _, _ = state(svc, recording_id)
    assert _section_ids(work, key)[-1] == added
    texts = [work["items"][i]["text"] for i in (second, third, first)]
    with svc.engine.connect() as conn:
        rec = conn.execute(sa.select(db.recordings)).one()
    text = render_text(
        note_meta(svc, svc.vault.data_key(rec.id, rec.wrapped_key), rec),
        Draft.from_dict(draft),
        work,
    )
    positions = [text.index(t) for t in texts]
    assert positions == sorted(positions)
    assert f"{PRACTITIONER_MARK} Added last." in text
    page = worker.get(f"/notes/{recording_id}").get_data(as_text=True)
    assert page.index(f'id="item-{second}"') < page.index(f'id="item-{first}"')


def test_an_approved_note_marks_the_practitioners_statements_in_every_export(
    drafted, svc, state, login_as, resolve_all, web
):
    import io

    import docx

    worker, recording_id = drafted
    send = _sender(worker, svc, state, recording_id)
    send("/sections/analysis/statements", {"text": ANALYSIS})
    approver = login_as("practitioner")
    version = resolve_all(approver, svc, recording_id)
    response = approver.post_json(
        f"/notes/{recording_id}/approve", {"password": web.PASSWORD, "version": version}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    text = approver.get(f"/notes/{recording_id}/note.txt").get_data(as_text=True)
    assert f"ANALYSIS\n{PRACTITIONER_MARK} {ANALYSIS}" in text
    document = docx.Document(io.BytesIO(approver.get(f"/notes/{recording_id}/note.docx").data))
    assert any(PRACTITIONER_MARK in p.text for p in document.paragraphs)
    exported = json.loads(approver.get(f"/notes/{recording_id}/note.json").data)
    analysis = next(s for s in exported["sections"] if s["title"] == "Analysis")
    assert analysis["statements"] == [{"text": ANALYSIS, "written_by": "practitioner"}]
    others = [s for sec in exported["sections"] if sec is not analysis for s in sec["statements"]]
    assert others and {s["written_by"] for s in others} == {"ai"}
    page = approver.get(f"/notes/{recording_id}").get_data(as_text=True)
    assert "Written by the practitioner, not the AI" in page
    # Through the API too, for a case-management system.
    from webapp.services.api_tokens import create_token

    token = create_token(svc, "Mosaic import", ("North",)).token
    note_id = state(svc, recording_id)[3].id
    fetched = approver.app.test_client(use_cookies=False).get(
        f"/api/v1/notes/{note_id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert fetched.status_code == 200, fetched.get_data(as_text=True)
    body = fetched.get_json()
    section = next(s for s in body["sections"] if s["key"] == "analysis")
    assert section["statements"] == [
        {"id": "analysis-added-1", "text": ANALYSIS, "written_by": "practitioner"}
    ]
    assert f"{PRACTITIONER_MARK} {ANALYSIS}" in body["text"]


def test_a_manager_sees_the_practitioners_statement_as_theirs_and_the_figures_count_it_added(
    drafted, svc, state, login_as, resolve_all, web
):
    worker, recording_id = drafted
    _, work, draft, _ = state(svc, recording_id)
    key = next(s["key"] for s in draft["sections"] if len(_section_ids(work, s["key"])) >= 2)
    first, second = _section_ids(work, key)[:2]
    send = _sender(worker, svc, state, recording_id)
    send("/sections/analysis/statements", {"text": ANALYSIS})
    send(f"/items/{second}/move", {"direction": "up"})  # moved, not reworded
    send("/sections/analysis/statements", {"text": "Deleted again."})
    send("/items/analysis-added-2", {"action": "delete"})
    approver = login_as("practitioner")
    version = resolve_all(approver, svc, recording_id)
    response = approver.post_json(
        f"/notes/{recording_id}/approve", {"password": web.PASSWORD, "version": version}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    with svc.engine.connect() as conn:
        figures = conn.scalar(sa.select(db.notes.c.review_figures))
    assert figures["unchanged_share"] == 1.0 and figures["edit_share"] == 0.0
    assert figures["statements_added"] == 1 and figures["statements_removed"] == 0
    manager = login_as("manager")
    html = manager.get(f"/oversight/notes/{recording_id}").get_data(as_text=True)
    assert f'<span class="visually-hidden">Added: </span>{PRACTITIONER_MARK} {ANALYSIS}' in html
    assert "added <code>the practitioner&#39;s statement 1 in \u201cAnalysis\u201d</code>" in html
    assert "moved <code>" in html
    dashboard = manager.get("/oversight/dashboard").get_data(as_text=True)
    assert "1 added, 0 removed" in dashboard


def test_deleting_an_ai_statement_counts_it_removed(
    drafted, svc, state, login_as, resolve_all, web
):
    worker, recording_id = drafted
    _, work, _, _ = state(svc, recording_id)
    plain = next(i for i, item in work["items"].items() if item["status"] == "ok")
    _sender(worker, svc, state, recording_id)(f"/items/{plain}", {"action": "delete"})
    approver = login_as("practitioner")
    version = resolve_all(approver, svc, recording_id)
    approver.post_json(
        f"/notes/{recording_id}/approve", {"password": web.PASSWORD, "version": version}
    )
    with svc.engine.connect() as conn:
        figures = conn.scalar(sa.select(db.notes.c.review_figures))
    assert figures["statements_added"] == 0 and figures["statements_removed"] == 1
    assert figures["unchanged_share"] < 1.0


def test_naming_speakers_twice_is_no_edit_of_the_ai_draft_in_the_diff_or_the_figures(
    drafted, svc, state, login_as, resolve_all, web
):
    worker, recording_id = drafted
    send = _sender(worker, svc, state, recording_id)
    # Named, then renamed (from the participants list), and a label given a role word.
    send("/speakers", {"label": "SPEAKER_2", "name": "Mrs P"})
    send("/speakers", {"label": "SPEAKER_2", "name": "Mrs Patel"})
    send("/speakers", {"label": "SPEAKER_1", "name": "Sam Social Worker"})
    _, work, _, _ = state(svc, recording_id)
    assert "Mrs Patel" in " ".join(i["text"] for i in work["items"].values())
    approver = login_as("practitioner")
    version = resolve_all(approver, svc, recording_id)
    response = approver.post_json(
        f"/notes/{recording_id}/approve", {"password": web.PASSWORD, "version": version}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    with svc.engine.connect() as conn:
        figures = conn.scalar(sa.select(db.notes.c.review_figures))
    assert figures["edit_share"] == 0.0 and figures["unchanged_share"] == 1.0
    assert figures["statements_added"] == 0 and figures["statements_removed"] == 0
    html = login_as("manager").get(f"/oversight/notes/{recording_id}").get_data(as_text=True)
    overall = html.split('id="overall-diff"', 1)[1].split("</section>", 1)[0]
    assert "Mrs Patel" in overall
    assert '<ins class="added">' not in overall and '<del class="removed">' not in overall
    # The AI draft itself is still shown as the AI wrote it.
    assert "Speaker 2" in html.split('id="ai-text"', 1)[1].split("</pre>", 1)[0]
