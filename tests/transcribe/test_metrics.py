"""Word and diarisation error rates, which the tests and benchmarks rely on."""

from __future__ import annotations

from pathlib import Path

import pytest

from transcribe import (
    Segment,
    SpeakerTurn,
    Transcript,
    Word,
    diarisation_error_rate,
    read_rttm,
    sentences_split_across_speakers,
    word_error_rate,
)
from transcribe.metrics import transcript_sentences


def test_word_error_rate_ignores_case_and_punctuation() -> None:
    assert word_error_rate("Ask not, what your country...", "ask not what your country") == 0.0
    assert word_error_rate("one two three four", "one too three") == pytest.approx(0.5)


def test_rttm_files_are_read_per_recording(data_dir: Path) -> None:
    turns = read_rttm(data_dir / "ami_dev.rttm", "ami_dev01")
    assert turns[0] == SpeakerTurn(4.304, pytest.approx(6.752), "MEE012")
    assert {t.speaker for t in turns} == {"MEE009", "MEE012"}
    assert len(read_rttm(data_dir / "ami_dev.rttm")) > len(turns)


def test_a_perfect_hypothesis_scores_zero_whatever_its_labels(data_dir: Path) -> None:
    reference = read_rttm(data_dir / "two_speakers_sample.rttm")
    renamed = [SpeakerTurn(t.start, t.end, {"speaker90": "B"}.get(t.speaker, "A"))
               for t in reference]  # fmt: skip
    assert diarisation_error_rate(reference, renamed) == 0.0


def test_missed_speech_false_alarm_and_confusion_are_counted() -> None:
    reference = [SpeakerTurn(0, 10, "a"), SpeakerTurn(10, 20, "b")]
    assert diarisation_error_rate(reference, [], collar=0) == 1.0
    one_label = [SpeakerTurn(0, 20, "x")]
    assert diarisation_error_rate(reference, one_label, collar=0) == pytest.approx(0.5)
    extra = [SpeakerTurn(0, 10, "x"), SpeakerTurn(10, 20, "y"), SpeakerTurn(20, 25, "y")]
    assert diarisation_error_rate(reference, extra, collar=0) == pytest.approx(0.25)


def test_the_collar_forgives_small_boundary_errors() -> None:
    reference = [SpeakerTurn(0, 10, "a"), SpeakerTurn(10, 20, "b")]
    shifted = [SpeakerTurn(0, 10.2, "x"), SpeakerTurn(10.2, 20, "y")]
    assert diarisation_error_rate(reference, shifted, collar=0) > 0
    assert diarisation_error_rate(reference, shifted, collar=0.25) == 0.0


def _said(*parts: tuple[str, str]) -> Transcript:
    """A transcript of one segment per (speaker, text), words 0.3 s apart."""
    segments, clock = [], 0.0
    for speaker, text in parts:
        words = []
        for token in text.split():
            words.append(Word(clock, clock + 0.25, f" {token}", 0.9))
            clock += 0.3
        segments.append(
            Segment(len(segments), words[0].start, words[-1].end, text, speaker, tuple(words))
        )
    return Transcript(tuple(segments), "en", clock, "test")


def test_a_sentence_whose_words_go_to_two_speakers_is_counted_as_split() -> None:
    split = _said(("A", "Thank"), ("B", "you for letting me in."), ("B", "Come in."))
    assert sentences_split_across_speakers(split) == 1
    whole = _said(("A", "Thank you for letting me in."), ("B", "Come in. Mrs. Jones is here."))
    assert sentences_split_across_speakers(whole) == 0


def test_a_sentence_runs_across_segments_until_its_full_stop() -> None:
    # Whisper often ends a segment mid-sentence; the sentence goes on in the next one.
    spread = _said(("A", "I wanted to ask"), ("B", "about the carer. Yes."))
    assert sentences_split_across_speakers(spread) == 1
    assert [len(s) for s in transcript_sentences(spread)] == [7, 1]
