"""Fixtures for the transcription tests: the real packaged models, loaded once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import pytest

from transcribe import TranscribeOptions, Transcript, load_transcriber, transcribe_file
from transcribe.whisper import WhisperTranscriber


def encode_audio(
    source: Path,
    target: Path,
    codec: str,
    *,
    rate: int | None = None,
    layout: str | None = None,
    container: str | None = None,
    repeat: int = 1,
) -> Path:
    """Re-encode a real recording with PyAV (optionally repeated back to back)."""
    with av.open(str(target), "w", format=container) as out:
        stream = None
        resampler = None
        for _ in range(repeat):
            with av.open(str(source)) as src:
                audio = src.streams.audio[0]
                if stream is None:
                    rate = rate or audio.codec_context.sample_rate
                    layout = layout or audio.codec_context.layout.name
                    stream = out.add_stream(codec, rate=rate, layout=layout)
                    fmt = stream.codec_context.format
                    resampler = av.AudioResampler(
                        format=fmt.name if fmt else None, layout=layout, rate=rate
                    )
                assert resampler is not None
                for frame in src.decode(audio):
                    frame.pts = None
                    for piece in resampler.resample(frame):
                        for packet in stream.encode(piece):
                            out.mux(packet)
        assert stream is not None and resampler is not None
        for piece in resampler.resample(None):
            for packet in stream.encode(piece):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return target


@pytest.fixture(scope="session")
def encode() -> Callable[..., Path]:
    """The re-encoding helper, as a fixture."""
    return encode_audio


@pytest.fixture(scope="session")
def base_transcriber() -> WhisperTranscriber:
    """The packaged Whisper base model, loaded once for the session."""
    return load_transcriber(TranscribeOptions(model="base"))


@pytest.fixture(scope="session")
def tiny_transcriber() -> WhisperTranscriber:
    """The packaged Whisper tiny.en model, loaded once for the session."""
    return load_transcriber(TranscribeOptions(model="tiny.en"))


@pytest.fixture(scope="session")
def jfk_transcript(data_dir: Path, base_transcriber: WhisperTranscriber) -> Transcript:
    """jfk.flac through the whole pipeline with the base model."""
    return transcribe_file(data_dir / "jfk.flac", TranscribeOptions(), transcriber=base_transcriber)


@pytest.fixture(scope="session")
def two_speakers_transcript(data_dir: Path, base_transcriber: WhisperTranscriber) -> Transcript:
    """two_speakers_sample.wav through the whole pipeline, speaker count detected."""
    return transcribe_file(
        data_dir / "two_speakers_sample.wav", TranscribeOptions(), transcriber=base_transcriber
    )
