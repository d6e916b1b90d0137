"""A manager's view of how one note came to be: AI draft, each saved version, approval.

The working state is rebuilt version by version from the note's change history, so
each saved version's full text can be shown and compared sentence by sentence.
"""

from __future__ import annotations

import copy
import difflib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from webapp import db
from webapp.context import Services
from webapp.dates import written_time
from webapp.services.access import get_recording, require
from webapp.services.audit_trail import record
from webapp.services.auth import CurrentUser
from webapp.services.exports import NoteMeta, render_text
from webapp.services.history import _ACTION_WORDS
from webapp.services.note_wording import target_words
from webapp.services.notes import initial_work, note_meta, note_row
from webapp.services.sealed_notes import open_draft, open_transcript
from webapp.services.speakers import rename_in

if TYPE_CHECKING:
    from summarise import Action, Draft, Statement

__all__ = [
    "DiffPart",
    "FlagOutcome",
    "NoteAudit",
    "SavedVersion",
    "first_views",
    "note_audit",
    "sentence_diff",
    "sentences",
]

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"“'A-Z0-9(])")


@dataclass(frozen=True)
class DiffPart:
    """One sentence of a comparison.

    Attributes:
        kind: ``"equal"``, ``"insert"`` (only in the newer text) or ``"delete"``.
        text: The sentence.
    """

    kind: str
    text: str


@dataclass(frozen=True)
class SavedVersion:
    """One saved change and the whole note text after it.

    Attributes:
        version: The note version the change produced.
        who: Display name of the person who made it.
        at: When, as people write it in UK time (``1 December 2026 at 14:05:09``).
        what: The change in words.
        target: The statement, section or speaker changed.
        text: The full note text after the change.
        diff: Sentence-level changes from the previous version (empty if the text
            did not change, e.g. a section marked reviewed).
    """

    version: int
    who: str
    at: str
    what: str
    target: str
    text: str
    diff: tuple[DiffPart, ...]


@dataclass(frozen=True)
class FlagOutcome:
    """What happened to one flagged statement.

    Attributes:
        item_id: The statement's id.
        section: Section title.
        drafted: The text as drafted.
        flags: The draft's flags.
        outcome: ``"confirmed"`` (kept unchanged), ``"edited"``, ``"deleted"`` or ``"open"``.
        final: The final text.
        who: Who resolved it, if anyone.
        at: When.
    """

    item_id: str
    section: str
    drafted: str
    flags: tuple[str, ...]
    outcome: str
    final: str
    who: str
    at: str


@dataclass(frozen=True)
class NoteAudit:
    """Everything a manager needs to judge how a note was reviewed.

    Attributes:
        meta: Heading details.
        state: ``"draft"`` or ``"approved"``.
        author: Who recorded the visit.
        approver: Who approved, if approved.
        approved_at: When, if approved.
        sha256: Hash of the approved text.
        policy_version: Policy version the note was produced under.
        ai_text: The note as the AI drafted it.
        approved_text: The approved text (the latest text for a draft).
        diff: Sentence-level changes from the AI draft to the approved text, with the
            speakers named in review named in the AI draft too (naming is not an edit).
        versions: Saved versions, oldest first.
        flags: The flagged statements and what happened to each.
        first_view: When someone first opened the draft.
        review_seconds: First view to approval, if both are known.
        visit_to_approval_days: Visit date to approval, in days.
    """

    meta: NoteMeta
    state: str
    author: str
    approver: str
    approved_at: str
    sha256: str
    policy_version: str
    ai_text: str
    approved_text: str
    diff: tuple[DiffPart, ...]
    versions: tuple[SavedVersion, ...]
    flags: tuple[FlagOutcome, ...]
    first_view: str
    review_seconds: float | None
    visit_to_approval_days: int | None


def sentences(text: str) -> list[str]:
    """Split note text into lines, and lines into sentences."""
    out = []
    for line in text.splitlines():
        out.extend(part.strip() for part in _SENTENCE_END.split(line) if part.strip())
    return out


def sentence_diff(old: str, new: str) -> tuple[DiffPart, ...]:
    """Compare two texts sentence by sentence (difflib on the sentence lists)."""
    a, b = sentences(old), sentences(new)
    parts: list[DiffPart] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            parts.extend(DiffPart("equal", s) for s in a[i1:i2])
            continue
        parts.extend(DiffPart("delete", s) for s in a[i1:i2])
        parts.extend(DiffPart("insert", s) for s in b[j1:j2])
    return tuple(parts)


def _apply(work: dict[str, Any], action: str, target: str, after: Any) -> None:
    if action in ("edit", "flag_resolve", "restore") and target in work["items"]:
        work["items"][target].update(after)
    elif action == "add":
        work["items"][target] = dict(after)
        if after["section"] in work.get("order", {}):
            work["order"][after["section"]].append(target)
    elif action == "reorder":
        work.setdefault("order", {})[after["section"]] = list(after["order"])
    elif action == "section_reviewed":
        work["reviewed"] = list(after)
    elif action == "speaker_rename":
        work["speakers"][target] = after["speaker"]
        for item_id, text in after.get("items", {}).items():
            if item_id in work["items"]:
                work["items"][item_id]["text"] = text


def _baseline_text(
    meta: NoteMeta, draft: Draft, drafted: dict[str, Any], baseline: dict[str, str]
) -> str:
    """The AI draft as text, its statements worded as ``baseline`` says."""
    work = copy.deepcopy(drafted)
    for item_id, text in baseline.items():
        work["items"][item_id]["text"] = text
    return render_text(meta, draft, work)


def _when(value: Any) -> str:
    return written_time(value, seconds=True)


