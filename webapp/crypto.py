"""Encryption at rest: per-recording data keys, AES-256-GCM values and chunked streams.

Every recording has its own random 256-bit data key. The data key is stored in the
database only in wrapped form (encrypted under a master key that lives outside the
database, in the environment or a key file). Text fields are encrypted with
:func:`encrypt`; audio is encrypted in chunks with :func:`encrypt_stream` so memory
stays bounded whatever the file size.

Associated data (AAD) binds each ciphertext to the record and field it belongs to, so a
blob copied into another record or field fails to decrypt. The convention is::

    aad_for("recording", recording_id, "transcript")
    == b"carenotes:recording:<recording_id>:transcript"

Master keys and the key ring live in :mod:`webapp.keys` and are re-exported here.
Key material is never logged and never appears in an error message.
"""

from __future__ import annotations

import logging
import os
import struct
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from policies import CarenotesError, ConfigError
from webapp.keys import (
    ENV_PREVIOUS_KEYS,
    KEY_BYTES,
    KEY_ID_BYTES,
    KeyRing,
    MasterKey,
    generate_master_key,
)

__all__ = [
    "ConfigError",
    "DecryptionError",
    "KeyRing",
    "MasterKey",
    "MissingMasterKey",
    "aad_for",
    "decrypt",
    "encrypt",
    "encrypt_stream",
    "generate_master_key",
    "iter_decrypt",
    "needs_rewrap",
    "new_data_key",
    "rewrap_key",
    "unwrap_key",
    "wrap_key",
    "wrapped_key_id",
]

logger = logging.getLogger(__name__)

NONCE_BYTES = 12
TAG_BYTES = 16
DEFAULT_CHUNK_SIZE = 1024 * 1024
MAX_CHUNK_SIZE = 64 * 1024 * 1024

# Domain separation: a wrapped key, a text blob and a stream chunk can never be
# mistaken for one another, even under the same key and AAD.
_WRAP_MAGIC = b"CNW\x01"
_BLOB_VERSION = b"\x01"
_STREAM_MAGIC = b"CNS\x01"
_WRAP_CONTEXT = b"carenotes-wrap-v1\x00"
_BLOB_CONTEXT = b"carenotes-blob-v1\x00"
_STREAM_CONTEXT = b"carenotes-stream-v1\x00"
_STREAM_ID_BYTES = 16
_STREAM_HEADER = struct.Struct(">4sI16s")  # magic, chunk size, stream id
_FRAME_HEADER = struct.Struct(">BI")  # final flag, ciphertext length
_CHUNK_INDEX = struct.Struct(">QB")  # chunk index, final flag


class DecryptionError(CarenotesError):
    """A ciphertext failed its integrity check: altered, truncated, or for another record."""

    status_code = 500


class MissingMasterKey(DecryptionError):
    """A data key was wrapped by a master key that is not configured."""


def aad_for(record_type: str, record_id: object, field_name: str) -> bytes:
    """Return the associated data that binds a ciphertext to one record's field.

    Args:
        record_type: The kind of record, e.g. ``"recording"``.
        record_id: The record's id.
        field_name: The field, e.g. ``"transcript"`` or ``"audio"``.

    Returns:
        ``b"carenotes:{record_type}:{record_id}:{field_name}"``.
    """
    return f"carenotes:{record_type}:{record_id}:{field_name}".encode()


def new_data_key() -> bytes:
    """Return a fresh random 256-bit data key (one per recording)."""
    return os.urandom(KEY_BYTES)


def wrap_key(ring: KeyRing, data_key: bytes, aad: bytes) -> bytes:
    """Encrypt a data key under the ring's current master key.

    Args:
        ring: The key ring; ``ring.current`` is used.
        data_key: The 32-byte data key.
        aad: Associated data binding the wrapped key to its record.

    Returns:
        ``magic + master key id + nonce + ciphertext``, safe to store in the database.
    """
    _check_key(data_key)
    master = ring.current
    key_id = bytes.fromhex(master.key_id)
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(master.secret).encrypt(nonce, data_key, _WRAP_CONTEXT + key_id + aad)
    return _WRAP_MAGIC + key_id + nonce + sealed


def wrapped_key_id(wrapped: bytes) -> str:
    """Return the fingerprint of the master key that wrapped this data key.

    Raises:
        DecryptionError: ``wrapped`` is not a wrapped key.
    """
    wrapped = bytes(wrapped)  # a driver may hand back a memoryview
    header_len = len(_WRAP_MAGIC) + KEY_ID_BYTES
    if len(wrapped) < header_len + NONCE_BYTES + TAG_BYTES or not wrapped.startswith(_WRAP_MAGIC):
        raise DecryptionError("A stored data key is not in the expected format.")
    return wrapped[len(_WRAP_MAGIC) : header_len].hex()


