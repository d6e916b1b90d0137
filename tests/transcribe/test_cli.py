"""``carenotes transcribe`` and ``carenotes models`` as a person runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from transcribe import Transcript
from webapp.cli import main


@pytest.mark.slow
def test_transcribe_writes_json_that_reads_back_as_a_transcript(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "jfk.json"
    status = main(
        ["transcribe", str(data_dir / "jfk.flac"), "--model", "tiny.en", "--no-speakers",
         "--format", "json", "--out", str(out)]
    )  # fmt: skip
    assert status == 0
    transcript = Transcript.from_dict(json.loads(out.read_text(encoding="utf-8")))
    assert "ask not what your country" in transcript.text.lower()
    err = capsys.readouterr().err
    assert "100%" in err  # the progress bar reached the end
    assert f"Wrote {out}" in err


@pytest.mark.slow
def test_transcribe_prints_subtitles_with_speakers(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        ["transcribe", str(data_dir / "two_speakers_sample.wav"), "--model", "tiny.en",
         "--speakers", "2", "--format", "srt", "--no-progress"]
    )  # fmt: skip
    assert status == 0
    srt = capsys.readouterr().out
    assert srt.startswith("1\n00:00:")
    assert "SPEAKER_1: " in srt and "SPEAKER_2: " in srt


@pytest.mark.slow
def test_the_voice_model_can_be_chosen_and_an_unknown_one_is_refused(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        ["transcribe", str(data_dir / "two_speakers_sample.wav"), "--model", "tiny.en",
         "--voice-model", "resemblyzer", "--format", "json", "--no-progress"]
    )  # fmt: skip
    assert status == 0
    transcript = Transcript.from_dict(json.loads(capsys.readouterr().out))
    assert len({s.speaker for s in transcript.segments}) == 2
    with pytest.raises(SystemExit) as refused:
        main(["transcribe", str(data_dir / "jfk.flac"), "--voice-model", "ecapa"])
    assert refused.value.code == 2
    assert "invalid choice: 'ecapa'" in capsys.readouterr().err


def test_a_bad_recording_gives_a_message_and_no_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = tmp_path / "visit.mp3"
    fake.write_text("not a recording", encoding="utf-8")
    assert main(["transcribe", str(fake), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("carenotes: visit.mp3: this is not an audio or video file")
    assert "Traceback" not in err


def test_an_unknown_model_gives_a_message_and_no_traceback(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        ["transcribe", str(data_dir / "jfk.flac"), "--model", str(tmp_path / "large-v3"),
         "--no-progress"]
    )  # fmt: skip
    assert status == 2
    err = capsys.readouterr().err
    assert "large-v3" in err and "CARENOTES_WHISPER_MODEL" in err
    assert "Traceback" not in err


def test_models_lists_whisper_the_language_model_and_how_to_use_a_bigger_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["models", "--prepare"]) == 0
    out = capsys.readouterr().out
    assert "Whisper base model ready in" in out
    for name in ("base", "tiny.en", "SmolLM2-135M-Instruct", "all-MiniLM-L6-v2", "Resemblyzer"):
        assert name in out
    assert "MB" in out
    assert "CARENOTES_LLM_MODEL" in out and "CARENOTES_WHISPER_MODEL" in out


def test_models_lists_a_configured_whisper_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CARENOTES_WHISPER_MODEL", str(tmp_path / "whisper-small"))
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "whisper-small" in out and "does not exist" in out


@pytest.mark.slow
def test_models_check_loads_every_packaged_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--check"]) == 0
    out = capsys.readouterr().out
    # base, tiny.en, three language models, MiniLM, and the two voice models (CAM++, Resemblyzer)
    assert out.count("loads: yes") == 8
    assert "loads: NO" not in out
