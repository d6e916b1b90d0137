"""The approved note as plain text, Word, PDF and JSON, ready to paste, attach or import.

Every format is built from the approved working state alone: statements deleted in
review are left out and edits are applied, so only approved text ever leaves. Every
format's text is cleaned of characters XML cannot hold (:mod:`webapp.text`) first.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from webapp.services.export_actions import note_actions, significant_topics
from webapp.services.note_items import marked_text, section_item_ids, written_by_practitioner
from webapp.services.sealed_notes import cleaned_draft
from webapp.text import clean, clean_tree

if TYPE_CHECKING:
    from summarise import Draft, DraftSection

__all__ = [
    "HASH_LABEL",
    "ApprovalInfo",
    "NoteMeta",
    "note_json",
    "note_sections",
    "render_docx",
    "render_pdf",
    "render_text",
]

_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
#: The heading line holding the approved text's hash, set in a fixed-width font.
HASH_LABEL = "SHA-256 of the approved text"


@dataclass(frozen=True)
class NoteMeta:
    """Heading details of a note.

    Attributes:
        case_reference: The person's case reference.
        visit_type: Template name.
        visit_date: ISO date of the visit.
        template_title: The template's title.
        language: ``(label, words)`` heading lines on the language spoken and the
            interpreter; none for a visit in English without an interpreter.
    """

    case_reference: str
    visit_type: str
    visit_date: str
    template_title: str
    language: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ApprovalInfo:
    """Who wrote and approved a note, for exports to case-management systems.

    Attributes:
        author: Display name of the person who recorded the visit.
        approver: Display name of the approver.
        approved_at: ISO 8601 time (UTC) of approval.
        sha256: Hash of the approved text.
        policy_version: The access policy version the note was produced under.
    """

    author: str
    approver: str
    approved_at: str
    sha256: str
    policy_version: str


def _cleaned(
    meta: NoteMeta,
    draft: Draft,
    work: dict[str, Any],
    addenda: Iterable[tuple[str, str, str]],
) -> tuple[NoteMeta, Draft, dict[str, Any], list[tuple[str, str, str]]]:
    """The export's inputs with every string cleaned (see :mod:`webapp.text`)."""
    return (
        NoteMeta(
            *(
                clean(str(v))
                for v in (
                    meta.case_reference,
                    meta.visit_type,
                    meta.visit_date,
                    meta.template_title,
                )
            ),
            language=tuple((clean(label), clean(words)) for label, words in meta.language),
        ),
        cleaned_draft(draft),
        clean_tree(work),
        [tuple(clean(str(part)) for part in entry) for entry in addenda],  # type: ignore[misc]
    )


def note_sections(draft: Draft, work: dict[str, Any]) -> Iterator[tuple[str, str, list[str]]]:
    """Yield ``(title, style, texts)`` per section, with edits applied and deletions left out.

    Statements come in the reviewer's order; a practitioner's own are marked as such.
    """
    for section in draft.sections:
        texts = [marked_text(item) for item in _kept_items(section, work)]
        yield section.title, section.style, texts


def _section_blocks(draft: Draft, work: dict[str, Any]) -> Iterator[tuple[str, bool, list[str]]]:
    """Yield ``(title, listed, paragraphs)`` per section, as every format sets it out.

    An empty section says "Nothing recorded."; a prose section's statements run on as
    one paragraph; any other section's are a list (``listed``), one item each.
    """
    for title, style, texts in note_sections(draft, work):
        if not texts:
            yield title, False, ["Nothing recorded."]
        elif style == "prose":
            yield title, False, [" ".join(texts)]
        else:
            yield title, True, texts


def _kept_items(section: DraftSection, work: dict[str, Any]) -> list[dict[str, Any]]:
    """A section's statements in the reviewer's order, without deleted or empty ones."""
    items = [work["items"][item_id] for item_id in section_item_ids(work, section.key)]
    return [i for i in items if i["status"] != "deleted" and i["text"].strip()]