def unwrap_key(ring: KeyRing, wrapped: bytes, aad: bytes) -> bytes:
    """Recover a data key wrapped by any master key in the ring.

    Args:
        ring: The key ring.
        wrapped: The output of :func:`wrap_key` or :func:`rewrap_key`.
        aad: The same associated data given when it was wrapped.

    Returns:
        The 32-byte data key.

    Raises:
        MissingMasterKey: The master key that wrapped it is not in the ring.
        DecryptionError: It was altered, or belongs to another record.
    """
    wrapped = bytes(wrapped)
    key_id = wrapped_key_id(wrapped)
    master = ring.find(key_id)
    if master is None:
        raise MissingMasterKey(
            f"A data key was wrapped by master key {key_id}, which is not configured. "
            f"If the master key was rotated, add the old key to {ENV_PREVIOUS_KEYS} until "
            "`carenotes keys rotate` has finished."
        )
    offset = len(_WRAP_MAGIC) + KEY_ID_BYTES
    nonce = wrapped[offset : offset + NONCE_BYTES]
    try:
        data_key = AESGCM(master.secret).decrypt(
            nonce, wrapped[offset + NONCE_BYTES :], _WRAP_CONTEXT + bytes.fromhex(key_id) + aad
        )
    except InvalidTag:
        raise DecryptionError(
            "A stored data key failed its integrity check: it was altered or belongs to "
            "another record."
        ) from None
    return data_key


def rewrap_key(ring: KeyRing, wrapped: bytes, aad: bytes) -> bytes:
    """Unwrap a data key with whichever master key wrapped it; wrap it under the current one.

    Raises:
        MissingMasterKey: The master key that wrapped it is not in the ring.
        DecryptionError: It was altered, or belongs to another record.
    """
    return wrap_key(ring, unwrap_key(ring, wrapped, aad), aad)


def needs_rewrap(ring: KeyRing, wrapped: bytes) -> bool:
    """Return whether a wrapped data key was wrapped by a key other than ``ring.current``."""
    return wrapped_key_id(wrapped) != ring.current.key_id


