"""Narrow calls to the language model, and validation of everything it returns.

The model is asked to do one small thing at a time: rewrite one utterance as a
third-person statement. Its reply is never trusted. A reply that leaks chat markup,
"thinking" text or the prompt, loops, changes a number, name, date, negation or
medicine, adds words the speaker did not say, or drops most of what was said is
rejected, and the caller keeps its faithful extractive statement instead.
"""

from __future__ import annotations

import logging
import re
import zlib
from dataclasses import dataclass

from summarise.grounding import critical_terms
from summarise.served import ModelServerUnavailable
from summarise.text import british_spelling, content_words
from summarise.types import NoteDrafter

__all__ = ["MARKUP", "PROMPT_VERSION", "Rewrite", "rewrite_statement", "validate_rewrite"]

logger = logging.getLogger(__name__)

#: Version of the prompts below; recorded in every draft. Change it when they change.
PROMPT_VERSION = "rewrite-2026.11-1"

_SYSTEM = (
    "You write case notes. Rewrite what the speaker said as one short sentence in the "
    "third person, in British English. Keep every fact. Do not add anything."
)
_EXAMPLE_IN = 'The patient said: "i have been sleeping badly since my wife died."'
_EXAMPLE_OUT = "The patient has been sleeping badly since their wife died."

#: Chat-template markup and role labels a reply must never carry.
MARKUP = re.compile(
    r"<\|[^>]*\|?>|<\/?(?:think|thinking|s|system|user|assistant)>|\[/?INST\]|"
    r"^\s*(?:assistant|user|system)\s*:|\b(?:im_start|im_end|endoftext)\b",
    re.IGNORECASE | re.MULTILINE,
)
_THINKING = re.compile(
    r"\b(?:let me|let's think|i think|i need to|i will|i'll|first,|step \d|okay, so|"
    r"as an ai|i cannot|i can't|i'm sorry|sorry|here is|here's|rewrite|rewritten|"
    r"sentence|third person|british english|case note|the speaker said)\b",
    re.IGNORECASE,
)
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|i'd|i'll|me|my|mine|myself|we|our|us)\b", re.I)
# Words a rewrite may add that carry no new fact.
_ALLOWED_NEW = content_words(
    "the patient person doctor carer parent child practitioner supervisor social worker "
    "speaker they their them themselves he she his her has have had was were is are "
    "said says say reported reports report stated states state described describes "
    "explained explains told tells noted notes mentioned mentions added adds asked "
    "felt feels feel that this these those been being also which who would will can "
    "could does did done since about experienced experiences experiencing having"
)


@dataclass(frozen=True)
class Rewrite:
    """The outcome of one rewrite call.

    Attributes:
        text: The accepted, cleaned rewrite, or ``None`` if it was rejected.
        reason: Why it was rejected (``""`` when accepted).
    """

    text: str | None
    reason: str = ""


def _messages(speaker: str, utterance: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": _SYSTEM},
        {"role": "user", "content": _EXAMPLE_IN},
        {"role": "assistant", "content": _EXAMPLE_OUT},
        {"role": "user", "content": f'{speaker} said: "{utterance}"'},
    ]


def _loops(text: str) -> bool:
    words = text.lower().split()
    grams = [" ".join(words[i : i + 3]) for i in range(max(0, len(words) - 2))]
    if len(grams) != len(set(grams)):
        return True
    raw = text.encode()
    return len(raw) > 60 and len(raw) / max(1, len(zlib.compress(raw))) > 2.4


def validate_rewrite(reply: str, utterance: str, speaker: str) -> Rewrite:
    """Check a model's rewrite of ``utterance``; return it cleaned, or why it was refused.

    Args:
        reply: The model's raw reply.
        utterance: The cleaned utterance it was asked to rewrite.
        speaker: How the note names the speaker ("The patient").

    Returns:
        The accepted text, or ``None`` and the reason.
    """
    text = reply.strip()
    if MARKUP.search(text):
        return Rewrite(None, "markup")
    text = text.split("\n")[0].strip()
    if not text:
        return Rewrite(None, "empty")
    if MARKUP.search(text):
        return Rewrite(None, "markup")
    text = text.strip().strip('"').strip()
    if "\n" in text or '"' in text or text.count(".") > 2:
        return Rewrite(None, "malformed")
    if _THINKING.search(text):
        return Rewrite(None, "thinking-or-echo")
    if _loops(text):
        return Rewrite(None, "repetition")
    if _FIRST_PERSON.search(text):
        return Rewrite(None, "not-third-person")
    words, source_words = text.split(), utterance.split()
    if not 3 <= len(words) <= int(1.5 * len(source_words)) + 8:
        return Rewrite(None, "length")
    if not text.lower().startswith((speaker.lower(), "they ", "he ", "she ")):
        return Rewrite(None, "subject")
    ours, theirs = critical_terms(text), critical_terms(utterance)
    for kind in ("number", "date", "negation", "medication"):
        if ours[kind] != theirs[kind]:
            return Rewrite(None, f"changed-{kind}")
    said = set(re.findall(r"[a-z0-9']+", utterance.lower()))
    if ours["name"] - theirs["name"] - said - {w.lower() for w in speaker.split()}:
        return Rewrite(None, "new-name")
    new = content_words(text) - content_words(utterance) - _ALLOWED_NEW - content_words(speaker)
    if new:
        return Rewrite(None, "new-words")
    kept = content_words(utterance) & content_words(text)
    if len(kept) < 0.6 * len(content_words(utterance) - _ALLOWED_NEW):
        return Rewrite(None, "dropped-content")
    text = british_spelling(text[0].upper() + text[1:])
    if not text.endswith((".", "!", "?")):
        text += "."
    return Rewrite(text)


def rewrite_statement(
    drafter: NoteDrafter, utterance: str, speaker: str, max_new_tokens: int | None = None
) -> Rewrite:
    """Ask the model to rewrite one utterance in the third person, and validate it.

    Args:
        drafter: The loaded language model.
        utterance: The cleaned utterance (fillers removed).
        speaker: How the note names the speaker ("The patient", "Mrs Jones").
        max_new_tokens: Longest reply asked for; by default a little more than a
            faithful rewrite needs, so a looping model is cut short.

    Returns:
        The validated rewrite, or ``None`` with the reason it was refused. Any
        exception from the model counts as a refusal, never as a failure of the draft.
    """
    if max_new_tokens is None:
        max_new_tokens = min(80, 2 * len(utterance.split()) + 16)
    try:
        reply = drafter.generate(_messages(speaker, utterance), max_new_tokens=max_new_tokens)
    except ModelServerUnavailable:
        raise  # the server is down: fail the job so it is retried, not drafted without it
    except Exception as exc:  # noqa: BLE001 - a broken model must not break the draft
        logger.warning("language model call failed: %s", type(exc).__name__)
        return Rewrite(None, "model-error")
    if not isinstance(reply, str):
        return Rewrite(None, "malformed")
    return validate_rewrite(reply, utterance, speaker)
