"""Encrypted file storage for recordings.

Layout under the store's root (created 0700)::

    blobs/<name>                 encrypted blobs (see ``crypto.encrypt_stream``)
    blobs/.<name>.<pid>.<rand>.part   an upload being written (ciphertext)
    plain/<pid>-<rand>/          private 0700 folder holding one decrypted copy
    spool/                       uploads being received (ciphertext, unnamed at once)

Blob names are opaque ids (see :func:`new_blob_name`), never case references or file
names. Plaintext exists on disk only inside ``plain/`` and only while a
:meth:`BlobStore.decrypted_copy` block runs; :meth:`BlobStore.remove_stale_temp`
removes anything a crashed process left behind, and the background jobs call it when
each job ends.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

from policies import BadInput, Conflict, NotFound
from webapp.crypto import DEFAULT_CHUNK_SIZE, encrypt_stream, iter_decrypt
from webapp.spool import EncryptedSpool

__all__ = ["AUDIO_SUFFIX", "BlobStore", "new_blob_name"]

logger = logging.getLogger(__name__)

#: File suffix for each sniffed audio type, for tools that go by the name (a decrypted
#: copy is named with it; see :meth:`BlobStore.decrypted_copy`).
AUDIO_SUFFIX = {
    "wav": ".wav",
    "flac": ".flac",
    "mp3": ".mp3",
    "ogg": ".ogg",
    "webm": ".webm",
    "mp4": ".m4a",
}

_NAME = re.compile(r"[A-Za-z0-9_-]{16,128}")
_PART_SUFFIX = ".part"
_PRIVATE_DIR = 0o700

# Decrypted copies and uploads in progress in this process, so a clean-up never pulls
# one from under us.
_active: set[Path] = set()
_active_lock = threading.Lock()


def new_blob_name() -> str:
    """Return a fresh random blob name (32 URL-safe characters, no meaning)."""
    return secrets.token_urlsafe(24)


class BlobStore:
    """Encrypted blobs in a folder, written atomically and read back in chunks.

    Args:
        root: The storage folder; created (mode 0700) if missing.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._blobs = self.root / "blobs"
        self._plain = self.root / "plain"
        self._spool = self.root / "spool"
        for folder in (self.root, self._blobs, self._plain, self._spool):
            folder.mkdir(mode=_PRIVATE_DIR, parents=True, exist_ok=True)
            os.chmod(folder, _PRIVATE_DIR)

    def __repr__(self) -> str:
        return f"BlobStore({str(self.root)!r})"

    def path_of(self, name: str) -> Path:
        """Return where the blob ``name`` lives (its contents are ciphertext)."""
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ValueError("a blob name must be 16-128 URL-safe characters")
        return self._blobs / name

    def exists(self, name: str) -> bool:
        """Return whether the blob ``name`` is stored."""
        return self.path_of(name).is_file()

    def put_stream(
        self,
        name: str,
        data_key: bytes,
        src: BinaryIO,
        aad: bytes,
        *,
        max_bytes: int | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> int:
        """Encrypt ``src`` into a new blob; all or nothing.

        The ciphertext goes to a temporary name, is flushed to disk and then renamed, so
        a reader never sees a partial blob and a failure leaves nothing behind.

        Args:
            name: A new blob name (see :func:`new_blob_name`).
            data_key: The recording's data key.
            src: Readable binary stream of plaintext.
            aad: Associated data from ``crypto.aad_for``.
            max_bytes: If given, refuse a stream longer than this many bytes.
            chunk_size: Plaintext bytes per encrypted chunk.

        Returns:
            The number of plaintext bytes stored (the size of the original file).

        Raises:
            Conflict: A blob with this name already exists.
            BadInput: The stream is longer than ``max_bytes``.
        """
        target = self.path_of(name)
        if target.exists():
            raise Conflict(f"Stored file {name} already exists; nothing was overwritten.")
        part = self._blobs / f".{name}.{os.getpid()}.{secrets.token_hex(4)}{_PART_SUFFIX}"
        source = cast(BinaryIO, _LimitedReader(src, max_bytes)) if max_bytes is not None else src
        with _active_lock:
            _active.add(part)
        try:
            fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                size = encrypt_stream(data_key, source, out, aad, chunk_size)
                out.flush()
                os.fsync(out.fileno())
            if target.exists():
                raise Conflict(f"Stored file {name} already exists; nothing was overwritten.")
            os.replace(part, target)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        finally:
            with _active_lock:
                _active.discard(part)
        _fsync_dir(self._blobs)
        logger.info("stored blob %s (%d bytes)", name, size)
        return size

    def spool(self) -> EncryptedSpool:
        """A new encrypted temporary file in the store for an upload being received.

        See :mod:`webapp.spool`: what it writes to disk is ciphertext under a key held
        only in memory, and the file has no name in any folder.
        """
        return EncryptedSpool(self._spool)

    def iter_plain(
        self, name: str, data_key: bytes, aad: bytes, *, start: int = 0
    ) -> Iterator[bytes]:
        """Yield the blob's plaintext chunk by chunk, each checked before it is yielded.

        Args:
            name: The blob.
            data_key: The recording's data key.
            aad: Associated data from ``crypto.aad_for``.
            start: Plaintext offset to begin at; earlier chunks are skipped unread (for
                byte-range requests when the audio player seeks).

        Raises:
            NotFound: There is no such blob.
            DecryptionError: The blob was altered or belongs to another record.
        """
        path = self.path_of(name)
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            raise NotFound(f"Stored file {name} is missing from {self._blobs}.") from None
        with handle:
            yield from iter_decrypt(data_key, handle, aad, start=start)

    @contextlib.contextmanager
    def decrypted_copy(
        self, name: str, data_key: bytes, aad: bytes, *, suffix: str = ""
    ) -> Iterator[Path]:
        """Decrypt a blob to a private temporary file for tools that need a path.

        The whole blob is decrypted and checked before the path is handed over. The file
        lives in its own 0700 folder under the store and is removed when the block ends,
        whether it ends normally or with an exception.

        Args:
            name: The blob to decrypt.
            data_key: The recording's data key.
            aad: Associated data from ``crypto.aad_for``.
            suffix: An optional file suffix (e.g. ``".webm"``) for tools that need one.

        Yields:
            The plaintext file's path.

        Raises:
            NotFound: There is no such blob.
            DecryptionError: The blob was altered or belongs to another record.
        """
        if suffix and not re.fullmatch(r"\.[A-Za-z0-9]{1,10}", suffix):
            raise ValueError("suffix must look like '.wav'")
        folder = self._plain / f"{os.getpid()}-{secrets.token_hex(8)}"
        # Marked in use before it exists, so a clean-up running in another thread at
        # that moment cannot take it away.
        with _active_lock:
            _active.add(folder)
        try:
            folder.mkdir(mode=_PRIVATE_DIR)
            plain = folder / f"audio{suffix}"
            fd = os.open(plain, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                for chunk in self.iter_plain(name, data_key, aad):
                    out.write(chunk)
            yield plain
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            with _active_lock:
                _active.discard(folder)

    def delete(self, name: str) -> bool:
        """Remove a blob. Returns whether it existed.

        The blob is ciphertext; once the recording's wrapped data key is also deleted,
        no copy of it (in a backup, say) can be read again.
        """
        try:
            self.path_of(name).unlink()
        except FileNotFoundError:
            return False
        logger.info("deleted blob %s", name)
        return True

    def remove_stale_temp(self) -> int:
        """Remove temporary files left by a crashed or killed process.

        Removes decrypted copies and unfinished uploads whose process is no longer
        running, and any of this process's that are not in use. Call it at start-up and
        when a background job ends.

        Returns:
            How many temporary entries were removed.
        """
        removed = 0
        for entry in self._plain.iterdir():
            pid = _pid_prefix(entry.name, sep="-")
            if self._is_stale(entry, pid):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
                removed += 1
        for entry in self._spool.iterdir():
            # A spool loses its name as soon as it is opened; one still named was left
            # by a process that died in between.
            pid = _pid_prefix(entry.name, sep="-")
            if pid is None or not _process_running(pid):
                entry.unlink(missing_ok=True)
                removed += 1
        for entry in self._blobs.glob(f".*{_PART_SUFFIX}"):
            pid = _pid_prefix(entry.name.lstrip(".").split(".", 1)[-1], sep=".")
            if self._is_stale(entry, pid):
                entry.unlink(missing_ok=True)
                removed += 1
        if removed:
            logger.warning("removed %d temporary file(s) left by an earlier run", removed)
        return removed

    @staticmethod
    def _is_stale(entry: Path, pid: int | None) -> bool:
        if pid is None or not _process_running(pid):
            return True
        if pid == os.getpid():
            # Ours (or left by an earlier process that had the same id): stale unless in use.
            with _active_lock:
                return entry not in _active
        return False


class _LimitedReader:
    """Wraps a stream and refuses to read past a byte limit."""

    def __init__(self, src: BinaryIO, limit: int) -> None:
        self._src = src
        self._limit = limit
        self._seen = 0

    def read(self, size: int = -1) -> bytes:
        data = self._src.read(size)
        self._seen += len(data or b"")
        if self._seen > self._limit:
            raise BadInput(
                f"The file is larger than the limit of {self._limit:,} bytes; nothing was "
                "stored. Upload a shorter recording or ask an administrator to raise the limit."
            )
        return data


def _pid_prefix(text: str, *, sep: str) -> int | None:
    head = text.split(sep, 1)[0]
    return int(head) if head.isdigit() else None


def _process_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
