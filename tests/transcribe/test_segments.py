"""Whisper's failure modes: repeated-phrase loops and text over silence."""

from __future__ import annotations

from transcribe import Segment, Word
from transcribe.segments import (
    collapse_repetitions,
    fit_words_to_speech,
    flag_hallucinations,
    split_at_sentences,
)


def _segment(text: str, start: float, step: float = 0.3, **extra: float) -> Segment:
    words = tuple(
        Word(start + i * step, start + (i + 1) * step, f" {w}", 0.9)
        for i, w in enumerate(text.split())
    )
    return Segment(-1, start, start + len(words) * step, text, words=words, **extra)


def test_a_phrase_looping_inside_a_segment_is_kept_once_and_flagged() -> None:
    looped = _segment("I will call you back " * 5 + "tomorrow", 0.0)
    [segment] = collapse_repetitions([looped])
    assert segment.text == "I will call you back tomorrow"
    assert segment.flags == ("repetition",)
    assert segment.words[-1].text == " tomorrow"


def test_natural_short_repeats_are_left_alone() -> None:
    said = _segment("no no no I said no", 0.0)
    assert collapse_repetitions([said]) == [said]


def test_a_segment_repeating_the_previous_one_is_dropped_and_flagged() -> None:
    first = _segment("thank you for coming today", 0.0)
    again = _segment("thank you for coming today", 1.6)
    later = _segment("thank you for coming today", 30.0)
    out = collapse_repetitions([first, again, later])
    assert len(out) == 2
    assert out[0].flags == ("repetition",)
    assert out[0].end == again.end
    assert out[1] == later


def test_a_high_compression_ratio_is_flagged_as_repetition() -> None:
    segment = _segment("la la la la", 0.0, compression_ratio=3.1)
    assert collapse_repetitions([segment])[0].flags == ("repetition",)


def test_text_over_silence_or_with_no_speech_signal_is_flagged() -> None:
    spoken = _segment("we talked about the garden", 1.0)
    over_silence = _segment("thanks for watching", 20.0)
    doubtful = _segment("subtitles by the community", 2.0, no_speech_prob=0.8, avg_logprob=-1.2)
    out = flag_hallucinations([spoken, over_silence, doubtful], [(0.5, 12.0)])
    assert out[0].flags == ()
    assert out[1].flags == ("possible-hallucination",)
    assert out[2].flags == ("possible-hallucination",)


def test_a_word_stretched_across_a_pause_starts_where_speech_resumes() -> None:
    words = (Word(10.0, 10.4, " link", 0.9), Word(11.4, 15.7, " Well,", 0.6),
             Word(15.8, 16.0, " actually", 0.9))  # fmt: skip
    segment = Segment(-1, 10.0, 16.0, "link Well, actually", words=words)
    [fitted] = fit_words_to_speech([segment], [(9.5, 11.8), (15.2, 17.0)])
    assert fitted.words[1] == Word(15.2, 15.7, " Well,", 0.6)
    assert fitted.words[0] == words[0] and fitted.words[2] == words[2]
    # A long word inside continuous speech is left as it is.
    [kept] = fit_words_to_speech([segment], [(9.5, 17.0)])
    assert kept == segment


def test_a_long_segment_is_cut_at_sentence_ends_with_each_sentences_times() -> None:
    long = _segment(
        "Mrs. Jones is well today. She has a new carer. The carer comes at nine. Ok.", 10.0
    )
    pieces = split_at_sentences([long])
    assert [p.text for p in pieces] == [
        "Mrs. Jones is well today.",
        "She has a new carer.",
        "The carer comes at nine. Ok.",  # a one-word sentence stays with the one before
    ]
    assert pieces[0].start == 10.0 and pieces[-1].end == long.end
    assert all(a.end <= b.start for a, b in zip(pieces, pieces[1:], strict=False))
    assert sum(len(p.words) for p in pieces) == len(long.words)


def test_a_segment_without_word_times_or_with_one_sentence_is_kept_whole() -> None:
    whole = _segment("Just one sentence here.", 0.0)
    bare = Segment(-1, 0.0, 2.0, "No words. Two sentences.")
    assert split_at_sentences([whole, bare]) == [whole, bare]
