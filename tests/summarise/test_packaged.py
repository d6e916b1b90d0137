"""The packaged language models: joined once from their parts, checksum verified."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from policies.errors import ModelUnavailable
from summarise import packaged
from summarise.packaged import PACKAGED_MODELS, packaged_model_file, prepare_language_model


@pytest.mark.slow
def test_a_packaged_model_is_joined_once_and_joined_again_when_the_copy_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARENOTES_CACHE_DIR", str(tmp_path))
    assert packaged_model_file("qwen2.5-0.5b") is None
    joined = prepare_language_model("qwen2.5-0.5b")
    assert joined.stat().st_size == PACKAGED_MODELS["qwen2.5-0.5b"].size
    assert packaged_model_file("qwen2.5-0.5b") == joined
    with joined.open("r+b") as handle:  # damage the cached copy
        handle.write(b"XXXX")
    joined.touch()
    assert packaged_model_file("qwen2.5-0.5b") is None
    assert prepare_language_model("qwen2.5-0.5b").read_bytes()[:4] == b"GGUF"


def test_parts_that_do_not_join_to_the_recorded_checksum_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARENOTES_CACHE_DIR", str(tmp_path))
    wrong = dataclasses.replace(PACKAGED_MODELS["qwen2.5-0.5b"], sha256="0" * 64)
    monkeypatch.setitem(packaged.PACKAGED_MODELS, "qwen2.5-0.5b", wrong)
    with pytest.raises(ModelUnavailable, match="damaged"):
        prepare_language_model("qwen2.5-0.5b")
    assert not any(tmp_path.rglob("*.gguf"))


def test_an_unknown_model_name_lists_the_packaged_ones() -> None:
    with pytest.raises(ModelUnavailable, match="qwen2.5-1.5b"):
        prepare_language_model("gpt-7")


def test_the_threads_llama_cpp_drafts_with_come_from_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    from summarise.model import _threads

    monkeypatch.delenv("CARENOTES_LLM_THREADS", raising=False)
    assert _threads() == max(1, os.cpu_count() or 1)
    monkeypatch.setenv("CARENOTES_LLM_THREADS", "1")
    assert _threads() == 1
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv("CARENOTES_LLM_THREADS", bad)
        with pytest.raises(ModelUnavailable, match="CARENOTES_LLM_THREADS"):
            _threads()
