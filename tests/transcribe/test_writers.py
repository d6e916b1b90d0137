"""Writing transcripts as JSON, plain text, SRT and WebVTT."""

from __future__ import annotations

import json
import re

import pytest

from transcribe import Segment, Transcript, Word, write_transcript


@pytest.fixture()
def transcript() -> Transcript:
    words_a = (Word(0.5, 0.9, " Hello", 0.98), Word(1.0, 1.4, " there.", 0.91))
    words_b = (Word(3661.2, 3661.6, " Is", 0.8), Word(3661.7, 3662.25, " <this> --> ok?", 0.7))
    return Transcript(
        segments=(
            Segment(0, 0.5, 1.4, "Hello there.", "SPEAKER_1", words_a, -0.2, 0.01, 1.1),
            Segment(1, 3661.2, 3662.25, "Is <this> --> ok?", "SPEAKER_2", words_b,
                    -0.9, 0.7, 1.2, ("possible-hallucination",)),
        ),
        language="en",
        duration=3663.0,
        model="base",
        speakers=("SPEAKER_1", "SPEAKER_2"),
        source="visit.m4a",
    )  # fmt: skip


def test_json_round_trips_through_transcript_from_dict(transcript: Transcript) -> None:
    text = write_transcript(transcript, "json")
    assert Transcript.from_dict(json.loads(text)) == transcript


def test_plain_text_shows_times_speakers_and_flags(transcript: Transcript) -> None:
    lines = write_transcript(transcript, "txt").splitlines()
    assert lines[0] == "[00:00-00:01] SPEAKER_1: Hello there."
    assert lines[1].startswith("[1:01:01-1:01:02] SPEAKER_2: Is <this>")
    assert lines[1].endswith("[possible-hallucination]")


def test_srt_has_numbered_cues_with_comma_milliseconds(transcript: Transcript) -> None:
    blocks = write_transcript(transcript, "srt").strip().split("\n\n")
    assert len(blocks) == 2
    number, times, text = blocks[1].split("\n")
    assert number == "2"
    assert times == "01:01:01,200 --> 01:01:02,250"
    assert text.startswith("SPEAKER_2: ")
    assert "-->" not in text


def test_webvtt_has_a_header_voice_tags_and_escaped_text(transcript: Transcript) -> None:
    text = write_transcript(transcript, "vtt")
    assert text.startswith("WEBVTT\n\n")
    cues = re.findall(r"^(\d\d:\d\d:\d\d\.\d{3}) --> (\d\d:\d\d:\d\d\.\d{3})$", text, re.M)
    assert cues == [("00:00:00.500", "00:00:01.400"), ("01:01:01.200", "01:01:02.250")]
    assert "<v SPEAKER_2>Is &lt;this&gt; --&gt; ok?" in text


def test_an_unknown_format_is_refused(transcript: Transcript) -> None:
    with pytest.raises(ValueError, match="json, txt, srt, vtt"):
        write_transcript(transcript, "docx")
