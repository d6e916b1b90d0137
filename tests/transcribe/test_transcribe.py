"""The real packaged Whisper models on the real recordings."""

from __future__ import annotations

from pathlib import Path

import pytest

from transcribe import (
    TranscribeOptions,
    Transcript,
    diarisation_error_rate,
    read_rttm,
    sentences_split_across_speakers,
    transcribe_file,
    transcript_turns,
    word_error_rate,
)
from transcribe.diarise import DiarisationOptions
from transcribe.segments import ends_sentence
from transcribe.speakers import CHECK_SPEAKER
from transcribe.whisper import WhisperTranscriber

JFK_REFERENCE = (
    "And so my fellow Americans, ask not what your country can do for you, "
    "ask what you can do for your country."
)
pytestmark = pytest.mark.slow


def test_jfk_is_transcribed_to_its_reference_text_with_the_base_model(
    jfk_transcript: Transcript,
) -> None:
    assert word_error_rate(JFK_REFERENCE, jfk_transcript.text) <= 0.05
    assert jfk_transcript.language == "en"
    assert jfk_transcript.model == "base"
    assert jfk_transcript.source == "jfk.flac"
    assert jfk_transcript.duration == pytest.approx(11.0, abs=0.05)


def test_every_word_has_times_and_a_probability_inside_its_segment(
    jfk_transcript: Transcript,
) -> None:
    assert [s.id for s in jfk_transcript.segments] == list(range(len(jfk_transcript.segments)))
    for segment in jfk_transcript.segments:
        assert segment.words
        assert segment.start <= segment.end
        for word in segment.words:
            assert segment.start - 0.01 <= word.start <= word.end <= segment.end + 0.01
            assert 0.0 <= word.probability <= 1.0
        assert segment.flags == ()


def test_two_speakers_sample_yields_two_speakers(two_speakers_transcript: Transcript) -> None:
    assert two_speakers_transcript.speakers == ("SPEAKER_1", "SPEAKER_2")
    assert {s.speaker for s in two_speakers_transcript.segments} == {"SPEAKER_1", "SPEAKER_2"}
    assert two_speakers_transcript.segments[0].speaker == "SPEAKER_1"


def test_two_speakers_sample_has_a_low_diarisation_error_rate(
    data_dir: Path, two_speakers_transcript: Transcript
) -> None:
    reference = read_rttm(data_dir / "two_speakers_sample.rttm", "two_speakers_sample")
    hypothesis = transcript_turns(two_speakers_transcript)
    assert diarisation_error_rate(reference, hypothesis) <= 0.15  # 0.25 s collar
    # Strict: every 10 ms counts, overlap included (measured 25.1 %, most of it the
    # overlapping speech and the gaps between words that a transcript cannot label).
    assert diarisation_error_rate(reference, hypothesis, collar=0.0) <= 0.27


def test_no_sentence_of_two_speakers_sample_is_split_between_speakers(
    two_speakers_transcript: Transcript,
) -> None:
    assert sentences_split_across_speakers(two_speakers_transcript) == 0
    # So every change of speaker comes after a full stop, question or exclamation mark.
    segments = two_speakers_transcript.segments
    for before, after in zip(segments, segments[1:], strict=False):
        if before.speaker != after.speaker:
            assert ends_sentence(before.words[-1]), (before.text, after.text)


def test_every_segment_of_a_conversation_says_how_sure_its_speaker_is(
    two_speakers_transcript: Transcript,
) -> None:
    margin = DiarisationOptions().check_margin
    segments = two_speakers_transcript.segments
    assert all(s.speaker_confidence is not None for s in segments)
    for segment in segments:
        assert (CHECK_SPEAKER in segment.flags) == (segment.speaker_confidence < margin)  # type: ignore[operator]
    # Most of the sample is clear: only a few segments ask the reviewer to listen.
    assert sum(CHECK_SPEAKER in s.flags for s in segments) <= len(segments) // 3


def test_segments_are_split_where_the_speaker_changes(
    two_speakers_transcript: Transcript,
) -> None:
    segments = two_speakers_transcript.segments
    changes = sum(1 for a, b in zip(segments, segments[1:], strict=False) if a.speaker != b.speaker)
    assert changes >= 4  # the reference has ten turns between the two callers
    for segment in segments:
        assert segment.text == "".join(w.text for w in segment.words).strip()