def render_text(
    meta: NoteMeta,
    draft: Draft,
    work: dict[str, Any],
    addenda: Iterable[tuple[str, str, str]] = (),
    approval: str = "",
) -> str:
    """The note as plain text: the exact text whose hash an approval records.

    Args:
        meta: Heading details.
        draft: The draft.
        work: The reviewer's working state.
        addenda: ``(author, time, text)`` added after approval (not part of the hash).
        approval: A line naming the approver, the time and the hash, put after the
            approved text and before any addenda (not part of the hash either).
    """
    meta, draft, work, addenda = _cleaned(meta, draft, work, addenda)
    approval = clean(approval)
    lines = [
        meta.template_title,
        f"Case reference: {meta.case_reference}",
        f"Visit date: {meta.visit_date}",
        *(f"{label}: {words}" for label, words in meta.language),
        "",
    ]
    for title, listed, paragraphs in _section_blocks(draft, work):
        lines.append(title.upper())
        lines.extend(f"- {p}" if listed else p for p in paragraphs)
        lines.append("")
    body = "\n".join(lines).rstrip() + "\n"
    after = [f"\n{approval}\n"] if approval else []
    after += [f"\nADDENDUM by {author}, {at}\n{text}\n" for author, at, text in addenda]
    return body + "".join(after)


