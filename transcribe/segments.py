"""Tidying Whisper's segments: loops, invented phrases and sentence boundaries."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from transcribe.types import Segment, Word

__all__ = [
    "HALLUCINATION",
    "REPETITION",
    "collapse_repetitions",
    "ends_sentence",
    "fit_words_to_speech",
    "flag_hallucinations",
    "renumber",
    "split_at_sentences",
]

REPETITION = "repetition"
HALLUCINATION = "possible-hallucination"

#: Whisper's own signal of a looping segment (gzip compresses repeats well).
_LOOP_COMPRESSION_RATIO = 2.4
#: A window "probably held no speech" and the text was decoded with low confidence.
_NO_SPEECH_PROB = 0.5
_LOW_LOGPROB = -0.8
#: Less than this share of a segment inside detected speech: text over silence.
_MIN_SPEECH_SHARE = 0.3
_MAX_NGRAM = 8
_WORD = re.compile(r"[\w']+")


def _norm(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def _with_flag(segment: Segment, flag: str) -> Segment:
    if flag in segment.flags:
        return segment
    return replace(segment, flags=(*segment.flags, flag))


def _text_of(words: Sequence[Word]) -> str:
    return "".join(w.text for w in words).strip()


def _collapse_words(words: tuple[Word, ...]) -> tuple[Word, ...]:
    """Remove immediate repeats of the same phrase beyond its first occurrence."""
    tokens = [_norm(w.text) for w in words]
    kept: list[Word] = []
    i = 0
    while i < len(words):
        collapsed = False
        for n in range(_MAX_NGRAM, 0, -1):
            gram = tokens[i : i + n]
            if len(gram) < n or not all(gram):
                continue
            reps = 1
            while tokens[i + reps * n : i + (reps + 1) * n] == gram:
                reps += 1
            # Two- and one-word phrases repeat naturally ("no, no, no"); demand more.
            if reps >= (3 if n >= 3 else 4):
                kept.extend(words[i : i + n])
                i += reps * n
                collapsed = True
                break
        if not collapsed:
            kept.append(words[i])
            i += 1
    return tuple(kept)


def collapse_repetitions(segments: Sequence[Segment]) -> list[Segment]:
    """Collapse Whisper's repeated-phrase loops and flag the segments concerned.

    A phrase repeated back to back within a segment is kept once; a segment that
    repeats the one before it word for word (three words or more) is dropped; and a
    segment whose compression ratio shows a loop is flagged ``"repetition"``.

    Args:
        segments: Segments in time order.

    Returns:
        The tidied segments (ids not yet renumbered).
    """
    out: list[Segment] = []
    for segment in segments:
        current = segment
        if segment.words:
            words = _collapse_words(segment.words)
            if len(words) < len(segment.words):
                current = replace(segment, words=words, text=_text_of(words))
                current = _with_flag(current, REPETITION)
        if current.compression_ratio > _LOOP_COMPRESSION_RATIO:
            current = _with_flag(current, REPETITION)
        norm = _norm(current.text)
        if (
            out
            and norm
            and len(norm.split()) >= 3
            and norm == _norm(out[-1].text)
            and current.start - out[-1].end < 2.0
        ):
            out[-1] = _with_flag(replace(out[-1], end=max(out[-1].end, current.end)), REPETITION)
            continue
        out.append(current)
    return out


def _speech_share(start: float, end: float, regions: np.ndarray) -> float:
    if end <= start or len(regions) == 0:
        return 0.0 if len(regions) == 0 else 1.0
    overlap = np.clip(np.minimum(regions[:, 1], end) - np.maximum(regions[:, 0], start), 0, None)
    return float(overlap.sum() / (end - start))


def flag_hallucinations(
    segments: Sequence[Segment], speech: Sequence[tuple[float, float]]
) -> list[Segment]:
    """Flag segments that Whisper may have invented.

    A segment is flagged ``"possible-hallucination"`` when Whisper itself thought the
    window held no speech yet decoded it with low confidence, or when most of it lies
    outside the speech found by voice-activity detection.

    Args:
        segments: Segments in time order.
        speech: Detected speech as (start, end) seconds.

    Returns:
        The segments, flagged where needed.
    """
    regions = np.asarray(speech, dtype=float).reshape(-1, 2)
    out = []
    for segment in segments:
        doubtful = segment.no_speech_prob > _NO_SPEECH_PROB and segment.avg_logprob < _LOW_LOGPROB
        if doubtful or _speech_share(segment.start, segment.end, regions) < _MIN_SPEECH_SHARE:
            segment = _with_flag(segment, HALLUCINATION)
        out.append(segment)
    return out


def _fit_word(word: Word, regions: np.ndarray) -> Word:
    inside = np.flatnonzero((regions[:, 0] < word.end) & (regions[:, 1] > word.start))
    if len(inside) < 2 or _speech_share(word.start, word.end, regions) > 0.6:
        return word
    # The word straddles a pause: keep it in the region holding its end, where
    # Whisper's alignment is usually right and the stretch back is the error.
    start = max(word.start, float(regions[inside[-1], 0]))
    return replace(word, start=round(min(start, word.end), 3))


def fit_words_to_speech(
    segments: Sequence[Segment], speech: Sequence[tuple[float, float]], longest: float = 1.0
) -> list[Segment]:
    """Shorten words that Whisper stretched across a pause in speech.

    Args:
        segments: Segments in time order.
        speech: Detected speech as (start, end) seconds.
        longest: Only words longer than this many seconds are checked.

    Returns:
        The segments, with such words starting where speech resumes.
    """
    regions = np.asarray(speech, dtype=float).reshape(-1, 2)
    out = []
    for segment in segments:
        if any(w.end - w.start > longest for w in segment.words) and len(regions):
            words = tuple(
                _fit_word(w, regions) if w.end - w.start > longest else w for w in segment.words
            )
            segment = replace(segment, words=words, start=min(segment.start, words[0].start))
        out.append(segment)
    return out


_SENTENCE_END = re.compile(r"[.?!][\"')\]]*$")
_ABBREVIATIONS = {"mr.", "mrs.", "ms.", "dr.", "st.", "prof.", "e.g.", "i.e.", "etc.", "no."}


def ends_sentence(word: Word) -> bool:
    """Whether a word closes a sentence: it ends in ``.``, ``?`` or ``!`` and is no title.

    Args:
        word: A recognised word.

    Returns:
        ``True`` when a sentence ends with it.
    """
    token = word.text.strip()
    return bool(_SENTENCE_END.search(token)) and token.lower() not in _ABBREVIATIONS


def split_at_sentences(segments: Sequence[Segment], min_words: int = 3) -> list[Segment]:
    """Cut segments at sentence ends, using their word timings.

    Batched decoding returns segments as long as its 30-second windows; a citation to
    one of those would point at half a minute of talk. Sentence-sized segments let a
    note's statement point at the sentence it rests on.

    Args:
        segments: Segments with word timings (those without are kept whole).
        min_words: A piece is not cut off before it has this many words.

    Returns:
        The segments, each sentence its own segment.
    """
    out: list[Segment] = []
    for segment in segments:
        words = segment.words
        begin = 0
        for i, word in enumerate(words):
            last = i == len(words) - 1
            ends = ends_sentence(word)
            if last or (ends and i + 1 - begin >= min_words and len(words) - i - 1 >= min_words):
                piece = words[begin : i + 1]
                if begin == 0 and last:
                    out.append(segment)
                else:
                    out.append(
                        replace(
                            segment,
                            start=piece[0].start,
                            end=piece[-1].end,
                            words=piece,
                            text=_text_of(piece),
                        )
                    )
                begin = i + 1
        if not words:
            out.append(segment)
    return out


def renumber(segments: Sequence[Segment]) -> tuple[Segment, ...]:
    """Set each segment's id to its position."""
    return tuple(replace(s, id=i) for i, s in enumerate(segments))
