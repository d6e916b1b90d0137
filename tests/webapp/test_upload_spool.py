"""An upload being received waits encrypted inside the store, never as plaintext in the
system's temporary folder (Werkzeug's default for anything over 500 KB)."""

from __future__ import annotations

import io
import json
import os
import socket
import tempfile
import time
import wave
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidTag

from webapp.spool import EncryptedSpool

BOUNDARY = "carenotes-test-boundary"


def _noise_wav(seconds: float) -> bytes:
    """A 16 kHz mono WAV of random noise: its bytes are found nowhere else by chance."""
    frames = os.urandom(int(16_000 * seconds) * 2)
    out = io.BytesIO()
    with wave.open(out, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(16_000)
        handle.writeframes(frames)
    return out.getvalue()


def _multipart(fields: list[tuple[str, str]], audio: bytes) -> tuple[bytes, bytes]:
    """The form's fields first, then the file: returns (everything before the audio, after)."""
    head = io.BytesIO()
    for name, value in fields:
        head.write(f"--{BOUNDARY}\r\n".encode())
        head.write(f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    head.write(f"--{BOUNDARY}\r\n".encode())
    head.write(b'Content-Disposition: form-data; name="audio"; filename="visit.wav"\r\n')
    head.write(b"Content-Type: audio/wav\r\n\r\n")
    return head.getvalue(), f"\r\n--{BOUNDARY}--\r\n".encode()


def _open_files() -> dict[int, str]:
    """This process's open files, by descriptor, with where each points."""
    found = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            found[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
    return found


def _holds(path: str, markers: list[bytes]) -> bool:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return False
    return any(marker in data for marker in markers)


def _files_under(folder: str) -> list[Path]:
    return [Path(root) / name for root, _dirs, names in os.walk(folder) for name in names]


@pytest.fixture
def system_temp(tmp_path, monkeypatch) -> str:
    """The system's temporary folder, fresh for this test (tempfile's default, Werkzeug's)."""
    folder = tmp_path / "system-temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    assert tempfile.gettempdir() == str(folder)
    return str(folder)


def test_a_large_upload_is_never_plaintext_on_disk_while_it_is_received(
    app, svc, login_as, serve_app, system_temp, web
):
    worker = login_as("social_worker")
    cookie = worker.client.get_cookie("carenotes_session")
    audio = _noise_wav(50)  # 1.6 MB
    assert len(audio) > 1_500_000
    sent_first = 1_100_000
    markers = [audio[at : at + 48] for at in (100_000, 500_000, 900_000, 1_050_000)]
    fields = [(k, v) for k, value in web.upload_form().items() for v in _as_list(value)]
    head, tail = _multipart([("csrf_token", worker.token), *fields], audio)
    base = serve_app(app)
    port = int(base.rsplit(":", 1)[1])
    before = _open_files()

    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(
            (
                "POST /recordings HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{port}\r\n"
                f"Cookie: carenotes_session={cookie.value}\r\n"
                "Accept: application/json\r\n"
                f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                f"Content-Length: {len(head) + len(audio) + len(tail)}\r\n"
                "Connection: close\r\n\r\n"
            ).encode()
            + head
            + audio[:sent_first]
        )
        # While the server waits for the rest: where is what it has received so far?
        spooled = _wait_for_a_spool(before, at_least=sent_first // 2)
        assert spooled, "the upload being received was not found among the open files"
        for handle, target in spooled:
            assert not target.startswith(system_temp), target
            assert target.startswith(str(svc.vault.store.root)), target
            assert not _holds(handle, markers), f"plaintext audio in {target}"
        for path in _files_under(system_temp):
            assert not _holds(str(path), markers), f"plaintext audio in {path}"
        assert list((svc.vault.store.root / "spool").iterdir()) == []  # no name to find

        conn.sendall(audio[sent_first:] + tail)
        answer = _read_response(conn)

    assert answer.startswith(b"HTTP/1.1 201"), answer[:500]
    assert "url" in json.loads(answer.split(b"\r\n\r\n", 1)[1])
    on_disk = _files_under(system_temp) + _files_under(str(svc.vault.store.root))
    assert not any(_holds(str(path), markers) for path in on_disk)
    assert list((svc.vault.store.root / "spool").iterdir()) == []
    assert list((svc.vault.store.root / "plain").iterdir()) == []


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _wait_for_a_spool(before: dict[int, str], at_least: int) -> list[tuple[str, str]]:
    """Files opened since ``before`` that grew to ``at_least`` bytes: (handle, target)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        grown = []
        for fd, target in _open_files().items():
            if before.get(fd) == target or target.startswith(("socket:", "pipe:", "anon_")):
                continue
            try:
                size = os.stat(f"/proc/self/fd/{fd}").st_size
            except OSError:
                continue
            if size >= at_least:
                grown.append((f"/proc/self/fd/{fd}", target))
        if grown:
            return grown
        time.sleep(0.05)
    return []


def _read_response(conn: socket.socket) -> bytes:
    chunks = []
    while chunk := conn.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


# --- The spool itself --------------------------------------------------------------------


def test_the_spool_reads_back_what_was_written_from_any_position(tmp_path):
    data = os.urandom(300_000)
    with EncryptedSpool(tmp_path, chunk_size=4096) as spool:
        for start in range(0, len(data), 777):  # writes that do not line up with chunks
            spool.write(data[start : start + 777])
        assert list(tmp_path.iterdir()) == []  # the file has no name from the start
        assert spool.seek(0) == 0
        assert spool.read(16) == data[:16]
        spool.seek(123_457)
        assert spool.read(10_000) == data[123_457:133_457]
        spool.seek(0)
        assert spool.read() == data
        assert spool.read(1) == b""
        spool.seek(-5, io.SEEK_END)
        assert spool.read() == data[-5:]


def test_what_the_spool_writes_to_disk_is_ciphertext_and_tampering_is_caught(tmp_path):
    marker = b"SPOKEN-WORDS-" * 1000
    with EncryptedSpool(tmp_path, chunk_size=4096) as spool:
        spool.write(marker)
        spool.seek(0)
        raw = spool._file  # the encrypted file underneath
        raw.seek(0)
        on_disk = raw.read()
        assert b"SPOKEN-WORDS-" not in on_disk
        assert len(on_disk) == len(marker) + 16 * 4  # four sealed chunks
        raw.seek(100)
        raw.write(b"\x00")
        with pytest.raises(InvalidTag):
            spool.read()


def test_a_spool_cannot_be_written_after_it_has_been_read(tmp_path):
    with EncryptedSpool(tmp_path) as spool:
        spool.write(b"audio")
        spool.seek(0)
        with pytest.raises(io.UnsupportedOperation):
            spool.write(b"more")
    with pytest.raises(ValueError, match="closed"):
        spool.read()
