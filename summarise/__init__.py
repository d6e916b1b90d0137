"""Drafting cited, structured case notes from a transcript with a local language model.

The face loads lazily (PEP 562): ``from summarise import Draft`` loads only the module
that defines it, so a web process that reads a stored draft does without PyAV, NumPy
and SciPy; ``from summarise import draft_note`` loads what drafting needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from transcribe.lazy import lazy_face

if TYPE_CHECKING:
    from summarise.draft import DraftOptions, draft_note
    from summarise.grounding import SUPPORT_THRESHOLD, Grounding, check_grounding
    from summarise.model import LlamaCppDrafter, TransformersDrafter, load_drafter, load_embedder
    from summarise.packaged import DEFAULT_LANGUAGE_MODEL, PACKAGED_MODELS, prepare_language_model
    from summarise.render import render_markdown, render_text
    from summarise.rewrite import PROMPT_VERSION
    from summarise.text import ROLE_WORDS
    from summarise.turns import transcript_from_turns
    from summarise.types import Action, Citation, Draft, DraftSection, NoteDrafter, Statement

#: Where each public name is defined.
_HOMES = {
    "DraftOptions": "summarise.draft",
    "draft_note": "summarise.draft",
    "SUPPORT_THRESHOLD": "summarise.grounding",
    "Grounding": "summarise.grounding",
    "check_grounding": "summarise.grounding",
    "LlamaCppDrafter": "summarise.model",
    "TransformersDrafter": "summarise.model",
    "load_drafter": "summarise.model",
    "load_embedder": "summarise.model",
    "DEFAULT_LANGUAGE_MODEL": "summarise.packaged",
    "PACKAGED_MODELS": "summarise.packaged",
    "prepare_language_model": "summarise.packaged",
    "render_markdown": "summarise.render",
    "render_text": "summarise.render",
    "PROMPT_VERSION": "summarise.rewrite",
    "ROLE_WORDS": "summarise.text",
    "transcript_from_turns": "summarise.turns",
    "Action": "summarise.types",
    "Citation": "summarise.types",
    "Draft": "summarise.types",
    "DraftSection": "summarise.types",
    "NoteDrafter": "summarise.types",
    "Statement": "summarise.types",
}


__getattr__, __dir__ = lazy_face(__name__, _HOMES, globals())


__all__ = [
    "DEFAULT_LANGUAGE_MODEL",
    "PACKAGED_MODELS",
    "PROMPT_VERSION",
    "ROLE_WORDS",
    "SUPPORT_THRESHOLD",
    "Action",
    "Citation",
    "Draft",
    "DraftOptions",
    "DraftSection",
    "Grounding",
    "LlamaCppDrafter",
    "NoteDrafter",
    "Statement",
    "TransformersDrafter",
    "check_grounding",
    "draft_note",
    "load_drafter",
    "load_embedder",
    "prepare_language_model",
    "render_markdown",
    "render_text",
    "transcript_from_turns",
]
