"""Rendering a draft as plain text or Markdown."""

from __future__ import annotations

from summarise.types import Citation, Draft, DraftSection, Statement

__all__ = ["render_markdown", "render_text"]


def _statement_text(statement: Statement) -> str:
    return f"\u201c{statement.text}\u201d" if statement.quote else statement.text


def _action_line(action_who: str, what: str, by_when: str | None) -> str:
    when = f" (by when: {by_when})" if by_when else ""
    return f"{action_who}: {what}{when}"


def _section_lines(section: DraftSection) -> list[str]:
    if section.style == "actions":
        return ["- " + _action_line(a.who, a.what, a.by_when) for a in section.actions] or [
            section.note
        ]
    if not section.statements:
        return [section.note]
    if section.style == "bullets":
        return ["- " + _statement_text(s) for s in section.statements]
    return [" ".join(_statement_text(s) for s in section.statements)]


def render_text(draft: Draft) -> str:
    """Return the draft as plain text: each heading, a blank line, then its content.

    Citations and flags are left out; this is the note as a reader would see it.
    """
    blocks = []
    for section in draft.sections:
        blocks.append(section.title + "\n\n" + "\n".join(_section_lines(section)))
    return "\n\n".join(blocks) + "\n"


def _cites(statement_citations: tuple[Citation, ...]) -> str:
    return ", ".join(f"[{c.segment_id} @ {_clock(c.start)}]" for c in statement_citations)


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def render_markdown(draft: Draft) -> str:
    """Return the draft as Markdown, with citations (segment and time) and flags."""
    lines = [
        f"# Draft note ({draft.template} v{draft.template_version})",
        "",
        f"_Drafted {draft.created_at} by {draft.model} "
        f"(sha256 {draft.model_sha256[:12]}\u2026), prompts {draft.prompt_version}. "
        "Check every flagged item against the recording before approving._",
    ]
    for section in draft.sections:
        lines += ["", f"## {section.title}", ""]
        if section.style == "actions" and section.actions:
            lines += ["| Who | What | By when | Source |", "|---|---|---|---|"]
            for a in section.actions:
                flags = f" \u26a0 {', '.join(a.flags)}" if a.flags else ""
                lines.append(
                    f"| {a.who} | {a.what} | {a.by_when or 'Not stated'} | "
                    f"{_cites(a.citations)}{flags} |"
                )
            continue
        if not section.statements:
            lines.append(f"_{section.note}_")
            continue
        for s in section.statements:
            flags = f" \u26a0 {', '.join(s.flags)}" if s.flags else ""
            lines.append(
                f"- {_statement_text(s)} {_cites(s.citations)} (support {s.support:.2f}){flags}"
            )
    return "\n".join(lines) + "\n"
