"""Settings: defaults, environment overrides and what the background jobs are given."""

from __future__ import annotations

import pytest

from policies.errors import ConfigError
from webapp.jobs import transcribe_options
from webapp.settings import load_settings


def test_background_jobs_transcribe_in_batches_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("CARENOTES_SECRET_KEY", "x" * 48)
    options = transcribe_options(load_settings(tmp_path))
    assert options.batch_size == 8
    assert options.model == "base" and options.diarise is True


def test_the_batch_size_can_be_set_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CARENOTES_SECRET_KEY", "x" * 48)
    monkeypatch.setenv("CARENOTES_TRANSCRIBE_BATCH_SIZE", "0")
    assert transcribe_options(load_settings(tmp_path)).batch_size == 0


def test_a_batch_size_that_is_not_a_number_is_refused_naming_the_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("CARENOTES_SECRET_KEY", "x" * 48)
    monkeypatch.setenv("CARENOTES_TRANSCRIBE_BATCH_SIZE", "lots")
    with pytest.raises(ConfigError, match="TRANSCRIBE_BATCH_SIZE"):
        load_settings(tmp_path)
