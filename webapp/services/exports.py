"""The approved note as plain text and as a Word document, ready to paste or attach."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["NoteMeta", "note_sections", "render_docx", "render_text"]


@dataclass(frozen=True)
class NoteMeta:
    """Heading details of a note.

    Attributes:
        case_reference: The person's case reference.
        visit_type: Template name.
        visit_date: ISO date of the visit.
        template_title: The template's title.
    """

    case_reference: str
    visit_type: str
    visit_date: str
    template_title: str


def note_sections(
    draft: dict[str, Any], work: dict[str, Any]
) -> Iterator[tuple[str, str, list[str]]]:
    """Yield ``(title, style, texts)`` per section, with edits applied and deletions left out."""
    for section in draft["sections"]:
        texts = [
            item["text"]
            for item in _items_of(section, work)
            if item["status"] != "deleted" and item["text"].strip()
        ]
        yield section["title"], section["style"], texts


def _items_of(section: dict[str, Any], work: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in work["items"].values() if i["section"] == section["key"]]


def render_text(
    meta: NoteMeta,
    draft: dict[str, Any],
    work: dict[str, Any],
    addenda: Iterable[tuple[str, str, str]] = (),
) -> str:
    """The note as plain text: the exact text whose hash an approval records.

    Args:
        meta: Heading details.
        draft: The draft as a dictionary.
        work: The reviewer's working state.
        addenda: ``(author, time, text)`` added after approval (not part of the hash).
    """
    lines = [
        meta.template_title,
        f"Case reference: {meta.case_reference}",
        f"Visit date: {meta.visit_date}",
        "",
    ]
    for title, style, texts in note_sections(draft, work):
        lines.append(title.upper())
        if not texts:
            lines.append("Nothing recorded.")
        elif style == "prose":
            lines.append(" ".join(texts))
        else:
            lines.extend(f"- {t}" for t in texts)
        lines.append("")
    for author, at, text in addenda:
        lines.extend([f"ADDENDUM by {author}, {at}", text, ""])
    return "\n".join(lines).rstrip() + "\n"


def render_docx(
    meta: NoteMeta,
    draft: dict[str, Any],
    work: dict[str, Any],
    approval: str,
    addenda: Iterable[tuple[str, str, str]] = (),
) -> bytes:
    """The note as a Word document (python-docx), returned as bytes.

    Args:
        meta: Heading details.
        draft: The draft as a dictionary.
        work: The reviewer's working state.
        approval: One line naming the approver, the time and the text's hash.
        addenda: ``(author, time, text)`` added after approval.
    """
    import docx

    document = docx.Document()
    document.add_heading(meta.template_title, level=1)
    document.add_paragraph(f"Case reference: {meta.case_reference}")
    document.add_paragraph(f"Visit date: {meta.visit_date}")
    for title, style, texts in note_sections(draft, work):
        document.add_heading(title, level=2)
        if not texts:
            document.add_paragraph("Nothing recorded.")
        elif style == "prose":
            document.add_paragraph(" ".join(texts))
        else:
            for text in texts:
                document.add_paragraph(text, style="List Bullet")
    for author, at, text in addenda:
        document.add_heading(f"Addendum by {author}, {at}", level=2)
        document.add_paragraph(text)
    document.add_paragraph(approval)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