def first_views(conn: sa.Connection, note_ids: list[str]) -> dict[str, datetime]:
    """When each note was first opened (its earliest ``view`` audit entry)."""
    if not note_ids:
        return {}
    log = db.audit_log.c
    rows = conn.execute(
        sa.select(log.record_id, sa.func.min(log.at))
        .where(log.action == "view", log.record_type == "note", log.record_id.in_(note_ids))
        .group_by(log.record_id)
    ).all()
    return {rid: db.as_utc(_as_datetime(at)) for rid, at in rows}  # type: ignore[misc]


def _as_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _replay(
    svc: Services,
    key: bytes,
    meta: NoteMeta,
    draft: Draft,
    work: dict[str, Any],
    baseline: dict[str, str],
    changes: Any,
    names: dict[str, str],
    previous: str,
) -> tuple[list[SavedVersion], dict[str, tuple[str, str]], str]:
    """Apply each saved change to ``work`` (and speaker namings to ``baseline``) in turn.

    Returns:
        Each saved version, who resolved each statement last and when, and the note's
        text after the last change.
    """
    vault = svc.vault
    versions = []
    resolved: dict[str, tuple[str, str]] = {}
    for change in changes:
        after = vault.open_json(key, "note_version", change.id, "after", change.after_enc)
        if change.action == "speaker_rename" and change.target in work["speakers"]:
            rename_in(baseline, work["speakers"][change.target], after["speaker"])
        _apply(work, change.action, change.target or "", after)
        text = render_text(meta, draft, work)
        diff = sentence_diff(previous, text) if text != previous else ()
        who, at = names.get(change.actor_id, "unknown"), _when(change.at)
        if change.action in ("edit", "flag_resolve"):
            resolved[change.target or ""] = (who, at)
        versions.append(
            SavedVersion(
                version=change.version,
                who=who,
                at=at,
                what=_ACTION_WORDS.get(change.action, change.action),
                target=target_words(draft, change.target or ""),
                text=text,
                diff=diff,
            )
        )
        previous = text
    return versions, resolved, previous


def _flag_outcomes(
    draft: Draft,
    work: dict[str, Any],
    drafted: dict[str, Any],
    resolved: dict[str, tuple[str, str]],
) -> list[FlagOutcome]:
    """What became of each flagged statement and action of the draft."""
    titles = {s.key: s.title for s in draft.sections}
    flags = []
    for section in draft.sections:
        entries: list[tuple[str, Statement | Action]] = [(st.id, st) for st in section.statements]
        entries += [(f"{section.key}-action-{i}", a) for i, a in enumerate(section.actions)]
        for item_id, entry in entries:
            if not entry.flags:
                continue
            item = work["items"][item_id]
            who, at = resolved.get(item_id, ("", ""))
            flags.append(
                FlagOutcome(
                    item_id=item_id,
                    section=titles[section.key],
                    drafted=drafted["items"][item_id]["text"],
                    flags=entry.flags,
                    outcome=item["status"],
                    final=item["text"],
                    who=who,
                    at=at,
                )
            )
    return flags


def note_audit(svc: Services, user: CurrentUser, recording_id: str) -> NoteAudit:
    """Rebuild a note's history for a manager of its team; the look is audited.

    Raises:
        Forbidden: The user's role cannot see oversight views.
        NotFound: No such note, or outside the user's teams.
    """
    require(user, "audit", "Only managers can see how a note was reviewed.")
    vault = svc.vault
    with svc.engine.begin() as conn:
        rec = get_recording(svc, conn, user, recording_id)
        note = note_row(conn, recording_id)
        names = dict(conn.execute(sa.select(db.users.c.id, db.users.c.display_name)).all())
        changes = conn.execute(
            sa.select(db.note_versions)
            .where(db.note_versions.c.note_id == note.id)
            .order_by(db.note_versions.c.version)
        ).all()
        first = first_views(conn, [note.id]).get(note.id)
        record(conn, user.id, user.username, "oversight_note_view", "note", note.id)
    key = vault.data_key(rec.id, rec.wrapped_key)
    draft = open_draft(vault, key, note.id, note.draft_enc)
    transcript = open_transcript(vault, key, "note", note.id, note.transcript_enc)
    meta = note_meta(svc, key, rec)
    work = initial_work(draft, transcript)
    drafted = copy.deepcopy(work)
    ai_text = render_text(meta, draft, work)
    # The AI's wording with each speaker naming applied as it was made: the baseline
    # the approved text is compared with, so naming a speaker is not an edit.
    baseline = {item_id: item["text"] for item_id, item in drafted["items"].items()}
    versions, resolved, previous = _replay(
        svc, key, meta, draft, work, baseline, changes, names, ai_text
    )
    flags = _flag_outcomes(draft, work, drafted, resolved)
    approved_text = previous
    if note.approved_text_enc is not None:
        approved_text = vault.open_text(
            key, "note", note.id, "approved_text", note.approved_text_enc
        )
    approved_at = db.as_utc(note.approved_at)
    review = (approved_at - first).total_seconds() if approved_at and first else None
    visit_days = None
    if approved_at:
        visit_days = (approved_at.date() - datetime.fromisoformat(rec.visit_date).date()).days
    return NoteAudit(
        meta=meta,
        state=note.state,
        author=names.get(rec.owner_id, ""),
        approver=names.get(note.approved_by, "") if note.approved_by else "",
        approved_at=_when(note.approved_at),
        sha256=note.approved_sha256 or "",
        policy_version=note.policy_version or "not recorded",
        ai_text=ai_text,
        approved_text=approved_text,
        diff=sentence_diff(_baseline_text(meta, draft, drafted, baseline), approved_text),
        versions=tuple(versions),
        flags=tuple(flags),
        first_view=_when(first),
        review_seconds=review,
        visit_to_approval_days=visit_days,
    )
