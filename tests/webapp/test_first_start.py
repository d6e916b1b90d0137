"""First start of an embedded installation: secrets made once, kept outside the data
folder, reused later; production still needs them given."""

from __future__ import annotations

import argparse
import logging
import stat

import pytest

from policies.errors import ConfigError
from webapp.commands import add_commands
from webapp.settings import load_settings

SECRET_VARIABLES = (
    "CARENOTES_SECRET_KEY",
    "CARENOTES_MASTER_KEY",
    "CARENOTES_MASTER_KEY_FILE",
    "CARENOTES_PREVIOUS_MASTER_KEYS",
    "CARENOTES_DATABASE_URL",
    "CARENOTES_STORAGE_DIR",
    "XDG_CONFIG_HOME",
)


@pytest.fixture
def bare_home(tmp_path, monkeypatch):
    """A user with nothing exported: no secrets, no config folder, a home of their own."""
    for name in SECRET_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CARENOTES_PASSWORD_MEMORY_KIB", "1024")
    monkeypatch.setenv("CARENOTES_PASSWORD_TIME_COST", "1")
    return home


def _start(data_dir):
    from webapp import create_app

    return create_app({"DATA_DIR": str(data_dir), "RUN_WORKER": False})


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_a_first_start_with_nothing_set_makes_both_secrets_readable_only_by_their_owner(
    bare_home, tmp_path, caplog
):
    data = tmp_path / "data"
    caplog.set_level(logging.WARNING)
    app = _start(data)
    folder = bare_home / ".config" / "carenotes"
    secret_file, key_file = folder / "secret_key", folder / "master.key"
    try:
        assert _mode(secret_file) == 0o600 and _mode(key_file) == 0o600
        assert _mode(folder) == 0o700
        assert not folder.is_relative_to(data)
        assert app.secret_key == secret_file.read_text().strip()
        assert len(key_file.read_text().strip()) == 44
        assert (data / "carenotes.db").exists()
        assert app.test_client().get("/login").status_code == 200
        assert str(key_file) in caplog.text and "Back up the master key" in caplog.text
    finally:
        app.extensions["carenotes"].engine.dispose()


def test_a_second_start_reuses_the_secrets_and_opens_the_first_start_s_data(
    bare_home, tmp_path, caplog, web
):
    from webapp.services.users import create_first_admin

    data = tmp_path / "data"
    first = _start(data)
    username, password = create_first_admin(first.extensions["carenotes"])
    first.extensions["carenotes"].engine.dispose()
    key_file = bare_home / ".config" / "carenotes" / "master.key"
    key_text = key_file.read_text()

    caplog.clear()
    caplog.set_level(logging.WARNING)
    second = _start(data)
    try:
        assert second.secret_key == first.secret_key
        assert key_file.read_text() == key_text
        assert "Back up the master key" not in caplog.text
        assert web.Browser(second).login(username, password).status_code == 302
    finally:
        second.extensions["carenotes"].engine.dispose()


def test_xdg_config_home_is_where_the_secrets_go_when_it_is_set(bare_home, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    settings = load_settings(tmp_path / "instance")
    assert settings.master_key_file == str(tmp_path / "xdg" / "carenotes" / "master.key")
    assert not (bare_home / ".config").exists()


def test_production_refuses_to_start_without_secrets_and_makes_none(
    bare_home, tmp_path, monkeypatch
):
    monkeypatch.setenv("CARENOTES_ENV", "production")
    with pytest.raises(ConfigError, match="CARENOTES_SECRET_KEY is not set") as caught:
        _start(tmp_path / "data")
    assert "carenotes keys generate" in str(caught.value)
    assert not (bare_home / ".config").exists()

    monkeypatch.setenv("CARENOTES_SECRET_KEY", "p" * 32)
    with pytest.raises(ConfigError, match="No master key is set") as caught:
        _start(tmp_path / "data")
    assert "CARENOTES_MASTER_KEY_FILE" in str(caught.value)
    assert not (bare_home / ".config").exists()


def test_a_server_database_is_never_given_made_up_secrets(bare_home, tmp_path):
    with pytest.raises(ConfigError, match="production installation does not make its own"):
        load_settings(
            tmp_path, {"DATABASE_URL": "postgresql+psycopg://carenotes@db.example:5432/carenotes"}
        )
    assert not (bare_home / ".config").exists()


def test_secrets_given_explicitly_are_used_and_no_files_are_made(bare_home, tmp_path, monkeypatch):
    from webapp.keys import generate_master_key

    monkeypatch.setenv("CARENOTES_SECRET_KEY", "given-secret-key-0123456789")
    monkeypatch.setenv("CARENOTES_MASTER_KEY", generate_master_key())
    settings = load_settings(tmp_path)
    assert settings.secret_key == "given-secret-key-0123456789"
    assert settings.master_key_file == ""
    assert not (bare_home / ".config").exists()


def test_a_secrets_folder_inside_the_data_folder_is_refused(bare_home, tmp_path):
    data = tmp_path / "data"
    with pytest.raises(ConfigError, match="inside the data folder"):
        load_settings(tmp_path, {"DATA_DIR": str(data), "CONFIG_DIR": str(data / "secrets")})
    assert not (data / "secrets").exists()


def test_an_unknown_environment_name_is_refused(bare_home, tmp_path, monkeypatch):
    monkeypatch.setenv("CARENOTES_ENV", "staging")
    with pytest.raises(ConfigError, match="CARENOTES_ENV must be embedded or production"):
        load_settings(tmp_path)


def test_carenotes_serve_data_keeps_the_data_there_and_says_where_the_secrets_are(
    bare_home, tmp_path, monkeypatch, capsys, caplog
):
    served: list[tuple] = []
    monkeypatch.setattr(
        "webapp.commands.serve_with_gunicorn",
        lambda *args, **kwargs: served.append((args, kwargs)) or 0,
    )
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(dest="command", required=True))
    data = tmp_path / "my data"
    args = parser.parse_args(["serve", "--data", str(data), "--port", "5055"])
    caplog.set_level(logging.WARNING)

    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert (data / "carenotes.db").exists() and (data / "storage").is_dir()
    assert f"Data folder: {data}" in out and "password:" in out
    assert served[0][1] == {"data": str(data)}
    key_file = bare_home / ".config" / "carenotes" / "master.key"
    assert f"master key: {key_file}" in caplog.text

    caplog.clear()
    assert args.func(args) == 0
    assert "master key:" not in caplog.text and "password:" not in capsys.readouterr().out
