"""Encryption at rest: keys, wrapping, blobs and chunked streams."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import tracemalloc

import pytest

from policies.errors import CarenotesError, ConfigError
from webapp.crypto import (
    DecryptionError,
    KeyRing,
    MasterKey,
    MissingMasterKey,
    aad_for,
    decrypt,
    encrypt,
    encrypt_stream,
    generate_master_key,
    iter_decrypt,
    needs_rewrap,
    new_data_key,
    rewrap_key,
    unwrap_key,
    wrap_key,
    wrapped_key_id,
)

AAD = aad_for("recording", 7, "transcript")
OTHER_AAD = aad_for("recording", 8, "transcript")
CHUNK = 1024


def _ring() -> KeyRing:
    return KeyRing(MasterKey.from_text(generate_master_key(), source="test"))


def _stream_blob(key: bytes, plaintext: bytes, aad: bytes = AAD) -> bytes:
    out = io.BytesIO()
    encrypt_stream(key, io.BytesIO(plaintext), out, aad, chunk_size=CHUNK)
    return out.getvalue()


def _decrypt_all(key: bytes, blob: bytes, aad: bytes = AAD) -> bytes:
    return b"".join(iter_decrypt(key, io.BytesIO(blob), aad))


def _frames(blob: bytes) -> tuple[bytes, list[bytes]]:
    """Split a stream blob into its header and its whole frames."""
    header, rest, frames = blob[:24], blob[24:], []
    while rest:
        length = int.from_bytes(rest[1:5], "big")
        frames.append(rest[: 5 + 12 + length])
        rest = rest[5 + 12 + length :]
    return header, frames


# --- master keys -----------------------------------------------------------------------


def test_a_generated_master_key_reads_back_from_the_environment() -> None:
    text = generate_master_key()
    key = MasterKey.from_env({"CARENOTES_MASTER_KEY": text})
    assert len(key.secret) == 32
    assert key == MasterKey.from_env({"CARENOTES_MASTER_KEY": text.rstrip("=")})
    assert len(key.key_id) == 16
    assert generate_master_key() != text


def test_a_master_key_is_read_from_a_key_file(tmp_path) -> None:
    text = generate_master_key()
    path = tmp_path / "master.key"
    path.write_text(text + "\n")
    path.chmod(0o600)
    key = MasterKey.from_env({"CARENOTES_MASTER_KEY_FILE": str(path)})
    assert key == MasterKey.from_text(text, source="x")


def test_a_missing_master_key_says_how_to_generate_and_set_one() -> None:
    with pytest.raises(ConfigError) as caught:
        MasterKey.from_env({})
    message = str(caught.value)
    assert "carenotes keys generate" in message
    assert "CARENOTES_MASTER_KEY" in message
    assert "CARENOTES_MASTER_KEY_FILE" in message
    assert isinstance(caught.value, CarenotesError)


@pytest.mark.parametrize(
    "bad",
    ["not-a-key", "c2hvcnQ=", "!" * 44, generate_master_key() + "AAAA"],
    ids=["words", "too-short", "not-base64", "too-long"],
)
def test_an_ill_formed_master_key_is_refused_without_echoing_it(bad: str) -> None:
    with pytest.raises(ConfigError) as caught:
        MasterKey.from_env({"CARENOTES_MASTER_KEY": bad})
    message = str(caught.value)
    assert "CARENOTES_MASTER_KEY" in message
    assert "carenotes keys generate" in message
    assert bad not in message


def test_a_key_file_that_does_not_exist_is_named_in_the_message(tmp_path) -> None:
    missing = tmp_path / "nowhere.key"
    with pytest.raises(ConfigError, match="nowhere.key"):
        MasterKey.from_env({"CARENOTES_MASTER_KEY_FILE": str(missing)})


def test_setting_both_the_key_and_the_key_file_is_refused(tmp_path) -> None:
    with pytest.raises(ConfigError, match="Set only one"):
        MasterKey.from_env(
            {"CARENOTES_MASTER_KEY": generate_master_key(), "CARENOTES_MASTER_KEY_FILE": "x"}
        )


def test_a_readable_by_others_key_file_is_warned_about_without_logging_the_key(
    tmp_path, caplog
) -> None:
    text = generate_master_key()
    path = tmp_path / "loose.key"
    path.write_text(text)
    path.chmod(0o644)
    with caplog.at_level(logging.DEBUG, logger="webapp.keys"):
        MasterKey.from_env({"CARENOTES_MASTER_KEY_FILE": str(path)})
    assert "chmod 600" in caplog.text
    assert text not in caplog.text


def test_key_material_never_appears_in_a_repr() -> None:
    key = MasterKey.from_text(generate_master_key(), source="test")
    ring = KeyRing(key)
    for shown in (repr(key), repr(ring), str(key)):
        assert key.secret.hex() not in shown
        assert repr(key.secret) not in shown
        assert key.key_id in shown


def test_the_key_ring_reads_previous_keys_from_the_environment() -> None:
    old1, old2, new = generate_master_key(), generate_master_key(), generate_master_key()
    ring = KeyRing.from_env(
        {"CARENOTES_MASTER_KEY": new, "CARENOTES_PREVIOUS_MASTER_KEYS": f" {old1}, {old2} ,"}
    )
    assert ring.current == MasterKey.from_text(new, source="x")
    assert ring.previous == (
        MasterKey.from_text(old1, source="x"),
        MasterKey.from_text(old2, source="x"),
    )


def test_a_bad_previous_key_is_reported_by_its_position_in_the_list() -> None:
    with pytest.raises(ConfigError, match=r"CARENOTES_PREVIOUS_MASTER_KEYS \(item 2\)"):
        KeyRing.from_env(
            {
                "CARENOTES_MASTER_KEY": generate_master_key(),
                "CARENOTES_PREVIOUS_MASTER_KEYS": f"{generate_master_key()},oops",
            }
        )


# --- data keys -------------------------------------------------------------------------


def test_a_wrapped_data_key_unwraps_to_the_same_key() -> None:
    ring = _ring()
    data_key = new_data_key()
    wrapped = wrap_key(ring, data_key, AAD)
    assert len(data_key) == 32
    assert data_key not in wrapped
    assert unwrap_key(ring, wrapped, AAD) == data_key
    assert wrapped_key_id(wrapped) == ring.current.key_id
    assert new_data_key() != data_key


def test_a_wrapped_key_moved_to_another_record_does_not_unwrap() -> None:
    ring = _ring()
    wrapped = wrap_key(ring, new_data_key(), AAD)
    with pytest.raises(DecryptionError):
        unwrap_key(ring, wrapped, OTHER_AAD)


def test_a_change_to_any_byte_of_a_wrapped_key_is_detected() -> None:
    ring = _ring()
    wrapped = wrap_key(ring, new_data_key(), AAD)
    for position in range(len(wrapped)):
        damaged = bytearray(wrapped)
        damaged[position] ^= 0x01
        with pytest.raises(DecryptionError):
            unwrap_key(ring, bytes(damaged), AAD)


def test_rotation_rewraps_so_the_old_master_key_is_no_longer_needed() -> None:
    old = MasterKey.from_text(generate_master_key(), source="old")
    new = MasterKey.from_text(generate_master_key(), source="new")
    data_key = new_data_key()
    wrapped_old = wrap_key(KeyRing(old), data_key, AAD)
    during = KeyRing(new, (old,))
    assert needs_rewrap(during, wrapped_old)
    wrapped_new = rewrap_key(during, wrapped_old, AAD)
    assert not needs_rewrap(during, wrapped_new)
    assert wrapped_key_id(wrapped_new) == new.key_id

    after = KeyRing(new)
    assert unwrap_key(after, wrapped_new, AAD) == data_key
    with pytest.raises(MissingMasterKey) as caught:
        unwrap_key(after, wrapped_old, AAD)
    assert old.key_id in str(caught.value)
    assert "CARENOTES_PREVIOUS_MASTER_KEYS" in str(caught.value)


# --- small values ----------------------------------------------------------------------


def test_a_value_round_trips_and_its_ciphertext_hides_the_plaintext() -> None:
    key = new_data_key()
    plaintext = b"Mrs Example said she feels safe at home."
    blob = encrypt(key, plaintext, AAD)
    assert plaintext not in blob
    assert decrypt(key, blob, AAD) == plaintext
    assert encrypt(key, plaintext, AAD) != blob  # a fresh nonce each time
    assert decrypt(key, encrypt(key, b"", AAD), AAD) == b""


def test_a_change_to_any_byte_of_a_value_is_detected() -> None:
    key = new_data_key()
    blob = encrypt(key, b"approved note text", AAD)
    for position in range(len(blob)):
        damaged = bytearray(blob)
        damaged[position] ^= 0x80
        with pytest.raises(DecryptionError):
            decrypt(key, bytes(damaged), AAD)
    for cut in (0, 5, len(blob) - 1):
        with pytest.raises(DecryptionError):
            decrypt(key, blob[:cut], AAD)


def test_a_value_swapped_into_another_record_or_field_does_not_decrypt() -> None:
    key = new_data_key()
    blob = encrypt(key, b"draft", aad_for("recording", 7, "draft"))
    with pytest.raises(DecryptionError):
        decrypt(key, blob, aad_for("recording", 8, "draft"))
    with pytest.raises(DecryptionError):
        decrypt(key, blob, aad_for("recording", 7, "approved_text"))
    with pytest.raises(DecryptionError):
        decrypt(new_data_key(), blob, aad_for("recording", 7, "draft"))


def test_a_decryption_error_belongs_to_the_project_error_tree_and_hides_the_aad() -> None:
    key = new_data_key()
    with pytest.raises(CarenotesError) as caught:
        decrypt(key, encrypt(key, b"x", AAD), OTHER_AAD)
    assert "recording" not in str(caught.value)


# --- streams ---------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK, 5 * CHUNK + 7])
def test_a_stream_of_any_length_round_trips(size: int) -> None:
    key = new_data_key()
    plaintext = os.urandom(size)
    blob = _stream_blob(key, plaintext)
    assert _decrypt_all(key, blob) == plaintext
    assert len(_frames(blob)[1]) == max(1, -(-size // CHUNK))


def test_encrypt_stream_reports_the_plaintext_size() -> None:
    out = io.BytesIO()
    size = encrypt_stream(new_data_key(), io.BytesIO(b"a" * 3000), out, AAD, chunk_size=CHUNK)
    assert size == 3000


def test_a_change_to_any_byte_of_a_stream_is_detected() -> None:
    key = new_data_key()
    blob = _stream_blob(key, os.urandom(2 * CHUNK + 10))
    for position in range(0, len(blob), 7):
        damaged = bytearray(blob)
        damaged[position] ^= 0x04
        with pytest.raises(DecryptionError):
            _decrypt_all(key, bytes(damaged))


def test_reordered_stream_chunks_are_detected() -> None:
    key = new_data_key()
    header, frames = _frames(_stream_blob(key, os.urandom(3 * CHUNK + 10)))
    swapped = header + frames[1] + frames[0] + frames[2] + frames[3]
    with pytest.raises(DecryptionError, match="Part 0"):
        _decrypt_all(key, swapped)


def test_a_dropped_middle_chunk_is_detected() -> None:
    key = new_data_key()
    header, frames = _frames(_stream_blob(key, os.urandom(3 * CHUNK + 10)))
    with pytest.raises(DecryptionError):
        _decrypt_all(key, header + frames[0] + frames[2] + frames[3])


def test_a_stream_cut_off_after_a_whole_chunk_is_detected() -> None:
    key = new_data_key()
    header, frames = _frames(_stream_blob(key, os.urandom(3 * CHUNK + 10)))
    with pytest.raises(DecryptionError, match="truncated"):
        _decrypt_all(key, header + frames[0] + frames[1])


def test_a_stream_cut_off_at_any_byte_is_detected() -> None:
    key = new_data_key()
    blob = _stream_blob(key, os.urandom(2 * CHUNK + 10))
    for cut in range(0, len(blob) - 1, 13):
        with pytest.raises(DecryptionError):
            _decrypt_all(key, blob[:cut])


def test_data_appended_after_the_final_chunk_is_detected() -> None:
    key = new_data_key()
    header, frames = _frames(_stream_blob(key, os.urandom(2 * CHUNK)))
    with pytest.raises(DecryptionError):
        _decrypt_all(key, header + frames[0] + frames[1] + frames[1])
    with pytest.raises(DecryptionError, match="after its end"):
        _decrypt_all(key, header + frames[0] + frames[1] + b"x")


def test_chunks_spliced_in_from_another_stream_are_detected() -> None:
    key = new_data_key()
    header_a, frames_a = _frames(_stream_blob(key, os.urandom(2 * CHUNK + 5)))
    _header_b, frames_b = _frames(_stream_blob(key, os.urandom(2 * CHUNK + 5)))
    with pytest.raises(DecryptionError):
        _decrypt_all(key, header_a + frames_a[0] + frames_b[1] + frames_a[2])


def test_a_stream_swapped_into_another_record_does_not_decrypt() -> None:
    key = new_data_key()
    blob = _stream_blob(key, b"audio bytes" * 500)
    with pytest.raises(DecryptionError):
        _decrypt_all(key, blob, OTHER_AAD)


class _GeneratedAudio(io.RawIOBase):
    """A readable stream of random bytes that never holds more than one read in memory."""

    def __init__(self, size: int) -> None:
        self.remaining = size
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        count = min(len(buffer), self.remaining, 64 * 1024)  # short reads, like a socket
        data = os.urandom(count)
        buffer[:count] = data
        self.digest.update(data)
        self.remaining -= count
        return count


def test_a_50_mb_stream_is_encrypted_and_decrypted_in_bounded_memory(tmp_path) -> None:
    size = 50 * 1024 * 1024
    key = new_data_key()
    source = _GeneratedAudio(size)
    target = tmp_path / "big.enc"

    tracemalloc.start()
    try:
        with target.open("wb") as out:
            written = encrypt_stream(key, source, out, AAD)
        _, encrypt_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        digest = hashlib.sha256()
        with target.open("rb") as encrypted:
            for chunk in iter_decrypt(key, encrypted, AAD):
                digest.update(chunk)
        _, decrypt_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert written == size
    assert digest.hexdigest() == source.digest.hexdigest()
    assert target.stat().st_size > size
    # Two 1 MiB chunks and their ciphertext, far below the 50 MiB stream.
    assert encrypt_peak < 8 * 1024 * 1024, encrypt_peak
    assert decrypt_peak < 8 * 1024 * 1024, decrypt_peak


def test_a_forged_chunk_length_does_not_make_the_reader_allocate_it() -> None:
    key = new_data_key()
    header, frames = _frames(_stream_blob(key, b"x" * 10))
    forged = bytearray(frames[0])
    forged[1:5] = (2**31).to_bytes(4, "big")
    with pytest.raises(DecryptionError, match="invalid header"):
        _decrypt_all(key, header + bytes(forged))


@pytest.mark.parametrize("start", [0, 1, CHUNK - 1, CHUNK, CHUNK + 5, 3 * CHUNK, 4 * CHUNK + 6])
def test_decryption_can_start_at_any_offset_for_audio_seeking(start: int) -> None:
    key = new_data_key()
    plaintext = os.urandom(4 * CHUNK + 7)
    blob = _stream_blob(key, plaintext)
    seekable = b"".join(iter_decrypt(key, io.BytesIO(blob), AAD, start=start))

    class OneWay(io.RawIOBase):
        def __init__(self) -> None:
            self.inner = io.BytesIO(blob)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:  # type: ignore[override]
            data = self.inner.read(len(buffer))
            buffer[: len(data)] = data
            return len(data)

    one_way = b"".join(iter_decrypt(key, OneWay(), AAD, start=start))
    assert seekable == one_way == plaintext[start:]


def test_seeking_skips_earlier_chunks_but_still_checks_the_chunk_it_lands_on() -> None:
    key = new_data_key()
    plaintext = os.urandom(4 * CHUNK)
    header, frames = _frames(_stream_blob(key, plaintext))
    damaged_first = bytearray(frames[0])
    damaged_first[-1] ^= 1
    blob = header + bytes(damaged_first) + b"".join(frames[1:])
    assert (
        b"".join(iter_decrypt(key, io.BytesIO(blob), AAD, start=2 * CHUNK))
        == plaintext[2 * CHUNK :]
    )
    swapped = header + frames[0] + frames[2] + frames[1] + frames[3]
    with pytest.raises(DecryptionError, match="Part 1"):
        b"".join(iter_decrypt(key, io.BytesIO(swapped), AAD, start=CHUNK))


def test_values_read_back_as_memoryviews_from_a_driver_still_decrypt() -> None:
    ring, data_key = _ring(), new_data_key()
    wrapped = wrap_key(ring, data_key, AAD)
    assert unwrap_key(ring, memoryview(wrapped), AAD) == data_key
    blob = encrypt(data_key, b"note", AAD)
    assert decrypt(data_key, memoryview(blob), AAD) == b"note"


def test_no_key_material_is_logged_during_a_rotation_and_a_stored_recording(
    tmp_path, caplog
) -> None:
    from webapp.storage import BlobStore, new_blob_name

    old_text, new_text = generate_master_key(), generate_master_key()
    old = MasterKey.from_text(old_text, source="old")
    new = MasterKey.from_text(new_text, source="new")
    data_key = new_data_key()
    with caplog.at_level(logging.DEBUG):
        wrapped = rewrap_key(KeyRing(new, (old,)), wrap_key(KeyRing(old), data_key, AAD), AAD)
        store = BlobStore(tmp_path)
        name = new_blob_name()
        store.put_stream(name, data_key, io.BytesIO(b"audio" * 100), AAD)
        with store.decrypted_copy(name, data_key, AAD):
            pass
        with pytest.raises(MissingMasterKey):
            unwrap_key(KeyRing(old), wrapped, AAD)
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert caplog.records, "expected the store to log its work"
    for secret in (old_text, new_text, data_key.hex(), old.secret.hex(), new.secret.hex()):
        assert secret.rstrip("=") not in logged
