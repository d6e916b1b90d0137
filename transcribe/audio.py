"""Reading recordings: vetting them, and decoding them a chunk at a time.

Everything is decoded with PyAV (FFmpeg's libraries), resampled to 16 kHz mono
float32 as Whisper expects, and handed on in chunks so that memory stays bounded
however long the recording is.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from transcribe.errors import AudioError

__all__ = ["SAMPLE_RATE", "AudioChunk", "AudioInfo", "iter_chunks", "probe_audio"]

logger = logging.getLogger(__name__)

#: Sample rate of the audio handed to the models.
SAMPLE_RATE = 16000

#: A decoded file shorter than its header promises by more than this is truncated.
_TRUNCATION_TOLERANCE_S = 1.0
#: How far before a chunk boundary to look for a quiet place to cut.
_CUT_SEARCH_S = 5.0
_CUT_FRAME = 320  # 20 ms at 16 kHz
_HOW_TO_FIX = "Export the recording again from the device (WAV, FLAC, MP3, M4A, OGG or WebM)."


@dataclass(frozen=True)
class AudioInfo:
    """What a recording's container says about it, read without decoding it all.

    Attributes:
        path: The file that was examined.
        container: Container format as FFmpeg names it, e.g. ``"wav"`` or ``"mov,mp4,..."``.
        codec: Audio codec name, e.g. ``"pcm_s16le"``, ``"mp3"``, ``"opus"``.
        duration: Length in seconds from the container, or ``None`` when the file
            does not say (some browser WebM recordings); the length is then checked
            while decoding.
        channels: Number of audio channels.
        sample_rate: Samples per second of the audio track.
    """

    path: Path
    container: str
    codec: str
    duration: float | None
    channels: int
    sample_rate: int


@dataclass(frozen=True)
class AudioChunk:
    """A stretch of decoded audio.

    Attributes:
        offset: Start of the chunk in seconds from the beginning of the recording.
        samples: 16 kHz mono float32 samples.
    """

    offset: float
    samples: np.ndarray

    @property
    def duration(self) -> float:
        """Length of the chunk in seconds."""
        return len(self.samples) / SAMPLE_RATE


def _fail(path: Path, problem: str, fix: str = _HOW_TO_FIX) -> AudioError:
    return AudioError(f"{path.name}: {problem}. {fix}")


def _format_duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _too_long(path: Path, seconds: float, limit: float) -> AudioError:
    return _fail(
        path,
        f"the recording lasts {_format_duration(seconds)}, longer than the "
        f"{_format_duration(limit)} allowed",
        "Split it into shorter parts, or raise the maximum duration "
        "(--max-duration) if this machine can take it.",
    )


def _open(path: Path) -> av.container.InputContainer:
    if not path.exists():
        raise _fail(path, "no such file", "Check the file name and folder.")
    if not path.is_file():
        raise _fail(path, "this is a folder, not a recording", "Give the recording's file.")
    if path.stat().st_size == 0:
        raise _fail(path, "the file is empty (0 bytes)", "The upload or copy did not finish.")
    try:
        return av.open(str(path), mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        logger.info("could not open recording: %s", type(exc).__name__)
        raise _fail(path, "this is not an audio or video file that can be read") from exc


def _audio_stream(path: Path, container: av.container.InputContainer) -> av.AudioStream:
    if not container.streams.audio:
        raise _fail(
            path,
            "the file has no audio track",
            "Check that the microphone was on, or export the recording with its sound.",
        )
    stream = container.streams.audio[0]
    codec = stream.codec_context
    if codec is None or not codec.name or codec.name == "none":
        raise _fail(path, "the audio uses a codec that cannot be decoded")
    return stream


def _declared_duration(container: av.container.InputContainer, stream: av.AudioStream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0


def _decodes_near(
    container: av.container.InputContainer, stream: av.AudioStream, second: float
) -> bool:
    """Whether any audio decodes at or after ``second`` (cheap truncation check)."""
    if stream.time_base is None:
        return True
    try:
        container.seek(int(second / stream.time_base), stream=stream, any_frame=False)
        for packet in container.demux(stream):
            for frame in packet.decode():
                # A seek into a cut-off file may land earlier; only audio near the
                # end proves the end is there.
                if frame.samples > 0 and (frame.time is None or frame.time >= second - 2.0):
                    return True
    except av.error.FFmpegError:
        return False
    return False


def _wav_data_missing(path: Path) -> bool:
    """Whether a RIFF/WAVE file's header promises more sample data than the file holds."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return False
        position = 12
        while position + 8 <= size:
            handle.seek(position)
            chunk = handle.read(8)
            length = int.from_bytes(chunk[4:8], "little")
            if chunk[:4] == b"data":
                # 0 and 0xFFFFFFFF mean "unknown" (streamed recordings): nothing to check.
                return 0 < length < 0xFFFFFFFF and position + 8 + length > size
            position += 8 + length + (length & 1)
    return False


