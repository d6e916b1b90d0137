"""The audit trail is scoped by the team of the record each entry is about, as it was
when the entry was written, never by the team the person who acted is in now."""

from __future__ import annotations

import sqlalchemy as sa

from webapp import db


def _team_id(svc, name):
    with svc.engine.connect() as conn:
        return conn.execute(sa.select(db.teams.c.id).where(db.teams.c.name == name)).scalar_one()


def _user_id(svc, username):
    with svc.engine.connect() as conn:
        return conn.execute(
            sa.select(db.users.c.id).where(db.users.c.username == username)
        ).scalar_one()


def _uploaded(response):
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["url"].rsplit("/", 1)[-1]


def test_a_user_in_two_teams_shows_each_team_only_its_own_records(
    app, svc, make_user, login_as, data_dir, web
):
    north = login_as("manager", team="North")
    south = login_as("manager", team="South")
    make_user("dual", "social_worker", ("North", "South"))
    dual = web.Browser(app)
    assert dual.login("dual").status_code == 302
    south_rec = _uploaded(
        web.upload(
            dual,
            data_dir / "jfk.flac",
            case_reference="CR-SOUTH-0001",
            team_id=str(_team_id(svc, "South")),
        )
    )
    north_rec = _uploaded(
        web.upload(
            dual,
            data_dir / "jfk.flac",
            case_reference="CR-NORTH-0002",
            team_id=str(_team_id(svc, "North")),
        )
    )
    north_page = north.get("/oversight/audit").get_data(as_text=True)
    south_page = south.get("/oversight/audit").get_data(as_text=True)
    assert "CR-NORTH-0002" in north_page and "CR-SOUTH-0001" not in north_page
    assert south_rec[:8] not in north_page
    assert "CR-SOUTH-0001" in south_page and "CR-NORTH-0002" not in south_page
    assert north_rec[:8] not in south_page


def test_a_user_who_moved_team_leaves_their_earlier_entries_with_the_earlier_team(
    app, svc, login_as, data_dir, web
):
    from webapp.services.auth import load_user
    from webapp.services.users import update_user

    north = login_as("manager", team="North")
    south = login_as("manager", team="South")
    admin = load_user(svc, _user_id(svc, login_as("admin").username))
    mover = login_as("social_worker", team="North")
    _uploaded(web.upload(mover, data_dir / "jfk.flac", case_reference="CR-EARLIER-7"))
    update_user(svc, admin, _user_id(svc, mover.username), "social_worker", ["South"])
    _uploaded(web.upload(mover, data_dir / "jfk.flac", case_reference="CR-LATER-8"))
    north_page = north.get("/oversight/audit").get_data(as_text=True)
    south_page = south.get("/oversight/audit").get_data(as_text=True)
    assert "CR-EARLIER-7" in north_page and "CR-LATER-8" not in north_page
    assert "CR-LATER-8" in south_page and "CR-EARLIER-7" not in south_page
    # The earlier upload is not shown to the South manager in any form.
    assert south_page.count("uploaded a recording") == 1
    assert north_page.count("uploaded a recording") == 1


def test_entries_written_before_teams_were_named_are_scoped_by_their_record(svc, login_as, drafted):
    from webapp import audit

    _, recording_id = drafted
    with svc.engine.begin() as conn:
        audit.append(
            conn,
            db.audit_log,
            actor_id=None,
            actor="legacy",
            action="listen",
            record_type="recording",
            record_id=recording_id,
        )
        audit.append(conn, db.audit_log, actor_id=None, actor="legacy", action="sign_in")
    north = login_as("manager", team="North").get("/oversight/audit").get_data(as_text=True)
    south = login_as("manager", team="South").get("/oversight/audit").get_data(as_text=True)
    assert north.count("legacy") == 1 and "legacy" not in south
    with svc.engine.connect() as conn:
        assert audit.verify(conn, db.audit_log).ok
