"""Where an upload waits while it is being received: encrypted, inside the data folder.

Werkzeug, left to itself, spools a file upload of more than 500 KB into a plaintext
temporary file in the system's temporary folder (``/tmp``) until the request has been
read; a crash, a backup of ``/tmp`` or a full disk could then leave a recording there.
:class:`UploadRequest` hands Werkzeug an :class:`EncryptedSpool` instead: a file in the
store's own 0700 ``spool/`` folder, removed from the folder as soon as it is opened and
written in AES-256-GCM under a key that exists only in this process's memory, so what
reaches the disk can never be read, even if the process is killed mid-upload.
"""

from __future__ import annotations

import io
import os
import secrets
from pathlib import Path
from typing import IO, Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Request, current_app

__all__ = ["EncryptedSpool", "UploadRequest"]

#: Plaintext bytes sealed together; the tag adds 16 to each on disk.
_CHUNK = 64 * 1024
_TAG = 16


class EncryptedSpool(io.RawIOBase):
    """A temporary file that is written once, then read and seeked, holding ciphertext.

    Writing appends; the first seek or read ends the writing (Werkzeug seeks to the
    start once the upload is in). Each chunk is sealed with a fresh key made for this
    spool alone and its index as the nonce, so chunks cannot be altered or moved.

    Args:
        folder: A private folder on the same disk as the store (``storage/spool``).
        chunk_size: Plaintext bytes per sealed chunk.
    """

    def __init__(self, folder: Path, chunk_size: int = _CHUNK) -> None:
        super().__init__()
        path = Path(folder) / f"{os.getpid()}-{secrets.token_hex(8)}"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        # Gone from the folder at once: the open handle keeps the data until it closes,
        # and nothing is left behind whichever way the process ends.
        path.unlink(missing_ok=True)
        self._file = os.fdopen(fd, "w+b", buffering=0)
        self._cipher: AESGCM | None = AESGCM(AESGCM.generate_key(bit_length=256))
        self._chunk = chunk_size
        self._pending = bytearray()
        self._chunks = 0
        self._size = 0
        self._writing = True
        self._position = 0
        self._cached: tuple[int, bytes] | None = None

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return self._writing

    def seekable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        """Append ``data`` (only before the first seek or read)."""
        if not self._writing:
            raise io.UnsupportedOperation("an upload spool is written once, before it is read")
        view = memoryview(data).cast("B")
        self._pending += view
        self._size += len(view)
        while len(self._pending) >= self._chunk:
            self._seal(bytes(self._pending[: self._chunk]))
            del self._pending[: self._chunk]
        return len(view)

    def _seal(self, plain: bytes) -> None:
        assert self._cipher is not None  # noqa: S101 - closed spools are refused earlier
        self._file.seek(self._chunks * (self._chunk + _TAG))
        self._file.write(self._cipher.encrypt(self._nonce(self._chunks), plain, None))
        self._chunks += 1

    def _finish_writing(self) -> None:
        if self._writing:
            if self._pending:
                self._seal(bytes(self._pending))
                self._pending.clear()
            self._writing = False

    @staticmethod
    def _nonce(index: int) -> bytes:
        return index.to_bytes(12, "big")

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move the read position; the first call ends the writing."""
        self._check_open()
        self._finish_writing()
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._position = base + offset
        return self._position

    def tell(self) -> int:
        self._check_open()
        return self._size if self._writing else self._position

    def readinto(self, buffer: Any) -> int:
        """Read decrypted bytes into ``buffer``; each chunk is checked as it is opened."""
        self._check_open()
        self._finish_writing()
        view = memoryview(buffer).cast("B")
        done = 0
        # Filled across chunks, so a read of n bytes gets n unless the end comes first.
        while done < len(view) and self._position < self._size:
            index, offset = divmod(self._position, self._chunk)
            plain = self._open_chunk(index)
            count = min(len(view) - done, len(plain) - offset)
            view[done : done + count] = plain[offset : offset + count]
            done += count
            self._position += count
        return done

    def _open_chunk(self, index: int) -> bytes:
        if self._cached is not None and self._cached[0] == index:
            return self._cached[1]
        assert self._cipher is not None  # noqa: S101 - closed spools are refused earlier
        length = min(self._chunk, self._size - index * self._chunk) + _TAG
        self._file.seek(index * (self._chunk + _TAG))
        sealed = self._file.read(length)
        plain = self._cipher.decrypt(self._nonce(index), sealed, None)
        self._cached = (index, plain)
        return plain

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on a closed upload spool")

    def close(self) -> None:
        """Close the file (its data goes with it) and forget the key."""
        if not self.closed:
            self._file.close()
            self._cipher = None
            self._cached = None
            self._pending.clear()
        super().close()


class UploadRequest(Request):
    """Flask's request, with uploaded files spooled encrypted inside the store."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        store = current_app.extensions["carenotes"].vault.store
        return store.spool()
