"""Measuring transcripts: word error rate, diarisation error rate and split sentences."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from transcribe.segments import ends_sentence
from transcribe.types import SpeakerTurn, Transcript, Word

__all__ = [
    "DER_COLLAR_S",
    "diarisation_error_rate",
    "normalise_text",
    "read_rttm",
    "sentences_split_across_speakers",
    "speaker_turns",
    "transcript_sentences",
    "transcript_turns",
    "word_error_rate",
]

#: Collar either side of each reference boundary that is not scored, in seconds. The
#: strict score passes ``collar=0``: every 10 ms frame counts, overlap included.
DER_COLLAR_S = 0.25
_RESOLUTION_S = 0.01
_NUMBERS = {"1": "one", "2": "two", "3": "three", "4": "four", "5": "five"}


def normalise_text(text: str) -> list[str]:
    """Lower-case words without punctuation, for comparing transcripts.

    Args:
        text: Any text.

    Returns:
        Its words, normalised.
    """
    text = text.lower().replace("’", "'")
    words = re.findall(r"[a-z0-9']+", text)
    return [_NUMBERS.get(w, w).strip("'") for w in words if w.strip("'")]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Normalised word error rate: (substitutions + deletions + insertions) / reference words.

    Args:
        reference: What was said.
        hypothesis: What was recognised.

    Returns:
        The word error rate (0 is perfect; it can exceed 1).
    """
    ref, hyp = normalise_text(reference), normalise_text(hypothesis)
    if not ref:
        return float(len(hyp) > 0)
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h))
        previous = current
    return previous[-1] / len(ref)


def read_rttm(path: str | Path, file_id: str | None = None) -> list[SpeakerTurn]:
    """Read the speaker turns of an RTTM file.

    Args:
        path: The RTTM file.
        file_id: Keep only turns of this recording (the second field); all when ``None``.

    Returns:
        The turns, in file order.

    Raises:
        ValueError: A ``SPEAKER`` line is malformed; the message names the line.
    """
    turns = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split()
        if not fields or fields[0] != "SPEAKER":
            continue
        if len(fields) < 8:
            raise ValueError(f"{path}, line {number}: expected at least 8 fields")
        if file_id is not None and fields[1] != file_id:
            continue
        start, duration = float(fields[3]), float(fields[4])
        turns.append(SpeakerTurn(start, start + duration, fields[7]))
    return turns


def transcript_turns(transcript: Transcript, max_pause: float = 0.5) -> list[SpeakerTurn]:
    """Who spoke when, according to a transcript's words and their speakers.

    Consecutive words of one speaker form a turn unless a pause longer than
    ``max_pause`` separates them (a segment may span a long silence; the words
    do not). Segments without word times count as a whole.

    Args:
        transcript: A transcript with speaker labels.
        max_pause: Longest pause, in seconds, inside one turn.

    Returns:
        The turns in time order.
    """
    timed = []
    for s in transcript.segments:
        who = s.speaker or "SPEAKER_1"
        timed += [(w.start, w.end, who) for w in s.words] if s.words else [(s.start, s.end, who)]
    turns: list[SpeakerTurn] = []
    for start, end, who in sorted(timed):
        last = turns[-1] if turns else None
        if last and last.speaker == who and start - last.end <= max_pause:
            turns[-1] = SpeakerTurn(last.start, max(last.end, end), who)
        elif end > start:
            turns.append(SpeakerTurn(start, end, who))
    return turns


def speaker_turns(transcript: Transcript) -> list[SpeakerTurn]:
    """Who spoke when: the transcript's frame-level turns, or else its words' turns.

    Args:
        transcript: A transcript with speaker labels.

    Returns:
        :attr:`Transcript.turns` when the speech segmentation model made them (they
        cover the pauses between words and overlapped speech), else
        :func:`transcript_turns`.
    """
    return list(transcript.turns) if transcript.turns else transcript_turns(transcript)