def render_docx(
    meta: NoteMeta,
    draft: Draft,
    work: dict[str, Any],
    heading: Sequence[tuple[str, str]],
    addenda: Iterable[tuple[str, str, str]] = (),
) -> bytes:
    """The note as a Word document (python-docx), returned as bytes.

    Args:
        meta: Heading details.
        draft: The draft.
        work: The reviewer's working state.
        heading: ``(label, value)`` lines under the title: case, visit, who was
            present, consent, author, approval and the text's hash (see
            :class:`webapp.services.export_details.ExportHeading`).
        addenda: ``(author, time, text)`` added after approval.
    """
    meta, draft, work, addenda = _cleaned(meta, draft, work, addenda)
    import docx
    from docx.shared import Pt

    document = docx.Document()
    document.add_heading(meta.template_title, level=1)
    for label, value in _clean_rows(heading):
        paragraph = document.add_paragraph()
        paragraph.paragraph_format.space_after = Pt(2)
        paragraph.add_run(f"{label}: ").bold = True
        run = paragraph.add_run(value)
        if label == HASH_LABEL:
            run.font.name = "Courier New"
            run.font.size = Pt(9)
    for title, listed, paragraphs in _section_blocks(draft, work):
        document.add_heading(title, level=2)
        for paragraph in paragraphs:
            document.add_paragraph(paragraph, style="List Bullet" if listed else None)
    for author, at, text in addenda:
        document.add_heading(f"Addendum by {author}, {at}", level=2)
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def render_pdf(
    meta: NoteMeta,
    draft: Draft,
    work: dict[str, Any],
    heading: Sequence[tuple[str, str]],
    addenda: Iterable[tuple[str, str, str]] = (),
) -> bytes:
    """The note as a PDF (fpdf2), returned as bytes; same content as :func:`render_docx`.

    Args:
        meta: Heading details.
        draft: The draft.
        work: The reviewer's working state.
        heading: ``(label, value)`` lines under the title, set as two columns.
        addenda: ``(author, time, text)`` added after approval.
    """
    meta, draft, work, addenda = _cleaned(meta, draft, work, addenda)
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    family, mono, encode = _pdf_font(pdf)

    def write(text: str, size: int = 11, bold: bool = False, gap: float = 2) -> None:
        pdf.set_font(family, "B" if bold else "", size)
        pdf.multi_cell(0, size * 0.5, encode(text), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    write(meta.template_title, size=16, bold=True)
    _pdf_rows(pdf, family, mono, encode, _clean_rows(heading))
    pdf.ln(4)
    for title, listed, paragraphs in _section_blocks(draft, work):
        write(title, size=13, bold=True)
        for paragraph in paragraphs:
            if listed:
                write(f"\u2022 {paragraph}", gap=1)
            else:
                write(paragraph)
        if listed:
            pdf.ln(2)
    for author, at, text in addenda:
        write(f"Addendum by {author}, {at}", size=13, bold=True)
        write(text)
    return bytes(pdf.output())


def _clean_rows(rows: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(clean(label), clean(value)) for label, value in rows]


def _pdf_rows(
    pdf: Any, family: str, mono: str, encode: Any, rows: Sequence[tuple[str, str]]
) -> None:
    """Set ``(label, value)`` rows as two columns, each row as tall as its longer cell."""
    label_width = 42.0
    value_width = pdf.epw - label_width
    line = 5.0
    for label, value in rows:
        value_font = (mono, "", 9) if label == HASH_LABEL else (family, "", 10)
        pdf.set_font(family, "B", 10)
        label_lines = pdf.multi_cell(
            label_width, line, encode(label), align="L", dry_run=True, output="LINES"
        )
        pdf.set_font(*value_font)
        value_lines = pdf.multi_cell(
            value_width, line, encode(value), align="L", dry_run=True, output="LINES"
        )
        height = line * max(len(label_lines), len(value_lines), 1)
        if pdf.will_page_break(height):
            pdf.add_page()
        top = pdf.get_y()
        pdf.set_font(family, "B", 10)
        pdf.multi_cell(label_width, line, encode(label), align="L", new_x="RIGHT", new_y="TOP")
        pdf.set_xy(pdf.l_margin + label_width, top)
        pdf.set_font(*value_font)
        pdf.multi_cell(value_width, line, encode(value), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_xy(pdf.l_margin, top + height + 1)


def _pdf_font(pdf: Any) -> tuple[str, str, Any]:
    """The text and fixed-width font families, and what a text must pass through first."""
    # DejaVu covers the characters notes contain (curly quotes, accents, bullets);
    # without it the built-in Helvetica is used and other characters are replaced.
    regular, bold = _FONT_DIR / "DejaVuSans.ttf", _FONT_DIR / "DejaVuSans-Bold.ttf"
    fixed = _FONT_DIR / "DejaVuSansMono.ttf"
    if regular.exists() and bold.exists() and fixed.exists():
        pdf.add_font("DejaVu", "", str(regular))
        pdf.add_font("DejaVu", "B", str(bold))
        pdf.add_font("DejaVuMono", "", str(fixed))
        return "DejaVu", "DejaVuMono", str
    table = str.maketrans(
        {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2022": "-"}
    )

    def latin1(text: str) -> str:
        return text.translate(table).encode("latin-1", "replace").decode("latin-1")

    return "Helvetica", "Courier", latin1


def note_json(
    meta: NoteMeta,
    draft: Draft,
    work: dict[str, Any],
    info: ApprovalInfo,
    addenda: Iterable[tuple[str, str, str]] = (),
) -> dict[str, Any]:
    """The note as the record a case-management import expects.

    Args:
        meta: Heading details.
        draft: The draft.
        work: The reviewer's (approved) working state.
        info: Author, approver and approval details.
        addenda: ``(author, time, text)`` added after approval.

    Returns:
        A dictionary ready for ``json.dumps``: case reference, visit date, note type,
        author, approver, approval time, sections, actions with owner and due date,
        and the significant-event flag (true when a high-stakes statement was kept).
    """
    meta, draft, work, addenda = _cleaned(meta, draft, work, addenda)
    topics = significant_topics(draft, work)
    return {
        "schema": "carenotes.note/1",
        "case_reference": meta.case_reference,
        "visit_date": meta.visit_date,
        "note_type": meta.visit_type,
        "note_title": meta.template_title,
        "language": dict(meta.language),
        "author": info.author,
        "approver": info.approver,
        "approved_at": info.approved_at,
        "approved_sha256": info.sha256,
        "policy_version": info.policy_version,
        "sections": [
            {
                "title": title,
                "style": style,
                "items": texts,
                "statements": [
                    {
                        "text": item["text"],
                        "written_by": "practitioner" if written_by_practitioner(item) else "ai",
                    }
                    for item in _kept_items(section, work)
                ],
            }
            for section, (title, style, texts) in zip(
                draft.sections, note_sections(draft, work), strict=True
            )
        ],
        "actions": note_actions(draft, work),
        "significant_event": bool(topics),
        "significant_event_topics": topics,
        "addenda": [{"author": a, "at": at, "text": t} for a, at, t in addenda],
    }
