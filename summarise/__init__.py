"""Drafting cited, structured case notes from a transcript with a local language model."""

from summarise.draft import DraftOptions, draft_note
from summarise.grounding import SUPPORT_THRESHOLD, Grounding, check_grounding
from summarise.model import LlamaCppDrafter, TransformersDrafter, load_drafter, load_embedder
from summarise.packaged import DEFAULT_LANGUAGE_MODEL, PACKAGED_MODELS, prepare_language_model
from summarise.render import render_markdown, render_text
from summarise.rewrite import PROMPT_VERSION
from summarise.text import ROLE_WORDS
from summarise.turns import transcript_from_turns
from summarise.types import Action, Citation, Draft, DraftSection, NoteDrafter, Statement

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
