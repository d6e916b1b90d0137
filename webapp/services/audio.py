"""Listening to a recording: its decrypted audio, whole or a byte range, audited."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from policies import NotFound
from webapp.context import Services, aad
from webapp.services.access import get_recording
from webapp.services.audit_trail import record
from webapp.services.auth import CurrentUser

__all__ = ["AudioStream", "open_audio"]

#: The media type of each sniffed audio type, for the browser's player.
_MIME = {
    "wav": "audio/wav",
    "flac": "audio/flac",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
    "webm": "audio/webm",
    "mp4": "audio/mp4",
}
_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


@dataclass(frozen=True)
class AudioStream:
    """A recording's audio, or the part of it a byte range asked for.

    Attributes:
        size: The whole recording's length in bytes.
        start: The first byte sent.
        end: The last byte sent (inclusive).
        partial: Whether a byte range was asked for (answered 206, with its range).
        satisfiable: False when the range lies past the end (answered 416).
        mimetype: The audio's media type.
        chunks: The decrypted bytes from ``start`` to ``end``, in pieces; none when the
            range cannot be satisfied.
    """

    size: int
    start: int
    end: int
    partial: bool
    satisfiable: bool
    mimetype: str
    chunks: Iterator[bytes]


def open_audio(svc: Services, user: CurrentUser, recording_id: str, byte_range: str) -> AudioStream:
    """Decrypt a recording's audio for ``user``, as the player asks for it.

    Listening is audited once, at the first request (no range, or one from the start),
    not at every seek.

    Args:
        svc: The app's services.
        user: Who listens: they must be able to read the recording.
        recording_id: The recording.
        byte_range: The request's ``Range`` header (``bytes=START-END``), or "".

    Returns:
        The audio, whole or the range asked for.

    Raises:
        NotFound: No such recording, the user may not see it, or its audio was deleted
            under the retention policy.
    """
    with svc.engine.begin() as conn:
        rec = get_recording(svc, conn, user, recording_id)
        wanted = _RANGE.match(byte_range.strip())
        if rec.audio_blob is None:
            raise NotFound(
                "The audio of this recording was deleted under the retention policy; "
                "the approved note is kept."
            )
        if wanted is None or wanted.group(1) in ("", "0"):
            record(conn, user.id, user.username, "listen", "recording", rec.id)
    key = svc.vault.data_key(rec.id, rec.wrapped_key)
    size = int(rec.audio_bytes)
    mimetype = _MIME.get(rec.audio_type, "application/octet-stream")
    start, end = 0, size - 1
    if wanted:
        if wanted.group(1):
            start = int(wanted.group(1))
            end = int(wanted.group(2)) if wanted.group(2) else size - 1
        elif wanted.group(2):
            start = max(0, size - int(wanted.group(2)))
        end = min(end, size - 1)
        if start > end:
            return AudioStream(size, start, end, True, False, mimetype, iter(()))
    chunks = svc.vault.store.iter_plain(rec.audio_blob, key, aad("recording", rec.id, "audio"))

    def body() -> Iterator[bytes]:
        position = 0
        for chunk in chunks:
            chunk_end = position + len(chunk)
            if chunk_end > start and position <= end:
                yield chunk[max(0, start - position) : end - position + 1]
            position = chunk_end
            if position > end:
                break

    return AudioStream(size, start, end, wanted is not None, True, mimetype, body())
