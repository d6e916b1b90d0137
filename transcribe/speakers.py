"""Giving each sentence its speaker, from the clustered voice windows.

A reader is misled more by a sentence cut between two people ("Thank" / "you for
letting me in") than by a turn that starts a word late, and the voice embeddings are
too coarse (one-second windows) to place a change between two words. So speaker
changes fall between sentences: each sentence takes the speaker of most of its speech.
A change inside a sentence is kept only when the voices either side of it are far apart,
at a pause near the detected change, and never leaves a fragment of a few words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from transcribe.diarise import DiarisationOptions, Windows
from transcribe.segments import ends_sentence
from transcribe.types import Segment, Word

__all__ = ["CHECK_SPEAKER", "label_speakers", "speaker_similarity"]

#: Flag of a segment whose speaker the voice evidence does not settle.
CHECK_SPEAKER = "check-speaker"
#: Shortest stretch, in seconds, counted for a word when weighing speech.
_MIN_WORD_S = 0.02


def speaker_similarity(windows: Windows) -> np.ndarray:
    """Cosine similarity of each window's voice to each speaker's average voice.

    Args:
        windows: Clustered windows.

    Returns:
        One row per window, one column per cluster. Without embeddings, each row is
        1 for the window's own cluster and 0 elsewhere.
    """
    count = int(windows.labels.max()) + 1 if len(windows.labels) else 1
    if windows.embeddings is None or len(windows.embeddings) != len(windows.labels):
        return np.eye(count)[windows.labels]
    centres = np.stack([windows.embeddings[windows.labels == c].mean(axis=0) for c in range(count)])
    centres /= np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-9)
    similarity: np.ndarray = windows.embeddings @ centres.T
    return similarity


def _scores(start: float, end: float, windows: Windows, similarity: np.ndarray) -> np.ndarray:
    """Similarity to each speaker over a stretch: windows weighted by their overlap."""
    overlap = np.minimum(windows.ends, end) - np.maximum(windows.starts, start)
    inside = np.flatnonzero(overlap > 0)
    if len(inside) == 0:  # a word between speech regions: the nearest window speaks for it
        inside = np.array([int(np.argmin(np.abs(windows.centres - (start + end) / 2)))])
        weights = np.ones(1)
    else:
        weights = overlap[inside]
    scores: np.ndarray = weights @ similarity[inside] / weights.sum()
    return scores


def _voice(windows: Windows, start: float, end: float, cut: float) -> np.ndarray | None:
    """Average voice of the windows centred in [start, end] that do not cross ``cut``."""
    if windows.embeddings is None:
        return None
    crossing = (windows.starts < cut - 0.05) & (windows.ends > cut + 0.05)
    chosen = (windows.centres >= start) & (windows.centres <= end) & ~crossing
    if not chosen.any():
        return None
    voice: np.ndarray = windows.embeddings[chosen].mean(axis=0)
    return voice / max(float(np.linalg.norm(voice)), 1e-9)


def _majority(words: Sequence[Word], labels: Sequence[int]) -> int:
    talk: dict[int, float] = {}
    for word, label in zip(words, labels, strict=True):
        talk[label] = talk.get(label, 0.0) + max(word.end - word.start, _MIN_WORD_S)
    return max(talk, key=lambda k: talk[k])


def _change_points(
    words: Sequence[Word], raw: Sequence[int], windows: Windows, opts: DiarisationOptions
) -> list[int]:
    """Where, inside one sentence, the voice changes clearly enough to change speaker."""
    found: list[tuple[float, int]] = []
    for k in range(1, len(words)):
        if raw[k] == raw[k - 1]:
            continue
        # Snap to the longest pause near the change (any pause of the snap length
        # counts as long), nearest first: the embeddings place a change only roughly.
        near = [j for j in range(1, len(words)) if abs(words[j].start - words[k].start) <= 0.6]
        j = max(
            near,
            key=lambda j: (min(words[j].start - words[j - 1].end, opts.snap_pause_s), -abs(j - k)),
        )
        cut = (words[j - 1].end + words[j].start) / 2
        before = _voice(windows, max(words[0].start, cut - opts.context_s), cut, cut)
        after = _voice(windows, cut, min(words[-1].end, cut + opts.context_s), cut)
        if before is not None and after is not None:
            found.append((1.0 - float(before @ after), j))
    kept: list[int] = []
    for distance, j in sorted(found, reverse=True):
        if distance < opts.change_distance or j in kept:
            continue
        edges = [0, *sorted((*kept, j)), len(words)]
        if all(
            b - a >= opts.min_part_words and words[b - 1].end - words[a].start >= opts.min_part_s
            for a, b in zip(edges, edges[1:], strict=False)
        ):
            kept.append(j)
    return sorted(kept)


def _sentences(words: Sequence[Word], long_pause_s: float) -> list[tuple[int, int]]:
    """(first, end) word indices of each sentence; a long unpunctuated pause ends one too."""
    spans, begin = [], 0
    for i, word in enumerate(words):
        last = i == len(words) - 1
        if last or ends_sentence(word) or words[i + 1].start - word.end >= long_pause_s:
            spans.append((begin, i + 1))
            begin = i + 1
    return spans


def _word_labels(
    words: Sequence[Word], scores: np.ndarray, windows: Windows, opts: DiarisationOptions
) -> list[int]:
    raw = [int(r) for r in scores.argmax(axis=1)] if len(words) else []
    labels: list[int] = []
    for first, end in _sentences(words, opts.long_pause_s):
        part, part_raw = words[first:end], raw[first:end]
        edges = [0, *_change_points(part, part_raw, windows, opts), len(part)]
        for a, b in zip(edges, edges[1:], strict=False):
            labels += [_majority(part[a:b], part_raw[a:b])] * (b - a)
    return labels


def _margin(scores: np.ndarray, label: int) -> float:
    """How much more the voice resembles its speaker than the next most alike."""
    others = np.delete(scores, label)
    return float(scores[label] - others.max()) if len(others) else 1.0


def _confident(
    segment: Segment, label: int, windows: Windows, similarity: np.ndarray, threshold: float
) -> Segment:
    if segment.words:
        weights = np.array([max(w.end - w.start, _MIN_WORD_S) for w in segment.words])
        rows = np.stack([_scores(w.start, w.end, windows, similarity) for w in segment.words])
        scores = weights @ rows / weights.sum()
    else:
        scores = _scores(segment.start, segment.end, windows, similarity)
    margin = round(_margin(scores, label), 3)
    segment = replace(segment, speaker_confidence=margin)
    if margin < threshold and CHECK_SPEAKER not in segment.flags:
        segment = replace(segment, flags=(*segment.flags, CHECK_SPEAKER))
    return segment


def _split(segment: Segment, labels: Sequence[int]) -> list[tuple[int, Segment]]:
    pieces: list[tuple[int, Segment]] = []
    begin = 0
    for i in range(1, len(segment.words) + 1):
        if i == len(segment.words) or labels[i] != labels[begin]:
            words = segment.words[begin:i]
            text = "".join(w.text for w in words).strip()
            piece = replace(segment, start=words[0].start, end=words[-1].end, words=words)
            pieces.append((labels[begin], replace(piece, text=text)))
            begin = i
    return pieces


def label_speakers(
    segments: Sequence[Segment], windows: Windows, options: DiarisationOptions | None = None
) -> tuple[list[Segment], tuple[str, ...]]:
    """Give each sentence a speaker, split segments where it changes, and rate each label.

    Each word is scored against every speaker's average voice (the windows over it,
    weighted by overlap); each sentence then takes the speaker of most of its speech,
    unless the voice changes clearly inside it (see :class:`DiarisationOptions`).
    Every segment gets a ``speaker_confidence`` and, when that is low, the
    ``"check-speaker"`` flag.

    Args:
        segments: Segments in time order.
        windows: Clustered embedding windows.
        options: Thresholds; the defaults when ``None``.

    Returns:
        The segments split at speaker changes, labelled ``SPEAKER_1``... in order of
        first appearance, and the labels in that order.
    """
    opts = options or DiarisationOptions()
    if len(windows.labels) == 0:
        labelled = [replace(s, speaker="SPEAKER_1") for s in segments]
        return labelled, ("SPEAKER_1",) if labelled else ()
    similarity = speaker_similarity(windows)
    words = [w for s in segments for w in s.words]
    scores = np.array([_scores(w.start, w.end, windows, similarity) for w in words])
    word_labels = _word_labels(words, scores.reshape(len(words), -1), windows, opts)
    pieces: list[tuple[int, Segment]] = []
    k = 0
    for segment in segments:
        if segment.words:
            pieces.extend(_split(segment, word_labels[k : k + len(segment.words)]))
            k += len(segment.words)
        else:
            label = int(_scores(segment.start, segment.end, windows, similarity).argmax())
            pieces.append((label, segment))
    names: dict[int, str] = {}
    for cluster, _ in pieces:
        names.setdefault(cluster, f"SPEAKER_{len(names) + 1}")
    labelled = []
    for cluster, segment in pieces:
        if similarity.shape[1] > 1:  # with one voice there is nothing to confuse
            segment = _confident(segment, cluster, windows, similarity, opts.check_margin)
        labelled.append(replace(segment, speaker=names[cluster]))
    return labelled, tuple(names.values())
