"""The evaluation harness: draft notes for conversation / reference-note pairs and score them."""

from __future__ import annotations

import json
import logging
import re
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policies.errors import BadInput
from policies.templates import Template
from summarise.draft import DraftOptions, draft_note
from summarise.render import render_text
from summarise.turns import transcript_from_turns
from summarise.types import Draft, NoteDrafter

__all__ = ["EvalItem", "EvalResult", "evaluate_notes", "read_dataset", "score_note"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvalItem:
    """The scores of one drafted note.

    Attributes:
        id: The item's id in the data set.
        rouge1: ROUGE-1 F-measure, 0 to 100.
        rouge2: ROUGE-2 F-measure, 0 to 100.
        rougelsum: ROUGE-Lsum F-measure, 0 to 100 (sentences split on new lines).
        statements: Number of statements and actions in the draft.
        unsupported: Share of them flagged ``"unsupported"``.
        cited: Share of them with at least one citation.
        seconds: Time to draft the note.
        model_calls: Rewrite calls made to the language model.
        model_accepted: Rewrites that passed validation and were used.
        note: The draft rendered as plain text.
    """

    id: str
    rouge1: float
    rouge2: float
    rougelsum: float
    statements: int
    unsupported: float
    cited: float
    seconds: float
    model_calls: int
    model_accepted: int
    note: str


@dataclass(frozen=True)
class EvalResult:
    """Scores over a data set.

    Attributes:
        items: Per-item scores, in data-set order.
        peak_memory_mb: Peak resident memory of the process, in MiB.
        means: Mean of each score over the items.
    """

    items: tuple[EvalItem, ...]
    peak_memory_mb: float
    means: dict[str, float] = field(default_factory=dict)


def read_dataset(path: str | Path, limit: int | None = None) -> Iterator[dict[str, Any]]:
    """Yield the items of a JSON-lines data set of turns and reference notes.

    Raises:
        BadInput: If the file is missing or a line is not a valid item; the message
            names the file and line.
    """
    source = Path(path)
    if not source.is_file():
        raise BadInput(f"{source}: data set not found; give a JSON-lines file.")
    count = 0
    with source.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            if limit is not None and count >= limit:
                return
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BadInput(f"{source}, line {number}: not valid JSON ({exc.msg}).") from exc
            if not isinstance(item, dict) or not isinstance(item.get("turns"), list):
                raise BadInput(f'{source}, line {number}: needs a "turns" list.')
            if not isinstance(item.get("reference_note"), str):
                raise BadInput(f'{source}, line {number}: needs a "reference_note" string.')
            item.setdefault("id", f"line-{number}")
            count += 1
            yield item


def score_note(reference: str, note: str) -> dict[str, float]:
    """Return ROUGE-1, ROUGE-2 and ROUGE-Lsum F-measures (0 to 100), stemmed."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeLsum"], use_stemmer=True)
    scores = scorer.score(reference, note)
    lsum = scorer.score(_sentence_lines(reference), _sentence_lines(note))["rougeLsum"]
    return {
        "rouge1": 100 * scores["rouge1"].fmeasure,
        "rouge2": 100 * scores["rouge2"].fmeasure,
        "rougelsum": 100 * lsum.fmeasure,
    }


def _sentence_lines(text: str) -> str:
    """One sentence a line, as ROUGE-Lsum expects."""
    lines: list[str] = []
    for line in text.splitlines():
        lines.extend(s for s in re.split(r"(?<=[.!?])\s+", line.strip()) if s)
    return "\n".join(lines)


def _shares(draft: Draft) -> tuple[int, float, float]:
    entries: list[Any] = [s for sec in draft.sections for s in (*sec.statements, *sec.actions)]
    if not entries:
        return 0, 0.0, 0.0
    unsupported = sum("unsupported" in e.flags for e in entries) / len(entries)
    cited = sum(bool(e.citations) for e in entries) / len(entries)
    return len(entries), unsupported, cited


def _peak_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def evaluate_notes(
    dataset: str | Path,
    template: Template,
    drafter: NoteDrafter,
    *,
    limit: int | None = None,
    options: DraftOptions | None = None,
    on_item: Callable[[EvalItem], None] | None = None,
) -> EvalResult:
    """Draft a note for each item of a data set and score it against the reference.

    Args:
        dataset: JSON-lines file of ``{"id", "turns", "reference_note"}``.
        template: Template to draft with (``clinical-soap`` for ACI-Bench).
        drafter: The loaded language model.
        limit: Score only the first this many items.
        options: Drafting options.
        on_item: Called with each item's scores as soon as they are known.

    Returns:
        Per-item scores, their means and the peak memory used.
    """
    items: list[EvalItem] = []
    for raw in read_dataset(dataset, limit):
        transcript = transcript_from_turns(raw["turns"], source=str(raw["id"]))
        started = time.perf_counter()
        draft = draft_note(transcript, template, drafter, options=options)
        seconds = time.perf_counter() - started
        note = render_text(draft)
        count, unsupported, cited = _shares(draft)
        item = EvalItem(id=str(raw["id"]), statements=count, unsupported=unsupported,
                        cited=cited, seconds=seconds, note=note,
                        model_calls=draft.model_calls, model_accepted=draft.model_accepted,
                        **score_note(raw["reference_note"], note))  # fmt: skip
        logger.info("scored item %s", item.id)
        items.append(item)
        if on_item:
            on_item(item)
    keys = ("rouge1", "rouge2", "rougelsum", "unsupported", "cited", "seconds")
    means = {k: statistics.fmean(getattr(i, k) for i in items) for k in keys} if items else {}
    return EvalResult(items=tuple(items), peak_memory_mb=_peak_mb(), means=means)
