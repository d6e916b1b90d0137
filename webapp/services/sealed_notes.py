"""A note's draft and a transcript as they are sealed in the database, and back.

The web app works with :class:`summarise.Draft` and :class:`transcribe.Transcript`;
the database holds each as encrypted JSON. This module is the one place where either
becomes a dictionary or is built from one. It imports nothing of the web app above
the shared objects, so the pipeline uses it too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from webapp.context import Vault
from webapp.text import clean_tree

if TYPE_CHECKING:
    from summarise import Draft
    from transcribe import Transcript

__all__ = [
    "cleaned_draft",
    "draft_from_dict",
    "open_draft",
    "open_transcript",
    "seal_draft",
    "seal_transcript",
    "transcript_from_dict",
]


def draft_from_dict(data: dict[str, Any]) -> Draft:
    """A draft from its stored dictionary."""
    # The face loads only the module defining Draft, never the drafting models.
    from summarise import Draft

    return Draft.from_dict(data)


def transcript_from_dict(data: dict[str, Any]) -> Transcript:
    """A transcript from its stored dictionary."""
    from transcribe import Transcript

    return Transcript.from_dict(data)


def open_draft(vault: Vault, key: bytes, note_id: str, blob: bytes) -> Draft:
    """Decrypt a note's draft."""
    return draft_from_dict(vault.open_json(key, "note", note_id, "draft", blob))


def seal_draft(vault: Vault, key: bytes, note_id: str, draft: Draft) -> bytes:
    """Encrypt a note's draft for its ``draft_enc`` column."""
    return vault.seal(key, "note", note_id, "draft", draft.to_dict())


def open_transcript(
    vault: Vault, key: bytes, record_type: str, record_id: str, blob: bytes
) -> Transcript:
    """Decrypt the transcript kept on a recording (between the stages) or on a note."""
    return transcript_from_dict(vault.open_json(key, record_type, record_id, "transcript", blob))


def seal_transcript(
    vault: Vault, key: bytes, record_type: str, record_id: str, transcript: Transcript
) -> bytes:
    """Encrypt a transcript for the ``transcript_enc`` column of a recording or a note."""
    return vault.seal(key, record_type, record_id, "transcript", transcript.to_dict())


def cleaned_draft(draft: Draft) -> Draft:
    """``draft`` with every string cleaned of characters XML cannot hold (:mod:`webapp.text`)."""
    return draft_from_dict(clean_tree(draft.to_dict()))
