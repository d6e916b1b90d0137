"""Checksums of local model weights, recorded with every draft.

A file's SHA-256 is cached by its path, size and modification time, so a large model is
read in full only the first time it is loaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from policies.errors import ModelUnavailable

__all__ = ["file_sha256", "weights_sha256"]

logger = logging.getLogger(__name__)

_CACHE_DIR = Path.home() / ".cache" / "carenotes"


def file_sha256(path: Path) -> str:
    """Return the SHA-256 of a file, cached by path, size and modification time.

    The cache holds only paths and checksums, in ``~/.cache/carenotes/sha256.json``.
    """
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    cache_file = _CACHE_DIR / "sha256.json"
    cache: dict[str, str] = {}
    try:
        cache = json.loads(cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cache = {}
    if key in cache:
        return cache[key]
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    cache[key] = digest.hexdigest()
    try:
        _CACHE_DIR.mkdir(parents=True, exist_ok=True)
        cache_file.write_text(json.dumps(cache, indent=0), encoding="utf-8")
    except OSError:
        logger.warning("could not write the checksum cache in %s", _CACHE_DIR)
    return cache[key]


def weights_sha256(directory: Path) -> str:
    """Return the SHA-256 of a model folder's weights (of all of them together when several).

    Raises:
        ModelUnavailable: If the folder holds no weights.
    """
    files = sorted(
        p for p in directory.iterdir() if p.suffix in (".safetensors", ".bin", ".gguf", ".pt")
    )
    if not files:
        raise ModelUnavailable(
            f"{directory} holds no weights (*.safetensors, *.bin); give a model folder "
            "saved with save_pretrained, or a .gguf file."
        )
    if len(files) == 1:
        return file_sha256(files[0])
    combined = hashlib.sha256()
    for f in files:
        combined.update(f"{f.name}:{file_sha256(f)}\n".encode())
    return combined.hexdigest()
