"""Signing in does the same password-hash work whether or not the account exists, is
disabled or is locked, so the time it takes tells nothing about the account."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from webapp import db


@pytest.fixture
def verifications(monkeypatch):
    """Every argon2 verification made, as the hash it was made against."""
    from argon2 import PasswordHasher

    seen: list[str] = []
    real = PasswordHasher.verify

    def counting(self, hash, password):  # noqa: A002 - argon2's own parameter name
        seen.append(hash)
        return real(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    return seen


def test_an_unknown_disabled_or_locked_account_is_checked_against_a_hash_too(
    app, svc, make_user, web, verifications
):
    from webapp.services.auth import dummy_hash

    user_id = make_user("known", "social_worker")
    make_user("disabled", "social_worker")
    make_user("locked", "social_worker")
    with svc.engine.begin() as conn:
        conn.execute(
            sa.update(db.users).where(db.users.c.username == "disabled").values(active=False)
        )
        conn.execute(
            sa.update(db.users)
            .where(db.users.c.username == "locked")
            .values(locked_until=db.utcnow().replace(year=2100))
        )
    for username in ("nobody-at-all", "disabled", "locked", "known"):
        verifications.clear()
        response = web.Browser(app).login(username, "not the right password")
        assert response.status_code == 401
        assert len(verifications) == 1, username
        if username != "known":
            assert verifications == [dummy_hash(svc)], username
    assert user_id


def test_an_unknown_account_takes_about_as_long_as_a_known_one(make_app, sqlite_url, web):
    # Real argon2 cost, so that the difference the hash makes would show.
    app = make_app(sqlite_url, PASSWORD_TIME_COST=2, PASSWORD_MEMORY_KIB=32768)
    from webapp.services.users import create_user

    create_user(app.extensions["carenotes"], "known", web.PASSWORD, "social_worker", ("North",))

    def timed(username: str) -> float:
        browser = web.Browser(app)
        started = time.perf_counter()
        browser.login(username, "not the right password")
        return time.perf_counter() - started

    timed("warm-up")
    known = min(timed("known") for _ in range(3))
    unknown = min(timed("nobody-at-all") for _ in range(3))
    # Generous: before, an unknown name answered some forty times faster.
    assert unknown > known / 4, (known, unknown)