def _activity(turns: Iterable[SpeakerTurn], names: Sequence[str], frames: int) -> np.ndarray:
    grid = np.zeros((len(names), frames), dtype=bool)
    index = {name: i for i, name in enumerate(names)}
    for t in turns:
        a, b = int(round(t.start / _RESOLUTION_S)), int(round(t.end / _RESOLUTION_S))
        grid[index[t.speaker], max(a, 0) : min(b, frames)] = True
    return grid


def diarisation_error_rate(
    reference: Sequence[SpeakerTurn],
    hypothesis: Sequence[SpeakerTurn],
    collar: float = DER_COLLAR_S,
) -> float:
    """Diarisation error rate: (missed + false alarm + confusion) / reference speech.

    Scored on 10 ms frames, overlapping speech included, with no scoring within
    ``collar`` seconds of any reference boundary, after the best one-to-one mapping
    of hypothesis to reference speakers (Hungarian algorithm), as md-eval does.

    Args:
        reference: The true turns (e.g. from :func:`read_rttm`).
        hypothesis: The system's turns (e.g. from :func:`transcript_turns`).
        collar: Unscored margin around reference boundaries, in seconds.

    Returns:
        The error rate (0 is perfect).
    """
    end = max([t.end for t in (*reference, *hypothesis)] + [0.0])
    frames = int(np.ceil(end / _RESOLUTION_S)) + 1
    ref_names = sorted({t.speaker for t in reference})
    hyp_names = sorted({t.speaker for t in hypothesis})
    ref = _activity(reference, ref_names, frames)
    hyp = _activity(hypothesis, hyp_names, frames)
    scored = np.ones(frames, dtype=bool)
    pad = int(round(collar / _RESOLUTION_S))
    for t in reference:
        for edge in (t.start, t.end):
            e = int(round(edge / _RESOLUTION_S))
            scored[max(e - pad, 0) : e + pad] = False
    ref, hyp = ref[:, scored], hyp[:, scored]
    total = float(ref.sum())
    if total == 0:
        return 0.0
    overlap = ref.astype(np.int64) @ hyp.T.astype(np.int64)
    rows, cols = linear_sum_assignment(-overlap) if overlap.size else ([], [])
    correct = float(overlap[rows, cols].sum()) if len(rows) else 0.0
    n_ref, n_hyp = ref.sum(axis=0), hyp.sum(axis=0)
    errors = float(np.maximum(n_ref, n_hyp).sum()) - correct
    return errors / total


def transcript_sentences(transcript: Transcript) -> list[list[tuple[Word, str | None]]]:
    """The transcript's sentences, as Whisper punctuated them, with each word's speaker.

    Sentences run across segment boundaries: only ``.``, ``?`` or ``!`` at the end of
    a word (titles such as "Mrs." apart) closes one. Segments without word times are
    left out.

    Args:
        transcript: Any transcript.

    Returns:
        The sentences in time order, each a list of (word, speaker) pairs.
    """
    sentences: list[list[tuple[Word, str | None]]] = [[]]
    words = sorted(
        ((w, s.speaker) for s in transcript.segments for w in s.words), key=lambda p: p[0].start
    )
    for word, speaker in words:
        sentences[-1].append((word, speaker))
        if ends_sentence(word):
            sentences.append([])
    return [s for s in sentences if s]


def sentences_split_across_speakers(transcript: Transcript) -> int:
    """How many sentences have their words given to more than one speaker.

    A reader sees such a sentence cut in two ("Thank" / "you for letting me in"), so
    this counts what speaker labels break, whatever the reference says.

    Args:
        transcript: A transcript with speaker labels and word times.

    Returns:
        The number of sentences (see :func:`transcript_sentences`) with two speakers
        or more.
    """
    return sum(
        len({speaker for _, speaker in sentence}) > 1
        for sentence in transcript_sentences(transcript)
    )
