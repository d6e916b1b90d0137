"""What the review page shows of a note: its sections and statements, and the transcript."""

from __future__ import annotations

from typing import Any

from webapp.services.note_items import section_item_ids, written_by_practitioner
from webapp.services.notes import item_id_for_action

__all__ = ["page_sections", "page_segments", "spoken_language"]


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def page_sections(draft: dict[str, Any], work: dict[str, Any]) -> list[dict[str, Any]]:
    """Each section of the note as the review page shows it, statements in order.

    Args:
        draft: The note's draft (citations and flags come from it).
        work: The working state (each statement's text and status).
    """
    sections = []
    for section in draft["sections"]:
        sources = {st["id"]: st for st in section.get("statements", ())}
        sources.update(
            (item_id_for_action(section["key"], i), {**a, "quote": False})
            for i, a in enumerate(section.get("actions", ()))
        )
        items = []
        for item_id in section_item_ids(work, section["key"]):
            state = work["items"][item_id]
            source = sources.get(item_id, {})
            items.append(
                {
                    "id": item_id,
                    "text": state["text"],
                    "status": state["status"],
                    "flagged": state["flagged"],
                    "practitioner": written_by_practitioner(state),
                    "flags": source.get("flags", ()),
                    "quote": source.get("quote", False) and state["status"] != "edited",
                    "citations": [
                        {**c, "label": _clock(c["start"])} for c in source.get("citations", ())
                    ],
                }
            )
        sections.append(
            {
                "key": section["key"],
                "title": section["title"],
                "style": section["style"],
                "note": section.get("note", ""),
                "items": items,
                "reviewed": section["key"] in work["reviewed"],
            }
        )
    return sections


def page_segments(transcript: dict[str, Any], work: dict[str, Any]) -> list[dict[str, Any]]:
    """The transcript's segments as the review page shows them, speakers as named.

    A visit in another language has English segments, each with ``original``: the
    words as spoken that it translates, with their times.
    """
    names = work["speakers"]
    spoken = transcript.get("original") or []
    return [
        {
            "original": [
                {"text": spoken[i]["text"], "start": spoken[i]["start"], "end": spoken[i]["end"]}
                for i in s.get("original_ids", ())
                if 0 <= i < len(spoken)
            ],
            "id": s["id"],
            "start": s["start"],
            "end": s["end"],
            "clock": _clock(s["start"]),
            "speaker": names.get(s.get("speaker") or "", s.get("speaker") or ""),
            "label": s.get("speaker") or "",
            "text": s["text"],
            "flags": s.get("flags", ()),
        }
        for s in transcript["segments"]
    ]


def spoken_language(transcript: dict[str, Any]) -> dict[str, str] | None:
    """``{"code", "name"}`` of the language spoken when the transcript shown is its
    English translation (a visit in another language); ``None`` otherwise."""
    if not transcript.get("original"):
        return None
    from transcribe import language_name

    code = str(transcript.get("language") or "")
    return {"code": code, "name": language_name(code) or "the language spoken"}
