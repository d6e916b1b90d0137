"""The access policy file is validated, and its rules drive the app."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.access import ROLE_NAMES, load_access_policy
from policies.errors import PolicyError

PACKAGED = Path(__file__).resolve().parents[2] / "policies" / "access.toml"


def test_the_packaged_policy_loads_with_every_role():
    policy = load_access_policy()
    assert set(policy.roles) == set(ROLE_NAMES)
    assert policy.role("practitioner").can("approve")
    assert not policy.role("admin").can("case_content")
    assert not policy.role("manager").can("edit")
    assert "mental-capacity-assessment" in policy.forbidden_visit_types
    assert policy.allow_self_approval is False


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("[roles.manager]", "[roles.boss]"), "unknown role [roles.boss]"),
        (
            ("audit = true\ncase_content = true", "audit = true\ncan_fly = true"),
            "unknown field roles.manager.can_fly",
        ),
        (
            ("allow_self_approval = false", 'allow_self_approval = "no"'),
            "approval.allow_self_approval must be a bool",
        ),
        (("audio_days_after_approval = 0", "audio_days_after_approval = -1"), "at least 0 days"),
        (('version = "2026.2"', "version = 3"), "version must be a str"),
        (("[retention]", "[retention"), "not valid TOML"),
    ],
)
def test_a_bad_policy_file_is_refused_naming_the_file_and_field(tmp_path, change, message):
    text = PACKAGED.read_text()
    assert change[0] in text
    bad = tmp_path / "access.toml"
    bad.write_text(text.replace(change[0], change[1], 1))
    with pytest.raises(PolicyError) as caught:
        load_access_policy(bad)
    assert str(bad) in str(caught.value) and message in str(caught.value)


def test_self_approval_can_be_allowed_by_policy(tmp_path, make_app, sqlite_url, data_dir, web):
    policy = tmp_path / "access.toml"
    policy.write_text(
        PACKAGED.read_text().replace("allow_self_approval = false", "allow_self_approval = true")
    )
    app = make_app(sqlite_url, POLICY_FILE=str(policy))
    svc = app.extensions["carenotes"]
    from webapp.services.users import create_user

    create_user(svc, "pat", web.PASSWORD, "practitioner", ("North",))
    browser = web.Browser(app)
    browser.login("pat")
    recording_id = web.upload(browser, data_dir / "jfk.flac").get_json()["url"].rsplit("/", 1)[-1]
    web.drain(svc)
    page = browser.get(f"/notes/{recording_id}").get_data(as_text=True)
    assert 'id="approve-form"' in page
