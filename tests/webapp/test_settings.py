"""Settings: defaults, environment overrides and what the background jobs are given."""

from __future__ import annotations

import pytest

from policies.errors import ConfigError
from webapp.settings import load_settings


def test_background_jobs_transcribe_in_batches_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("CARENOTES_SECRET_KEY", "x" * 48)
    options = load_settings(tmp_path).transcribe_options()
    assert options.batch_size == 8
    assert options.model == "base" and options.diarise is True


def test_the_voice_model_is_cam_plus_plus_unless_the_environment_names_resemblyzer(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("CARENOTES_SECRET_KEY", "x" * 48)
    assert load_settings(tmp_path).transcribe_options().voice_model == "campplus"
    monkeypatch.setenv("CARENOTES_TRANSCRIBE_VOICE_MODEL", "resemblyzer")
    assert load_settings(tmp_path).transcribe_options().voice_model == "resemblyzer"
    monkeypatch.setenv("CARENOTES_TRANSCRIBE_VOICE_MODEL", "ecapa")
    with pytest.raises(ConfigError, match="TRANSCRIBE_VOICE_MODEL must be campplus or resemblyzer"):
        load_settings(tmp_path)


def test_the_batch_size_can_be_set_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CARENOTES_SECRET_KEY", "x" * 48)
    monkeypatch.setenv("CARENOTES_TRANSCRIBE_BATCH_SIZE", "0")
    assert load_settings(tmp_path).transcribe_options().batch_size == 0


def test_a_batch_size_that_is_not_a_number_is_refused_naming_the_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("CARENOTES_SECRET_KEY", "x" * 48)
    monkeypatch.setenv("CARENOTES_TRANSCRIBE_BATCH_SIZE", "lots")
    with pytest.raises(ConfigError, match="TRANSCRIBE_BATCH_SIZE"):
        load_settings(tmp_path)


def test_each_stage_has_its_own_queue_which_the_environment_can_move(tmp_path, monkeypatch):
    from webapp.pipeline import DRAFT, TRANSCRIBE, queue_for

    monkeypatch.setenv("CARENOTES_SECRET_KEY", "x" * 48)
    settings = load_settings(tmp_path)
    assert (queue_for(settings, TRANSCRIBE), queue_for(settings, DRAFT)) == ("transcribe", "draft")
    monkeypatch.setenv("CARENOTES_TRANSCRIBE_QUEUE", "transcribe-gpu")
    settings = load_settings(tmp_path)
    assert (queue_for(settings, TRANSCRIBE), queue_for(settings, DRAFT)) == (
        "transcribe-gpu",
        "draft",
    )


def test_the_old_single_queue_setting_is_refused_saying_what_replaced_it(tmp_path, monkeypatch):
    monkeypatch.setenv("CARENOTES_SECRET_KEY", "x" * 48)
    monkeypatch.setenv("CARENOTES_CELERY_QUEUE", "transcribe")
    with pytest.raises(ConfigError, match="CARENOTES_TRANSCRIBE_QUEUE .* CARENOTES_DRAFT_QUEUE"):
        load_settings(tmp_path)


def test_an_empty_queue_name_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("CARENOTES_SECRET_KEY", "x" * 48)
    monkeypatch.setenv("CARENOTES_DRAFT_QUEUE", " ")
    with pytest.raises(ConfigError, match="DRAFT_QUEUE"):
        load_settings(tmp_path)


def test_a_worker_loads_only_the_models_its_queues_need(tmp_path, monkeypatch, caplog):
    from webapp.celery_app import models_for_queues

    monkeypatch.setenv("CARENOTES_SECRET_KEY", "x" * 48)
    monkeypatch.setenv("CARENOTES_TRANSCRIBE_QUEUE", "transcribe-gpu")
    settings = load_settings(tmp_path)
    assert models_for_queues(settings, {"transcribe-gpu"}) == ["transcriber"]
    assert models_for_queues(settings, {"draft"}) == ["drafter"]
    assert models_for_queues(settings, {"transcribe-gpu", "draft"}) == ["transcriber", "drafter"]
    assert models_for_queues(settings, {"transcribe"}) == []  # not this deployment's name
    assert "queue transcribe is neither" in caplog.text


def test_the_data_folder_holds_the_database_and_the_recordings(tmp_path, monkeypatch):
    monkeypatch.setenv("CARENOTES_SECRET_KEY", "x" * 48)
    settings = load_settings(tmp_path / "instance")
    assert settings.data_dir == str(tmp_path / "instance")
    monkeypatch.setenv("CARENOTES_DATA_DIR", str(tmp_path / "elsewhere"))
    settings = load_settings(tmp_path / "instance")
    assert settings.database_url == f"sqlite:///{tmp_path / 'elsewhere' / 'carenotes.db'}"
    assert settings.storage_dir == str(tmp_path / "elsewhere" / "storage")


def test_a_database_or_storage_folder_set_explicitly_wins_over_the_data_folder(tmp_path):
    settings = load_settings(
        tmp_path,
        {
            "SECRET_KEY": "x" * 48,
            "DATA_DIR": str(tmp_path / "data"),
            "STORAGE_DIR": str(tmp_path / "blobs"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'other.db'}",
        },
    )
    assert settings.storage_dir == str(tmp_path / "blobs")
    assert settings.database_url == f"sqlite:///{tmp_path / 'other.db'}"


def test_an_embedded_installation_without_a_master_key_is_given_the_key_file_it_made(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("CARENOTES_SECRET_KEY", "x" * 48)
    for name in ("CARENOTES_MASTER_KEY", "CARENOTES_MASTER_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    settings = load_settings(tmp_path / "instance")
    key_file = tmp_path / "config" / "carenotes" / "master.key"
    assert settings.master_key_file == str(key_file) and key_file.exists()
    assert not (tmp_path / "config" / "carenotes" / "secret_key").exists()  # one was given