def probe_audio(path: str | Path, max_duration_s: float | None = None) -> AudioInfo:
    """Check that a file is a readable recording, without decoding all of it.

    Args:
        path: The recording.
        max_duration_s: Refuse recordings longer than this many seconds, judged from
            the container before anything is decoded.

    Returns:
        What the container says about the recording.

    Raises:
        AudioError: The file is missing, empty, not audio, has no audio track or an
            unsupported codec, is truncated, or is longer than ``max_duration_s``.
    """
    path = Path(path)
    with _open(path) as container:
        stream = _audio_stream(path, container)
        declared = _declared_duration(container, stream)
        if max_duration_s is not None and declared > max_duration_s:
            raise _too_long(path, declared, max_duration_s)
        if _wav_data_missing(path) or (
            declared > 2 * _TRUNCATION_TOLERANCE_S
            and not _decodes_near(container, stream, declared - _TRUNCATION_TOLERANCE_S)
        ):
            raise _fail(
                path,
                "the recording is truncated or corrupt: the file is shorter than its "
                "header says, or its end cannot be decoded",
                "Copy or export the recording again in full.",
            )
        codec = stream.codec_context
        info = AudioInfo(
            path=path,
            container=container.format.name,
            codec=codec.name,
            duration=declared or None,
            channels=codec.channels,
            sample_rate=codec.sample_rate or stream.sample_rate or 0,
        )
    logger.debug("probed recording: codec=%s duration=%s", info.codec, info.duration)
    return info


def _decoded_blocks(path: Path, max_duration_s: float | None) -> Iterator[np.ndarray]:
    """Yield 16 kHz mono float32 blocks of the file's first audio track, in order."""
    with _open(path) as container:
        stream = _audio_stream(path, container)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        limit = None if max_duration_s is None else int(max_duration_s * SAMPLE_RATE)
        total = 0
        try:
            for packet in container.demux(stream):
                for frame in packet.decode():
                    for out in resampler.resample(frame):
                        block = out.to_ndarray().reshape(-1)
                        total += len(block)
                        if limit is not None and total > limit:
                            raise _too_long(path, total / SAMPLE_RATE, max_duration_s or 0)
                        yield block
            for out in resampler.resample(None):
                yield out.to_ndarray().reshape(-1)
        except av.error.FFmpegError as exc:
            logger.info("decoding failed: %s", type(exc).__name__)
            raise _fail(
                path,
                f"the audio is damaged and could not be decoded after "
                f"{_format_duration(total / SAMPLE_RATE)}",
                "Copy or export the recording again in full.",
            ) from exc


def _quiet_cut(samples: np.ndarray, boundary: int) -> int:
    """Index near ``boundary`` (at or before it) where the audio is quietest."""
    search = min(int(_CUT_SEARCH_S * SAMPLE_RATE), boundary // 4)
    n_frames = search // _CUT_FRAME
    if n_frames < 2:
        return boundary
    start = boundary - n_frames * _CUT_FRAME
    frames = samples[start:boundary].reshape(n_frames, _CUT_FRAME)
    energy = np.mean(frames.astype(np.float64) ** 2, axis=1)
    # Prefer the quietest frame; among near-equals, the one closest to the boundary.
    quietest = int(np.flatnonzero(energy <= energy.min() * 1.05 + 1e-12)[-1])
    return start + quietest * _CUT_FRAME + _CUT_FRAME // 2


def iter_chunks(
    path: str | Path, chunk_seconds: float, max_duration_s: float | None = None
) -> Iterator[AudioChunk]:
    """Decode a recording and yield it in chunks of about ``chunk_seconds``.

    Each chunk is cut at the quietest moment in the few seconds before its nominal
    end, so that words are not split between chunks. Only one chunk is held in
    memory at a time.

    Args:
        path: The recording.
        chunk_seconds: Nominal chunk length in seconds.
        max_duration_s: Stop with an error once more than this much audio is decoded
            (for files whose container does not state their length).

    Yields:
        Consecutive chunks with their offsets in seconds.

    Raises:
        AudioError: The file cannot be read or decoded, or is too long.
    """
    path = Path(path)
    chunk_len = max(int(chunk_seconds * SAMPLE_RATE), SAMPLE_RATE)
    pending: list[np.ndarray] = []
    pending_len = 0
    offset = 0
    for block in _decoded_blocks(path, max_duration_s):
        pending.append(block)
        pending_len += len(block)
        while pending_len >= chunk_len:
            joined = np.concatenate(pending)
            cut = _quiet_cut(joined, chunk_len)
            yield AudioChunk(offset / SAMPLE_RATE, joined[:cut].copy())
            offset += cut
            rest = joined[cut:].copy()
            del joined
            pending, pending_len = [rest], len(rest)
    if pending_len:
        yield AudioChunk(offset / SAMPLE_RATE, np.concatenate(pending))
    elif offset == 0:
        raise _fail(path, "the file contains no audio samples")