def test_the_speaker_count_can_be_given(
    data_dir: Path, base_transcriber: WhisperTranscriber
) -> None:
    transcript = transcribe_file(
        data_dir / "ami_dev00.wav",
        TranscribeOptions(num_speakers=2),
        transcriber=base_transcriber,
    )
    reference = read_rttm(data_dir / "ami_dev.rttm", "ami_dev00")
    assert transcript.speakers == ("SPEAKER_1", "SPEAKER_2")
    assert diarisation_error_rate(reference, transcript_turns(transcript)) <= 0.35


def test_tiny_en_transcribes_jfk(data_dir: Path, tiny_transcriber: WhisperTranscriber) -> None:
    transcript = transcribe_file(
        data_dir / "jfk.flac",
        TranscribeOptions(model="tiny.en", diarise=False),
        transcriber=tiny_transcriber,
    )
    assert transcript.model == "tiny.en"
    assert transcript.speakers == ()
    assert all(s.speaker is None for s in transcript.segments)
    assert word_error_rate(JFK_REFERENCE, transcript.text) <= 0.15


def test_batched_decoding_gives_the_same_words(
    data_dir: Path, base_transcriber: WhisperTranscriber
) -> None:
    transcript = transcribe_file(
        data_dir / "jfk.flac",
        TranscribeOptions(batch_size=4, diarise=False),
        transcriber=base_transcriber,
    )
    assert word_error_rate(JFK_REFERENCE, transcript.text) <= 0.05


def test_batched_decoding_cuts_a_conversation_into_sentences_for_citations(
    data_dir: Path, base_transcriber: WhisperTranscriber
) -> None:
    transcript = transcribe_file(
        data_dir / "two_speakers_sample.wav",
        TranscribeOptions(batch_size=8, diarise=False),
        transcriber=base_transcriber,
    )
    # Batches are 30-second windows; the segments cited in a note are sentences.
    assert len(transcript.segments) >= 6
    assert max(s.end - s.start for s in transcript.segments) < 15.0
    assert all(s.words for s in transcript.segments)


def test_the_language_can_be_fixed_and_translation_keeps_the_original(
    data_dir: Path, base_transcriber: WhisperTranscriber
) -> None:
    transcript = transcribe_file(
        data_dir / "jfk.flac",
        TranscribeOptions(language="en", translate=True, diarise=False),
        transcriber=base_transcriber,
    )
    assert transcript.language == "en"
    assert transcript.language_probability == 1.0
    # Already English: nothing to translate, the original stays.
    assert transcript.translation is None
    assert word_error_rate(JFK_REFERENCE, transcript.text) <= 0.05


def test_vocabulary_is_passed_to_the_model_without_harm(
    data_dir: Path, base_transcriber: WhisperTranscriber
) -> None:
    transcript = transcribe_file(
        data_dir / "jfk.flac",
        TranscribeOptions(vocabulary=("Americans", "Kennedy"), diarise=False),
        transcriber=base_transcriber,
    )
    assert "Americans" in transcript.text
    assert word_error_rate(JFK_REFERENCE, transcript.text) <= 0.05


def test_progress_is_reported_as_a_rising_fraction_ending_at_one(
    data_dir: Path, tiny_transcriber: WhisperTranscriber
) -> None:
    seen: list[float] = []
    transcribe_file(
        data_dir / "two_speakers_sample.wav",
        TranscribeOptions(model="tiny.en", chunk_seconds=10, diarise=False),
        seen.append,
        transcriber=tiny_transcriber,
    )
    assert seen == sorted(seen)
    assert len(seen) >= 3
    assert 0.0 < seen[0] < 1.0
    assert seen[-1] == 1.0


def test_a_long_recording_is_decoded_in_chunks_with_increasing_times(
    tmp_path: Path, data_dir: Path, encode, tiny_transcriber: WhisperTranscriber
) -> None:
    long_file = encode(data_dir / "jfk.flac", tmp_path / "long.flac", "flac", rate=16000, repeat=8)
    transcript = transcribe_file(
        long_file,
        TranscribeOptions(model="tiny.en", chunk_seconds=20, diarise=False),
        transcriber=tiny_transcriber,
    )
    assert transcript.duration == pytest.approx(88.0, abs=0.5)
    starts = [w.start for s in transcript.segments for w in s.words]
    assert starts == sorted(starts)
    assert starts[-1] > 80.0
    assert transcript.text.lower().count("ask not what your country") >= 7