def encrypt(data_key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt a small value (a transcript, a draft, a name) with AES-256-GCM.

    Args:
        data_key: The recording's 32-byte data key.
        plaintext: The bytes to protect.
        aad: Associated data from :func:`aad_for`.

    Returns:
        ``version + nonce + ciphertext + tag``.
    """
    _check_key(data_key)
    nonce = os.urandom(NONCE_BYTES)
    return _BLOB_VERSION + nonce + AESGCM(data_key).encrypt(nonce, plaintext, _BLOB_CONTEXT + aad)


def decrypt(data_key: bytes, blob: bytes, aad: bytes) -> bytes:
    """Decrypt a value written by :func:`encrypt`.

    Raises:
        DecryptionError: The blob was altered, truncated, or written for another record
            or field (wrong ``aad``), or the key is wrong.
    """
    _check_key(data_key)
    blob = bytes(blob)
    if len(blob) < 1 + NONCE_BYTES + TAG_BYTES or blob[:1] != _BLOB_VERSION:
        raise DecryptionError("A stored value is not in the expected encrypted format.")
    nonce = blob[1 : 1 + NONCE_BYTES]
    try:
        return AESGCM(data_key).decrypt(nonce, blob[1 + NONCE_BYTES :], _BLOB_CONTEXT + aad)
    except InvalidTag:
        raise DecryptionError(
            "A stored value failed its integrity check: it was altered or belongs to "
            "another record."
        ) from None


def encrypt_stream(
    data_key: bytes,
    src: BinaryIO,
    dst: BinaryIO,
    aad: bytes,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> int:
    """Encrypt a stream chunk by chunk, holding at most two chunks in memory.

    Each chunk is sealed with its index and a final-chunk flag in its associated data,
    so chunks cannot be reordered, dropped, duplicated or cut off at the end.

    Args:
        data_key: The recording's 32-byte data key.
        src: Readable binary stream of plaintext.
        dst: Writable binary stream for the ciphertext.
        aad: Associated data from :func:`aad_for`.
        chunk_size: Plaintext bytes per chunk.

    Returns:
        The number of plaintext bytes read from ``src``.
    """
    _check_key(data_key)
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk_size must be between 1 and {MAX_CHUNK_SIZE}")
    cipher = AESGCM(data_key)
    header = _STREAM_HEADER.pack(_STREAM_MAGIC, chunk_size, os.urandom(_STREAM_ID_BYTES))
    dst.write(header)
    total = 0
    index = 0
    current = _read_exact(src, chunk_size)
    while True:
        # Read one chunk ahead so the last chunk can be marked final.
        following = _read_exact(src, chunk_size) if len(current) == chunk_size else b""
        final = not following
        nonce = os.urandom(NONCE_BYTES)
        sealed = cipher.encrypt(nonce, current, _chunk_aad(header, index, final, aad))
        dst.write(_FRAME_HEADER.pack(int(final), len(sealed)))
        dst.write(nonce)
        dst.write(sealed)
        total += len(current)
        if final:
            return total
        current = following
        index += 1


def iter_decrypt(data_key: bytes, src: BinaryIO, aad: bytes, *, start: int = 0) -> Iterator[bytes]:
    """Decrypt a stream written by :func:`encrypt_stream`, one chunk at a time.

    Each chunk is checked before it is yielded. A caller that must not act on a
    partial stream should consume it fully before using what it got (see
    ``BlobStore.decrypted_copy``).

    Args:
        data_key: The recording's data key.
        src: Readable binary stream of ciphertext (seekable if ``start`` is used).
        aad: The associated data it was written with.
        start: Plaintext offset to begin at. On a seekable stream the chunks before
            it are skipped without being read (for audio seeking); each chunk's index
            is still checked, so a skipped-to chunk cannot be a substitute.

    Yields:
        Plaintext chunks, in order (the first one trimmed to begin at ``start``).

    Raises:
        DecryptionError: A chunk was altered, reordered, dropped, or the stream was
            truncated or extended, or written for another record (wrong ``aad``).
    """
    _check_key(data_key)
    cipher = AESGCM(data_key)
    header = _read_exact(src, _STREAM_HEADER.size)
    if len(header) != _STREAM_HEADER.size:
        raise DecryptionError("An encrypted file is truncated: its header is incomplete.")
    magic, chunk_size, _stream_id = _STREAM_HEADER.unpack(header)
    if magic != _STREAM_MAGIC or not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise DecryptionError("A stored file is not in the expected encrypted format.")
    index, skip = _seek_chunk(src, chunk_size, start)
    while True:
        frame = _read_exact(src, _FRAME_HEADER.size + NONCE_BYTES)
        if not frame:
            raise DecryptionError("An encrypted file is truncated: its final part is missing.")
        if len(frame) != _FRAME_HEADER.size + NONCE_BYTES:
            raise DecryptionError("An encrypted file is truncated in the middle of a part.")
        flag, length = _FRAME_HEADER.unpack(frame[: _FRAME_HEADER.size])
        full = chunk_size + TAG_BYTES
        if flag not in (0, 1) or not TAG_BYTES <= length <= full or (not flag and length != full):
            raise DecryptionError(f"Part {index} of an encrypted file has an invalid header.")
        sealed = _read_exact(src, length)
        if len(sealed) != length:
            raise DecryptionError("An encrypted file is truncated in the middle of a part.")
        final = flag == 1
        try:
            plain = cipher.decrypt(
                frame[_FRAME_HEADER.size :], sealed, _chunk_aad(header, index, final, aad)
            )
        except InvalidTag:
            raise DecryptionError(
                f"Part {index} of an encrypted file failed its integrity check: the file was "
                "altered, its parts reordered, or it belongs to another record."
            ) from None
        if skip:
            plain, skip = plain[skip:], max(0, skip - len(plain))
        if plain:
            yield plain
        if final:
            if src.read(1):
                raise DecryptionError("An encrypted file has unexpected data after its end.")
            return
        index += 1


def _seek_chunk(src: BinaryIO, chunk_size: int, start: int) -> tuple[int, int]:
    """Move to the chunk holding plaintext offset ``start``; return its index and offset."""
    if start < 0:
        raise ValueError("start must not be negative")
    index = 0
    seekable = getattr(src, "seekable", None)
    if start >= chunk_size and seekable is not None and seekable():
        # Every chunk but the last is full, so its frame has a fixed size.
        index = start // chunk_size
        frame_size = _FRAME_HEADER.size + NONCE_BYTES + chunk_size + TAG_BYTES
        src.seek(_STREAM_HEADER.size + index * frame_size)
    return index, start - index * chunk_size


def _chunk_aad(header: bytes, index: int, final: bool, aad: bytes) -> bytes:
    return _STREAM_CONTEXT + header + _CHUNK_INDEX.pack(index, int(final)) + aad


def _read_exact(src: BinaryIO, size: int) -> bytes:
    """Read ``size`` bytes, fewer only at end of stream (``read`` may return short)."""
    first = src.read(size)
    if not first or len(first) == size:
        return first or b""
    parts = [first]
    got = len(first)
    while got < size:
        more = src.read(size - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def _check_key(data_key: bytes) -> None:
    if not isinstance(data_key, bytes) or len(data_key) != KEY_BYTES:
        raise ValueError(f"a data key must be {KEY_BYTES} bytes")
