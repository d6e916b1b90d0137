"""Building a transcript from a conversation given as turns (the evaluation data format)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from policies.errors import BadInput
from transcribe.types import Segment, Transcript

__all__ = ["transcript_from_turns"]

#: Speaking rate used to give turns without times plausible ones (words per second).
_WORDS_PER_SECOND = 2.5


def transcript_from_turns(
    turns: Iterable[Mapping[str, Any]], *, source: str = "", language: str = "en"
) -> Transcript:
    """Build a :class:`~transcribe.types.Transcript` from ``{"speaker", "text"}`` turns.

    Turns may carry ``"start"`` and ``"end"`` in seconds; turns without them are given
    times from their length at an ordinary speaking rate, so citations still point
    somewhere sensible.

    Args:
        turns: The turns in order, as in ACI-Bench style JSON lines.
        source: Name of the file or item the turns came from.
        language: Language code of the conversation.

    Returns:
        A transcript with one segment per non-empty turn.

    Raises:
        BadInput: If a turn is not an object with a text string.
    """
    segments: list[Segment] = []
    clock = 0.0
    for index, turn in enumerate(turns):
        if not isinstance(turn, Mapping) or not isinstance(turn.get("text"), str):
            raise BadInput(
                f'{source or "turns"}: turn {index} must be an object with a "text" string.'
            )
        text = " ".join(turn["text"].split())
        if not text:
            continue
        start = turn.get("start")
        end = turn.get("end")
        if not isinstance(start, int | float) or not isinstance(end, int | float) or end < start:
            start = clock
            end = clock + max(0.5, len(text.split()) / _WORDS_PER_SECOND)
        speaker = turn.get("speaker")
        segments.append(
            Segment(
                id=len(segments),
                start=round(float(start), 2),
                end=round(float(end), 2),
                text=text,
                speaker=str(speaker) if speaker else None,
            )
        )
        clock = float(end)
    if not segments:
        raise BadInput(f"{source or 'turns'}: the conversation has no text.")
    speakers = tuple(dict.fromkeys(s.speaker for s in segments if s.speaker))
    return Transcript(
        segments=tuple(segments),
        language=language,
        duration=segments[-1].end,
        model="turns",
        speakers=speakers,
        source=source,
    )
