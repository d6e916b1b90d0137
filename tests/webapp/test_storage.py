"""Encrypted blob storage: atomic writes, checked reads, no plaintext left behind."""

from __future__ import annotations

import io
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from policies.errors import BadInput, Conflict, NotFound
from webapp.crypto import DecryptionError, aad_for, new_data_key
from webapp.storage import BlobStore, new_blob_name

AAD = aad_for("recording", 1, "audio")
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "store")


def _every_file(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_stored_recording_reads_back_and_is_not_stored_in_plaintext(store, data_dir) -> None:
    audio = (data_dir / "jfk.flac").read_bytes()
    key, name = new_data_key(), new_blob_name()
    with (data_dir / "jfk.flac").open("rb") as src:
        stored = store.put_stream(name, key, src, AAD, chunk_size=64 * 1024)
    assert stored == len(audio)
    assert store.exists(name)
    assert b"".join(store.iter_plain(name, key, AAD)) == audio
    on_disk = store.path_of(name).read_bytes()
    assert audio[:4096] not in on_disk and b"fLaC" not in on_disk
    assert _mode(store.root) == _mode(store.path_of(name).parent) == 0o700
    assert _mode(store.path_of(name)) == 0o600


def test_blob_names_are_opaque_and_paths_cannot_escape_the_store(store) -> None:
    name = new_blob_name()
    assert len(name) >= 16 and "/" not in name and "." not in name
    for bad in ("../../etc/passwd", "case-123.wav", "short", "a/" + "b" * 20, ""):
        with pytest.raises(ValueError):
            store.path_of(bad)


def test_a_failed_upload_leaves_nothing_behind(store) -> None:
    class BrokenUpload(io.RawIOBase):
        def __init__(self) -> None:
            self.calls = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:  # type: ignore[override]
            self.calls += 1
            if self.calls > 3:
                raise ConnectionResetError("client went away")
            count = min(len(buffer), 1000)
            buffer[:count] = b"\x00" * count
            return count

    name = new_blob_name()
    with pytest.raises(ConnectionResetError):
        store.put_stream(name, new_data_key(), BrokenUpload(), AAD, chunk_size=1500)
    assert not store.exists(name)
    assert _every_file(store.root) == []


def test_an_upload_over_the_size_limit_is_refused_and_nothing_is_kept(store) -> None:
    name = new_blob_name()
    with pytest.raises(BadInput, match="larger than the limit"):
        store.put_stream(
            name, new_data_key(), io.BytesIO(b"x" * 5000), AAD, max_bytes=4000, chunk_size=1024
        )
    assert _every_file(store.root) == []
    assert store.put_stream(name, new_data_key(), io.BytesIO(b"x" * 4000), AAD, max_bytes=4000)


def test_an_existing_blob_is_never_overwritten(store) -> None:
    key, name = new_data_key(), new_blob_name()
    store.put_stream(name, key, io.BytesIO(b"first"), AAD)
    with pytest.raises(Conflict):
        store.put_stream(name, key, io.BytesIO(b"second"), AAD)
    assert b"".join(store.iter_plain(name, key, AAD)) == b"first"


def test_a_blob_read_with_another_records_aad_or_key_is_refused(store) -> None:
    key, name = new_data_key(), new_blob_name()
    store.put_stream(name, key, io.BytesIO(b"audio" * 100), AAD)
    with pytest.raises(DecryptionError):
        b"".join(store.iter_plain(name, key, aad_for("recording", 2, "audio")))
    with pytest.raises(DecryptionError):
        b"".join(store.iter_plain(name, new_data_key(), AAD))


def test_a_missing_blob_answers_not_found(store) -> None:
    with pytest.raises(NotFound):
        b"".join(store.iter_plain(new_blob_name(), new_data_key(), AAD))
    assert not store.exists(new_blob_name())


def test_a_decrypted_copy_exists_only_inside_its_block(store) -> None:
    key, name = new_data_key(), new_blob_name()
    store.put_stream(name, key, io.BytesIO(b"RIFF fake audio" * 1000), AAD, chunk_size=1024)
    with store.decrypted_copy(name, key, AAD, suffix=".wav") as plain:
        assert plain.read_bytes() == b"RIFF fake audio" * 1000
        assert plain.suffix == ".wav"
        assert plain.is_relative_to(store.root)
        assert _mode(plain.parent) == 0o700
        assert _mode(plain) == 0o600
    assert not plain.exists()
    assert not plain.parent.exists()
    assert [path.name for path in _every_file(store.root)] == [name]


def test_a_decrypted_copy_is_removed_even_when_the_block_raises(store) -> None:
    key, name = new_data_key(), new_blob_name()
    store.put_stream(name, key, io.BytesIO(b"audio" * 1000), AAD)
    with pytest.raises(RuntimeError, match="transcription failed"):
        with store.decrypted_copy(name, key, AAD) as plain:
            assert plain.exists()
            raise RuntimeError("transcription failed")
    assert not plain.exists()
    assert [path.name for path in _every_file(store.root)] == [name]


def test_a_tampered_blob_yields_no_decrypted_copy_and_leaves_nothing(store) -> None:
    key, name = new_data_key(), new_blob_name()
    store.put_stream(name, key, io.BytesIO(os.urandom(5000)), AAD, chunk_size=1024)
    path = store.path_of(name)
    damaged = bytearray(path.read_bytes())
    damaged[-3] ^= 0xFF  # only the last chunk: earlier chunks decrypt and are written first
    path.write_bytes(bytes(damaged))
    entered = False
    with pytest.raises(DecryptionError):
        with store.decrypted_copy(name, key, AAD):
            entered = True
    assert not entered
    assert [p.name for p in _every_file(store.root)] == [name]


def test_delete_removes_a_blob_and_reports_whether_it_existed(store) -> None:
    key, name = new_data_key(), new_blob_name()
    store.put_stream(name, key, io.BytesIO(b"x"), AAD)
    assert store.delete(name) is True
    assert not store.exists(name)
    assert store.delete(name) is False


def test_remove_stale_temp_cleans_up_after_a_killed_process(store) -> None:
    key, name = new_data_key(), new_blob_name()
    secret_audio = b"PLAINTEXT-CANARY " * 4000
    store.put_stream(name, key, io.BytesIO(secret_audio), AAD)
    child = textwrap.dedent(
        f"""
        import io, sys, time
        from pathlib import Path
        from webapp.storage import BlobStore
        store = BlobStore(Path({str(store.root)!r}))
        key = bytes.fromhex({key.hex()!r})
        with store.decrypted_copy({name!r}, key, {AAD!r}) as plain:
            class Slow(io.RawIOBase):
                def readable(self): return True
                def readinto(self, b):
                    print(plain, flush=True)
                    time.sleep(60)
            store.put_stream({name!r} + "x", key, Slow(), {AAD!r})
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-c", child], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        plain = Path(process.stdout.readline().strip())
        assert plain.read_bytes() == secret_audio
        parts = list(store.path_of(name).parent.glob(".*.part"))
        assert len(parts) == 1
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    assert plain.exists()  # the crash left plaintext behind...

    removed = BlobStore(store.root).remove_stale_temp()

    assert removed == 2
    assert not plain.exists() and not parts[0].exists()
    assert [path.name for path in _every_file(store.root)] == [name]
    assert not any(b"PLAINTEXT-CANARY" in path.read_bytes() for path in _every_file(store.root))


def test_remove_stale_temp_leaves_copies_in_use_alone(store) -> None:
    key, name = new_data_key(), new_blob_name()
    store.put_stream(name, key, io.BytesIO(b"audio"), AAD)
    orphan = store.root / "plain" / f"{os.getpid()}-orphan"
    orphan.mkdir()
    (orphan / "audio").write_bytes(b"left over")
    with store.decrypted_copy(name, key, AAD) as plain:
        assert store.remove_stale_temp() == 1
        assert plain.read_bytes() == b"audio"
    assert not orphan.exists()


def test_remove_stale_temp_on_a_clean_store_removes_nothing(store) -> None:
    key, name = new_data_key(), new_blob_name()
    store.put_stream(name, key, io.BytesIO(b"audio"), AAD)
    assert store.remove_stale_temp() == 0
    assert store.exists(name)


def test_a_blob_can_be_read_from_an_offset_for_byte_range_requests(store) -> None:
    key, name = new_data_key(), new_blob_name()
    audio = os.urandom(10_000)
    store.put_stream(name, key, io.BytesIO(audio), AAD, chunk_size=1024)
    for start in (0, 1023, 1024, 5000, 9999):
        assert b"".join(store.iter_plain(name, key, AAD, start=start)) == audio[start:]


def test_leftovers_carrying_this_process_id_from_an_earlier_run_are_removed(store) -> None:
    # After a restart in a container the new process often gets the same id as the old.
    key, name = new_data_key(), new_blob_name()
    store.put_stream(name, key, io.BytesIO(b"audio"), AAD)
    stale_part = store.path_of(name).with_name(f".{new_blob_name()}.{os.getpid()}.ab12cd34.part")
    stale_part.write_bytes(b"ciphertext")
    assert store.remove_stale_temp() == 1
    assert not stale_part.exists() and store.exists(name)
