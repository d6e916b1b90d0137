"""How likely a model is to start its answer with each of a few words.

A yes-or-no question answered by greedy decoding gives a bare "yes" even when the model
is barely more sure of it than of "no". Read from the model's scores for its first
token instead, the answer comes with how sure the model is, so the caller can ask for
more than a coin's toss before it flags something.

Both functions return the probability of the first answer word against the others
(between 0 and 1), summed over the word's spellings ("yes", "Yes", " yes").
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Sequence
from typing import Any

__all__ = ["chat_input_ids", "llama_cpp_probability", "transformers_probability"]


def _share(logits: Any, choices: list[set[int]]) -> float:
    top = max(float(logits[i]) for ids in choices for i in ids)
    mass = [sum(math.exp(float(logits[i]) - top) for i in ids) for ids in choices]
    return mass[0] / (sum(mass) or 1.0)


def _first_tokens(encode: Any, word: str) -> set[int]:
    ids = set()
    for variant in (word, word.capitalize(), " " + word, " " + word.capitalize()):
        tokens = encode(variant)
        if tokens:
            ids.add(int(tokens[0]))
    return ids


@functools.lru_cache(maxsize=4)
def _formatter(template: str, eos: str, bos: str, eos_id: int) -> Any:
    """The chat template compiled once, as llama.cpp lays out a chat for a reply."""
    from llama_cpp import llama_chat_format

    return llama_chat_format.Jinja2ChatFormatter(
        template=template, eos_token=eos, bos_token=bos, stop_token_ids=[eos_id]
    )


def llama_cpp_probability(
    llama: Any, lock: threading.Lock, messages: list[dict[str, str]], answers: Sequence[str]
) -> float:
    """The probability that a llama.cpp model's reply starts with ``answers[0]``.

    The prompt is laid out by the model's own chat template, as for a reply, and only
    the part not already in llama.cpp's cache is computed.
    """
    import numpy as np
    from llama_cpp import Llama

    template = llama.metadata.get("tokenizer.chat_template")
    if not template:
        raise ValueError("the model has no chat template")
    eos, bos = llama.token_eos(), llama.token_bos()
    formatter = _formatter(
        template,
        llama._model.token_get_text(eos) if eos != -1 else "",
        llama._model.token_get_text(bos) if bos != -1 else "",
        eos,
    )
    laid_out = formatter(messages=messages)
    tokens = llama.tokenize(
        laid_out.prompt.encode("utf-8"), add_bos=not laid_out.added_special, special=True
    )
    choices = [
        _first_tokens(lambda t: llama.tokenize(t.encode(), add_bos=False), a) for a in answers
    ]
    with lock:
        cached = llama.input_ids[: llama.n_tokens].tolist()
        reuse = min(Llama.longest_token_prefix(cached, tokens), len(tokens) - 1)
        llama.n_tokens = reuse
        llama.eval(tokens[reuse:])
        logits = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama._n_vocab,))
        return _share(logits, choices)


def chat_input_ids(tokenizer: Any, messages: list[dict[str, str]]) -> Any:
    """The token ids of ``messages`` laid out for a reply, by the chat template if any."""
    if getattr(tokenizer, "chat_template", None):
        encoded = tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        return encoded["input_ids"]
    prompt = "\n\n".join(m["content"] for m in messages) + "\n\n"
    return tokenizer(prompt, return_tensors="pt")["input_ids"]


def transformers_probability(
    model: Any,
    tokenizer: Any,
    lock: threading.Lock,
    messages: list[dict[str, str]],
    answers: Sequence[str],
) -> float:
    """The probability that a transformers model's reply starts with ``answers[0]``."""
    import torch

    input_ids = chat_input_ids(tokenizer, messages)
    choices = [
        _first_tokens(lambda t: tokenizer.encode(t, add_special_tokens=False), a) for a in answers
    ]
    with lock, torch.inference_mode():
        logits = model(input_ids.to(model.device)).logits[0, -1].float().cpu()
    return _share(logits, choices)
