"""What the review page shows of a note: its sections and statements, and the transcript."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from webapp.services.note_items import section_item_ids, written_by_practitioner
from webapp.services.notes import item_id_for_action

if TYPE_CHECKING:
    from summarise import Action, Draft, Statement
    from transcribe import Transcript

__all__ = ["page_sections", "page_segments", "spoken_language"]


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def page_sections(draft: Draft, work: dict[str, Any]) -> list[dict[str, Any]]:
    """Each section of the note as the review page shows it, statements in order.

    Args:
        draft: The note's draft (citations and flags come from it).
        work: The working state (each statement's text and status).
    """
    sections = []
    for section in draft.sections:
        sources: dict[str, Statement | Action] = {st.id: st for st in section.statements}
        sources.update(
            (item_id_for_action(section.key, i), a) for i, a in enumerate(section.actions)
        )
        items = []
        for item_id in section_item_ids(work, section.key):
            state = work["items"][item_id]
            source = sources.get(item_id)
            quote = bool(getattr(source, "quote", False))
            items.append(
                {
                    "id": item_id,
                    "text": state["text"],
                    "status": state["status"],
                    "flagged": state["flagged"],
                    "practitioner": written_by_practitioner(state),
                    "flags": source.flags if source else (),
                    "quote": quote and state["status"] != "edited",
                    "citations": [
                        {**asdict(c), "label": _clock(c.start)}
                        for c in (source.citations if source else ())
                    ],
                }
            )
        sections.append(
            {
                "key": section.key,
                "title": section.title,
                "style": section.style,
                "note": section.note,
                "items": items,
                "reviewed": section.key in work["reviewed"],
            }
        )
    return sections


def page_segments(transcript: Transcript, work: dict[str, Any]) -> list[dict[str, Any]]:
    """The transcript's segments as the review page shows them, speakers as named.

    A visit in another language has English segments, each with ``original``: the
    words as spoken that it translates, with their times.
    """
    names = work["speakers"]
    return [
        {
            "original": [
                {"text": o.text, "start": o.start, "end": o.end} for o in transcript.original_of(s)
            ],
            "id": s.id,
            "start": s.start,
            "end": s.end,
            "clock": _clock(s.start),
            "speaker": names.get(s.speaker or "", s.speaker or ""),
            "label": s.speaker or "",
            "text": s.text,
            "flags": s.flags,
        }
        for s in transcript.segments
    ]


def spoken_language(transcript: Transcript) -> dict[str, str] | None:
    """``{"code", "name"}`` of the language spoken when the transcript shown is its
    English translation (a visit in another language); ``None`` otherwise."""
    if not transcript.original:
        return None
    from transcribe import language_name

    code = str(transcript.language or "")
    return {"code": code, "name": language_name(code) or "the language spoken"}
