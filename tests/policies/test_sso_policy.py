"""The single sign-on group mapping (policies/sso.toml) and the settings that turn it on."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.errors import ConfigError, PolicyError
from policies.sso import load_group_map

GOOD = """
version = "2026.1"

[[groups]]
group = "admins"
role = "admin"

[[groups]]
group = "practitioners"
role = "practitioner"
teams = ["North"]

[[groups]]
group = "south"
teams = ["South", "Duty"]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sso.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_first_rule_that_gives_a_role_wins_and_every_matching_team_is_kept(tmp_path):
    mapping = load_group_map(_write(tmp_path, GOOD))
    both = mapping.membership(["south", "practitioners", "admins", "unrelated"])
    assert both.role == "admin"
    assert both.teams == ("Duty", "North", "South")
    assert mapping.membership(["south"]).role == ""
    assert mapping.version == "2026.1"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[[groups]]\ngroup = "a"\nrole = "superuser"', "groups[0].role is 'superuser'"),
        (
            '[[groups]]\ngroup = "a"\nrole = "admin"\ncolour = "red"',
            "unknown field groups[0].colour",
        ),
        ('[[groups]]\nrole = "admin"', "groups[0].group is missing"),
        (
            '[[groups]]\ngroup = "a"\nrole = "admin"\nteams = "North"',
            "groups[0].teams must be a list",
        ),
        ('[[groups]]\ngroup = "a"\nteams = ["North"]', "no [[groups]] rule gives a role"),
        (
            '[[groups]]\ngroup = "a"\nrole = "admin"\n[[groups]]\ngroup = "b"',
            "groups[1] (group 'b') gives neither",
        ),
        (
            '[[groups]]\ngroup = "a"\nrole = "admin"\n[[groups]]\ngroup = "a"\nteams = ["N"]',
            "group 'a' is listed twice (groups[0] and groups[1])",
        ),
        ('[roles]\nadmins = "admin"', "unknown field(s) roles"),
        ("[[groups]\n", "not valid TOML"),
    ],
)
def test_a_bad_mapping_is_refused_naming_the_file_and_the_field(tmp_path, text, words):
    path = _write(tmp_path, text)
    with pytest.raises(PolicyError) as refused:
        load_group_map(path)
    assert str(path) in str(refused.value)
    assert words in str(refused.value)


def test_the_packaged_mapping_must_be_filled_in_before_single_sign_on_starts():
    with pytest.raises(PolicyError, match="sso.toml: no \\[\\[groups\\]\\] rule gives a role"):
        load_group_map()


def test_the_app_does_not_start_with_single_sign_on_and_a_bad_mapping(tmp_path, monkeypatch):
    from webapp import create_app
    from webapp.crypto import KeyRing, MasterKey, generate_master_key

    path = _write(tmp_path, '[[groups]]\ngroup = "a"\nrole = "boss"')
    with pytest.raises(PolicyError, match="groups\\[0\\].role"):
        create_app(
            {
                "SECRET_KEY": "k" * 32,
                "DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
                "INSTANCE_PATH": str(tmp_path / "instance"),
                "KEYRING": KeyRing(MasterKey.from_text(generate_master_key(), source="test")),
                "RUN_WORKER": False,
                "OIDC_ISSUER": "https://login.example.gov.uk/tenant/v2.0",
                "OIDC_CLIENT_ID": "carenotes",
                "OIDC_CLIENT_SECRET": "s" * 32,
                "OIDC_GROUP_MAP_FILE": str(path),
            }
        )


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"PASSWORD_SIGN_IN": "false"}, "nobody could sign in"),
        ({"OIDC_ISSUER": "https://login.example/t/v2.0"}, "CARENOTES_OIDC_CLIENT_ID is not"),
        (
            {"OIDC_ISSUER": "https://login.example/t/v2.0", "OIDC_CLIENT_ID": "carenotes"},
            "CARENOTES_OIDC_CLIENT_SECRET is not",
        ),
        ({"OIDC_ISSUER": "http://login.example/t/v2.0"}, "must be an https:// address"),
        (
            {
                "OIDC_ISSUER": "https://login.example/t/v2.0",
                "OIDC_CLIENT_ID": "c",
                "OIDC_CLIENT_SECRET": "s",
                "OIDC_SCOPES": "profile email",
            },
            "must include openid",
        ),
    ],
)
def test_single_sign_on_settings_that_cannot_work_stop_the_start_saying_which(
    tmp_path, config, words
):
    from webapp.settings import load_settings

    with pytest.raises(ConfigError, match=words):
        load_settings(tmp_path, {"SECRET_KEY": "k" * 32, **config})


def test_a_trailing_slash_on_the_issuer_is_dropped(tmp_path):
    from webapp.settings import load_settings

    settings = load_settings(
        tmp_path,
        {
            "SECRET_KEY": "k" * 32,
            "OIDC_ISSUER": "https://login.example/t/v2.0/",
            "OIDC_CLIENT_ID": "c",
            "OIDC_CLIENT_SECRET": "s",
        },
    )
    assert settings.oidc_issuer == "https://login.example/t/v2.0"
    assert settings.password_sign_in is True
