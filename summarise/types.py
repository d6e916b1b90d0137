"""The draft case note and the drafter protocol, as frozen dataclasses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

__all__ = [
    "Action",
    "Citation",
    "Draft",
    "DraftSection",
    "NoteDrafter",
    "Statement",
]

#: Called with the fraction of drafting done so far (0.0 to 1.0).
Progress = Callable[[float], None]


@dataclass(frozen=True)
class Citation:
    """A pointer from a statement to the transcript segment it rests on.

    Attributes:
        segment_id: ``Segment.id`` in the transcript.
        start: Segment start time in seconds (so the audio can be played there).
        end: Segment end time in seconds.
        speaker: Speaker of the segment, if known.
    """

    segment_id: int
    start: float
    end: float
    speaker: str | None = None


@dataclass(frozen=True)
class Statement:
    """One sentence or bullet of the draft.

    Attributes:
        id: Stable identifier within the draft, e.g. ``"s3-2"``.
        text: The statement as it should appear in the note.
        citations: The transcript segments it rests on; never empty.
        support: Grounding score 0 to 1 from the independent grounding check.
        flags: Reasons a person must check it against the audio, e.g.
            ``"unsupported"``, ``"high-stakes:medication"``, ``"extractive-fallback"``.
        quote: True when ``text`` is the person's own words, verbatim from the
            transcript.
    """

    id: str
    text: str
    citations: tuple[Citation, ...]
    support: float = 1.0
    flags: tuple[str, ...] = ()
    quote: bool = False


@dataclass(frozen=True)
class Action:
    """An agreed action.

    Attributes:
        who: Who will do it (a person or role), or ``"Not stated"``.
        what: What will be done.
        by_when: When by, as said, or ``None`` if no date was given.
        citations: Segments where it was agreed.
        flags: As for :class:`Statement`.
    """

    who: str
    what: str
    by_when: str | None
    citations: tuple[Citation, ...]
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class DraftSection:
    """One section of the draft, following the template.

    Attributes:
        key: The template section's key.
        title: Heading shown to the reader.
        style: ``"prose"``, ``"bullets"`` or ``"actions"``.
        statements: The section's statements (empty for an actions table).
        actions: The section's actions (only for ``style == "actions"``).
        note: Shown when the section is empty, e.g. "Nothing was said about this."
    """

    key: str
    title: str
    style: str
    statements: tuple[Statement, ...] = ()
    actions: tuple[Action, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Draft:
    """A draft case note awaiting a practitioner's review.

    Attributes:
        template: Template name.
        template_version: Template version.
        sections: Sections in template order.
        model: Name of the language model used.
        model_sha256: Checksum of the model's weights file(s).
        prompt_version: Version of the prompts used.
        created_at: ISO 8601 time (UTC) the draft was made.
        model_calls: Rewrite calls made to the language model.
        model_accepted: Rewrites that passed validation and were used; the other
            statements are the faithful extractive ones.
    """

    template: str
    template_version: str
    sections: tuple[DraftSection, ...]
    model: str
    model_sha256: str
    prompt_version: str
    created_at: str
    model_calls: int = 0
    model_accepted: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dictionary."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Draft:
        """Build a draft from :meth:`to_dict` output."""

        def cites(items: Any) -> tuple[Citation, ...]:
            return tuple(Citation(**c) for c in items)

        sections = []
        for s in data["sections"]:
            statements = tuple(
                Statement(
                    **{**st, "citations": cites(st["citations"]), "flags": tuple(st["flags"])}
                )
                for st in s.get("statements", ())
            )
            actions = tuple(
                Action(**{**a, "citations": cites(a["citations"]), "flags": tuple(a["flags"])})
                for a in s.get("actions", ())
            )
            sections.append(
                DraftSection(
                    key=s["key"],
                    title=s["title"],
                    style=s["style"],
                    statements=statements,
                    actions=actions,
                    note=s.get("note", ""),
                )
            )
        return cls(**{**data, "sections": tuple(sections)})


class NoteDrafter(Protocol):
    """A loaded language model that answers one narrow prompt at a time.

    The real one wraps transformers; tests of other parts may pass a fake.

    Attributes:
        name: Model name recorded in drafts.
        sha256: Checksum of the weights, recorded in drafts.
    """

    name: str
    sha256: str

    def generate(self, messages: list[dict[str, str]], max_new_tokens: int = 128) -> str:
        """Return the model's reply to chat ``messages`` (deterministic by default)."""
        ...
