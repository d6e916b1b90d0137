"""Legal holds belong to a team: only that team sees them, and only its information
governance can lift them, with a reason that is audited."""

from __future__ import annotations

import json

import sqlalchemy as sa

from webapp import db


def _hold_id(svc, team):
    with svc.engine.connect() as conn:
        return conn.execute(
            sa.select(db.legal_holds.c.id)
            .join(db.teams, db.teams.c.id == db.legal_holds.c.team_id)
            .where(db.teams.c.name == team)
        ).scalar_one()


def test_each_team_sees_only_its_own_holds(login_as):
    north = login_as("manager", team="North")
    south = login_as("manager", team="South")
    assert north.post("/oversight/holds", {"case_reference": "CR-NORTH-1"}).status_code == 302
    assert south.post("/oversight/holds", {"case_reference": "CR-SOUTH-1"}).status_code == 302
    north_page = north.get("/oversight/holds").get_data(as_text=True)
    south_page = south.get("/oversight/holds").get_data(as_text=True)
    assert "CR-NORTH-1" in north_page and "CR-SOUTH-1" not in north_page
    assert "CR-SOUTH-1" in south_page and "CR-NORTH-1" not in south_page
    # The same case held by another team is not refused (nor so revealed).
    assert south.post("/oversight/holds", {"case_reference": "cr-north-1"}).status_code == 302
    south_governance = login_as("information_governance", team="South")
    page = south_governance.get("/oversight/holds").get_data(as_text=True)
    assert "CR-SOUTH-1" in page and "CR-NORTH-1" in page.upper()
    assert page.count("Lift the hold") == 2


def test_only_governance_of_the_holds_team_lifts_it_and_says_why(svc, login_as):
    north = login_as("manager", team="North")
    assert north.post("/oversight/holds", {"case_reference": "CR-LIFT-1"}).status_code == 302
    hold_id = _hold_id(svc, "North")
    lift = f"/oversight/holds/{hold_id}/lift"
    assert north.post(lift, {"reason": "No longer needed"}).status_code == 403
    assert login_as("admin").post(lift, {"reason": "No longer needed"}).status_code == 403
    other = login_as("information_governance", team="South")
    assert other.post(lift, {"reason": "No longer needed"}).status_code == 404
    governance = login_as("information_governance", team="North")
    blank = governance.post(lift, {"reason": "  "})
    assert blank.status_code == 400 and "Say why" in blank.get_data(as_text=True)
    assert governance.post(lift, {"reason": "x" * 201}).status_code == 400
    assert governance.post(lift, {"reason": "Litigation concluded"}).status_code == 302
    with svc.engine.connect() as conn:
        entry = conn.execute(
            sa.select(db.audit_log).where(db.audit_log.c.action == "legal_hold_cleared")
        ).one()
        hold = conn.execute(sa.select(db.legal_holds)).one()
    assert json.loads(entry.detail) == {"reason": "Litigation concluded"}
    assert entry.record_id == hold_id and hold.cleared_at is not None
    assert governance.post(lift, {"reason": "Again"}).status_code == 404


def test_an_administrator_sees_a_hold_exists_but_not_its_case(login_as):
    login_as("manager").post("/oversight/holds", {"case_reference": "CR-HIDDEN-9"})
    page = login_as("admin").get("/oversight/holds").get_data(as_text=True)
    assert "CR-HIDDEN-9" not in page and "hidden (case content)" in page
