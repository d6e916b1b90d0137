"""Transcripts from turns, rendering, and the draft / eval commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from policies import BadInput
from summarise import transcript_from_turns
from summarise.evaluate import score_note
from webapp.cli import main


def test_turns_without_times_get_increasing_synthetic_times() -> None:
    transcript = transcript_from_turns(
        [{"speaker": "doctor", "text": "how are you ?"}, {"speaker": "patient", "text": ""},
         {"speaker": "patient", "text": "tired , really tired ."}]
    )  # fmt: skip
    first, second = transcript.segments
    assert (first.id, second.id) == (0, 1)
    assert first.start == 0.0 and first.end <= second.start < second.end
    assert transcript.speakers == ("doctor", "patient")


def test_turns_with_times_keep_them() -> None:
    transcript = transcript_from_turns([{"speaker": "a", "text": "hello", "start": 3, "end": 4}])
    assert (transcript.segments[0].start, transcript.segments[0].end) == (3.0, 4.0)


def test_a_turn_without_text_is_refused_clearly() -> None:
    with pytest.raises(BadInput, match="turn 0 must be an object"):
        transcript_from_turns([{"speaker": "a"}], source="visit.json")


def test_rouge_scores_a_note_against_itself_as_perfect() -> None:
    note = "CHIEF COMPLAINT\n\nBack pain.\n\nPLAN\n\nRest. Ibuprofen."
    assert score_note(note, note) == {"rouge1": 100.0, "rouge2": 100.0, "rougelsum": 100.0}


def test_eval_with_a_missing_data_set_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["eval", "notes", str(tmp_path / "none.jsonl"), "--limit", "1"])
    assert status == 2
    assert "none.jsonl: data set not found" in capsys.readouterr().err


def test_draft_with_an_unknown_template_names_the_choices(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"turns": [{"speaker": "a", "text": "hello there"}]}))
    assert main(["draft", str(path), "--template", "nope"]) == 2
    assert "template 'nope' not found" in capsys.readouterr().err


@pytest.mark.slow
def test_eval_notes_prints_scores_and_writes_the_drafts(
    data_dir: Path, tmp_path: Path, drafter: Any, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setattr("summarise.model.load_drafter", lambda *a, **k: drafter)
    out = tmp_path / "drafts.jsonl"
    status = main(["eval", "notes", str(data_dir / "aci_valid.jsonl"), "--template",
                   "clinical-soap", "--limit", "1", "--out", str(out)])  # fmt: skip
    printed = capsys.readouterr().out
    assert status == 0
    assert "aci-valid-D2N068" in printed and "mean (1 items)" in printed
    assert "peak memory" in printed and "model rewrites accepted" in printed
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[0]["id"] == "aci-valid-D2N068" and "CHIEF COMPLAINT" in rows[0]["note"]


@pytest.mark.slow
def test_draft_prints_a_markdown_note_from_a_turns_file(
    data_dir: Path, tmp_path: Path, drafter: Any, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setattr("summarise.model.load_drafter", lambda *a, **k: drafter)
    first = json.loads((data_dir / "aci_valid.jsonl").read_text().splitlines()[3])
    path = tmp_path / "visit.json"
    path.write_text(json.dumps({"turns": first["turns"]}))
    assert main(["draft", str(path), "--template", "clinical-soap"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("# Draft note (clinical-soap v1.0)")
    assert "## ASSESSMENT AND PLAN" in printed
