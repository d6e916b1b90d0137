"""Choosing which parts of a conversation go into which section of a note."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from policies.templates import Template
from summarise.text import clean_utterance, is_housekeeping, split_sentences
from transcribe.types import Segment

__all__ = ["Selector", "Unit", "units_of"]


@dataclass(frozen=True)
class Unit:
    """A sentence-sized piece of one segment, cleaned of fillers."""

    segment: Segment
    text: str
    words: int


class Selector:
    """Keeps each section's best candidate units across windows, in bounded memory.

    Every unit is a candidate for every section whose speakers allow it; each section
    keeps only its top few. At the end each unit goes to at most one section, best
    scores first, so a sentence is not repeated under two headings.
    """

    def __init__(self, template: Template, caps: dict[str, int], dedupe: float):
        self.caps = caps
        self.dedupe = dedupe
        self.candidates: dict[str, list[tuple[float, int, Unit, np.ndarray]]] = {
            s.key: [] for s in template.sections
        }
        self._order = 0

    def offer(self, key: str, score: float, unit: Unit, vector: np.ndarray) -> None:
        heap = self.candidates[key]
        self._order += 1
        item = (score, self._order, unit, vector)
        if len(heap) < 3 * self.caps[key]:
            heapq.heappush(heap, item)
        elif score > heap[0][0]:
            heapq.heapreplace(heap, item)

    def ranked(self, key: str) -> list[Unit]:
        """Every unit still a candidate for section ``key``, best score first."""
        return [u for _, _, u, _ in sorted(self.candidates[key], key=lambda i: (-i[0], i[1]))]

    def resolve(self) -> dict[str, list[Unit]]:
        """Assign units to sections, best scores first, dropping near-duplicates."""
        pool = sorted(
            ((score, order, key, unit, vector)
             for key, heap in self.candidates.items()
             for score, order, unit, vector in heap),
            key=lambda item: (-item[0], item[1]),
        )  # fmt: skip
        taken: set[int] = set()
        kept: dict[str, list[tuple[int, Unit, np.ndarray]]] = {k: [] for k in self.candidates}
        for _score, order, key, unit, vector in pool:
            if id(unit) in taken or len(kept[key]) >= self.caps[key]:
                continue
            if any(float(v @ vector) >= self.dedupe for chosen in kept.values()
                   for _, _, v in chosen):  # fmt: skip
                continue
            taken.add(id(unit))
            kept[key].append((order, unit, vector))
        return {
            key: [u for _, u, _ in sorted(items, key=lambda i: (i[1].segment.id, i[0]))]
            for key, items in kept.items()
        }


def units_of(segments: tuple[Segment, ...], min_words: int, max_words: int) -> Iterator[Unit]:
    """Cut cleaned segments into sentence-sized units of ``min_words`` to ``max_words``."""
    for segment in segments:
        cleaned = clean_utterance(segment.text)
        pending: list[str] = []
        for sentence in split_sentences(cleaned):
            if is_housekeeping(sentence):
                continue
            words = sentence.split()
            while len(words) > max_words:
                yield Unit(segment, " ".join(words[:max_words]), max_words)
                words = words[max_words:]
            pending.extend(words)
            if len(pending) >= min_words:
                yield Unit(segment, " ".join(pending), len(pending))
                pending = []
