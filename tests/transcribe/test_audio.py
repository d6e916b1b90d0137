"""Reading recordings: the formats people bring, and the files that cannot be used."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from transcribe import AudioError, TranscribeOptions, probe_audio, transcribe_file, word_error_rate
from transcribe.audio import SAMPLE_RATE, iter_chunks
from transcribe.whisper import WhisperTranscriber

JFK_REFERENCE = (
    "And so my fellow Americans, ask not what your country can do for you, "
    "ask what you can do for your country."
)

FORMATS = {
    "flac-16k.flac": dict(codec="flac", rate=16000, layout="mono"),
    "mp3.mp3": dict(codec="mp3", rate=44100),
    "opus.ogg": dict(codec="libopus", rate=48000, container="ogg"),
    "browser.webm": dict(codec="libopus", rate=48000, container="webm"),
    "aac.m4a": dict(codec="aac", rate=44100, container="ipod"),
    "float.wav": dict(codec="pcm_f32le", rate=16000, layout="mono"),
    "stereo-22k.wav": dict(codec="pcm_s16le", rate=22050, layout="stereo"),
    "phone-8k.wav": dict(codec="pcm_s16le", rate=8000, layout="mono"),
}


def _video(target: Path, source: Path | None) -> Path:
    """An MP4 with a short video track and, if ``source`` is given, its sound."""
    with av.open(str(target), "w", format="mp4") as out:
        video = out.add_stream("mpeg4", rate=10)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = out.add_stream("aac", rate=44100, layout="stereo") if source else None
        for i in range(110 if source else 20):
            image = np.full((48, 64, 3), i % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 10)
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
        if source and audio is not None:
            resampler = av.AudioResampler(format="fltp", layout="stereo", rate=44100)
            with av.open(str(source)) as src:
                for frame in src.decode(audio=0):
                    frame.pts = None
                    for piece in resampler.resample(frame):
                        for packet in audio.encode(piece):
                            out.mux(packet)
            for packet in audio.encode(None):
                out.mux(packet)
    return target


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FORMATS))
def test_each_recording_format_is_transcribed(
    name: str, tmp_path: Path, data_dir: Path, encode, base_transcriber: WhisperTranscriber
) -> None:
    path = encode(data_dir / "jfk.flac", tmp_path / name, **FORMATS[name])
    transcript = transcribe_file(
        path, TranscribeOptions(diarise=False), transcriber=base_transcriber
    )
    assert transcript.duration == pytest.approx(11.0, abs=0.2)
    assert word_error_rate(JFK_REFERENCE, transcript.text) <= 0.1


@pytest.mark.slow
def test_the_sound_of_an_mp4_video_is_transcribed(
    tmp_path: Path, data_dir: Path, base_transcriber: WhisperTranscriber
) -> None:
    path = _video(tmp_path / "visit.mp4", data_dir / "jfk.flac")
    assert probe_audio(path).codec == "aac"
    transcript = transcribe_file(
        path, TranscribeOptions(diarise=False), transcriber=base_transcriber
    )
    assert word_error_rate(JFK_REFERENCE, transcript.text) <= 0.1


def test_probing_reads_duration_codec_channels_and_rate(data_dir: Path) -> None:
    info = probe_audio(data_dir / "jfk.flac")
    assert (info.codec, info.channels, info.sample_rate) == ("flac", 2, 44100)
    assert info.duration == pytest.approx(11.0, abs=0.01)
    assert probe_audio(data_dir / "ami_dev00.wav").codec == "pcm_f32le"


def test_chunks_are_cut_at_quiet_moments_and_cover_the_whole_recording(data_dir: Path) -> None:
    chunks = list(iter_chunks(data_dir / "two_speakers_sample.wav", chunk_seconds=8))
    assert len(chunks) >= 4
    total = sum(len(c.samples) for c in chunks)
    assert total == pytest.approx(30 * SAMPLE_RATE, abs=SAMPLE_RATE // 100)
    position = 0.0
    for chunk in chunks:
        assert chunk.offset == pytest.approx(position)
        assert chunk.duration <= 8.0
        position += chunk.duration
    loudness = np.sqrt(np.mean(np.concatenate([c.samples for c in chunks]) ** 2))
    for chunk in chunks[:-1]:
        edge = chunk.samples[-160:]
        assert np.sqrt(np.mean(edge**2)) < loudness  # quieter than average where cut


def _assert_refused(path: Path, *words: str) -> None:
    with pytest.raises(AudioError) as caught:
        probe_audio(path)
    message = str(caught.value)
    assert path.name in message
    for word in words:
        assert word in message


def test_an_empty_file_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "visit.wav"
    path.write_bytes(b"")
    _assert_refused(path, "empty")


def test_a_missing_file_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    _assert_refused(tmp_path / "nowhere.wav", "no such file")


def test_a_text_file_named_mp3_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "visit.mp3"
    path.write_text("Notes from the visit on Tuesday.\n" * 50, encoding="utf-8")
    _assert_refused(path, "not an audio")


def test_a_truncated_wav_is_refused_with_a_clear_message(
    tmp_path: Path, data_dir: Path, encode
) -> None:
    whole = encode(data_dir / "jfk.flac", tmp_path / "whole.wav", "pcm_s16le")
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    _assert_refused(cut, "truncated")


def test_a_truncated_flac_is_refused_with_a_clear_message(tmp_path: Path, data_dir: Path) -> None:
    data = (data_dir / "jfk.flac").read_bytes()
    cut = tmp_path / "cut.flac"
    cut.write_bytes(data[: len(data) // 2])
    _assert_refused(cut, "truncated")


def test_a_corrupt_recording_is_refused_with_a_clear_message(
    tmp_path: Path, data_dir: Path
) -> None:
    data = bytearray((data_dir / "jfk.flac").read_bytes())
    noise = np.random.default_rng(7).integers(0, 256, len(data) - 21000, dtype=np.uint8)
    data[20000 : len(data) - 1000] = noise.tobytes()
    path = tmp_path / "corrupt.flac"
    path.write_bytes(bytes(data))
    _assert_refused(path, "corrupt")


def test_a_video_without_sound_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    _assert_refused(_video(tmp_path / "silent-film.mp4", None), "no audio track")


def test_an_unsupported_codec_is_refused_with_a_clear_message(
    tmp_path: Path, data_dir: Path, encode
) -> None:
    path = encode(data_dir / "jfk.flac", tmp_path / "odd.wav", "pcm_s16le")
    data = bytearray(path.read_bytes())
    data[20:22] = struct.pack("<H", 0x1234)  # a WAVE format tag no decoder knows
    path.write_bytes(bytes(data))
    _assert_refused(path, "codec")


def test_a_recording_over_the_maximum_duration_is_refused_before_decoding(
    data_dir: Path,
) -> None:
    with pytest.raises(AudioError) as caught:
        probe_audio(data_dir / "jfk.flac", max_duration_s=5)
    assert "jfk.flac" in str(caught.value)
    assert "longer than the 0:05 allowed" in str(caught.value)


def test_decoding_stops_at_the_maximum_duration_when_the_length_is_unknown(
    data_dir: Path,
) -> None:
    with pytest.raises(AudioError, match="longer than"):
        list(iter_chunks(data_dir / "jfk.flac", chunk_seconds=2, max_duration_s=4))


@pytest.mark.slow
def test_a_silent_recording_is_refused_with_no_speech_found(
    tmp_path: Path, tiny_transcriber: WhisperTranscriber
) -> None:
    path = tmp_path / "silence.wav"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("pcm_s16le", rate=16000, layout="mono")
        hiss = np.random.default_rng(3).normal(0, 30, (1, 16000 * 8)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(hiss, format="s16", layout="mono")
        frame.sample_rate = 16000
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    with pytest.raises(AudioError) as caught:
        transcribe_file(path, TranscribeOptions(model="tiny.en"), transcriber=tiny_transcriber)
    assert "silence.wav" in str(caught.value)
    assert "no speech was found" in str(caught.value)
