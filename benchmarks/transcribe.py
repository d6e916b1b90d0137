"""Transcription benchmark: speed, memory, WER and DER, against plain faster-whisper.

For Whisper base and tiny.en, decoding in order and batched, it runs
1. the carenotes pipeline (chunked decoding, VAD, word times, loop/hallucination
   checks and speaker labels), and
2. plain faster-whisper called directly on the same audio with the same decoding
   settings (VAD, word timestamps, beam 5), no speaker labels,
each in a fresh process so that peak memory (RSS high-water mark) is its own.

Real-time factor = processing seconds / audio seconds, on a 3.7-minute recording
made by joining the real test recordings. WER is on jfk.flac; DER (0.25 s collar,
overlap scored, and strict: no collar) on two_speakers_sample and the two AMI
excerpts, speaker count estimated.

Usage: .venv/bin/python benchmarks/transcribe.py [--models base tiny.en] [--batch 8]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
sys.path.insert(0, str(ROOT))

JFK = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."  # noqa: E501
DER_FILES = {
    "two_speakers_sample": "two_speakers_sample.rttm",
    "ami_dev00": "ami_dev.rttm",
    "ami_dev01": "ami_dev.rttm",
}
VISIT_PARTS = ["two_speakers_sample.wav", "ami_dev00.wav", "ami_dev01.wav",
               "stereo_two_speakers.wav", "jfk.flac"] * 2  # fmt: skip


def make_visit(target: Path) -> Path:
    """Join the real recordings into one 16 kHz FLAC (about 3.7 minutes)."""
    import av

    with av.open(str(target), "w") as out:
        stream = out.add_stream("flac", rate=16000, layout="mono")
        for name in VISIT_PARTS:
            resampler = av.AudioResampler(format="s16", layout="mono", rate=16000)
            with av.open(str(DATA / name)) as src:
                for frame in src.decode(audio=0):
                    frame.pts = None
                    for piece in resampler.resample(frame):
                        for packet in stream.encode(piece):
                            out.mux(packet)
            for piece in resampler.resample(None):
                piece.pts = None
                for packet in stream.encode(piece):
                    out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return target


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_pipeline(model: str, batch: int, visit: Path) -> dict[str, object]:
    """The carenotes pipeline, speakers included."""
    from transcribe import (
        TranscribeOptions,
        diarisation_error_rate,
        load_transcriber,
        read_rttm,
        transcribe_file,
        transcript_turns,
        word_error_rate,
    )

    options = TranscribeOptions(model=model, batch_size=batch)
    started = time.perf_counter()
    transcriber = load_transcriber(options)
    load_s = time.perf_counter() - started
    jfk = transcribe_file(DATA / "jfk.flac", options, transcriber=transcriber)  # also warms up
    ders = {}
    for name, rttm in DER_FILES.items():
        transcript = transcribe_file(DATA / f"{name}.wav", options, transcriber=transcriber)
        hyp, ref = transcript_turns(transcript), read_rttm(DATA / rttm, name)
        ders[name] = (diarisation_error_rate(ref, hyp),
                      diarisation_error_rate(ref, hyp, collar=0.0),
                      len(transcript.speakers))  # fmt: skip
    started, cpu = time.perf_counter(), time.process_time()
    visit_transcript = transcribe_file(visit, options, transcriber=transcriber)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "load_s": load_s,
        "rtf": elapsed / visit_transcript.duration,
        "cpu_per_s": cpu / visit_transcript.duration,
        "audio_s": visit_transcript.duration,
        "wer": word_error_rate(JFK, jfk.text),
        "der": ders,
        "peak_rss_mb": _peak_rss_mb(),
    }


def run_plain(model: str, batch: int, visit: Path) -> dict[str, object]:
    """faster-whisper called directly, same decoding settings, no speakers."""
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    from transcribe import word_error_rate
    from transcribe.models import resolve_device, resolve_model

    device, compute_type = resolve_device("auto", "auto")
    started = time.perf_counter()
    whisper = WhisperModel(str(resolve_model(model).path), device=device,
                           compute_type=compute_type, local_files_only=True)  # fmt: skip
    load_s = time.perf_counter() - started
    # The decoding settings the pipeline uses, so that the ratio shows its own cost.
    settings: dict[str, object] = {
        "beam_size": 5,
        "word_timestamps": True,
        "condition_on_previous_text": False,
    }
    if not batch:
        settings["hallucination_silence_threshold"] = 2.0

    def transcribe(path: Path) -> tuple[str, float]:
        if batch:
            pipeline = BatchedInferencePipeline(whisper)
            segments, info = pipeline.transcribe(str(path), batch_size=batch, **settings)
        else:
            segments, info = whisper.transcribe(str(path), vad_filter=True, **settings)
        return " ".join(s.text.strip() for s in segments), info.duration

    jfk_text, _ = transcribe(DATA / "jfk.flac")
    started, cpu = time.perf_counter(), time.process_time()
    _, duration = transcribe(visit)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "load_s": load_s,
        "rtf": elapsed / duration,
        "cpu_per_s": cpu / duration,
        "audio_s": duration,
        "wer": word_error_rate(JFK, jfk_text),
        "der": {},
        "peak_rss_mb": _peak_rss_mb(),
    }


def make_long(visit: Path, minutes: int) -> Path:
    """Repeat the joined recording to about ``minutes`` minutes."""
    import av

    long_file = visit.with_name("long.flac")
    with av.open(str(visit)) as src:
        frames = [f for f in src.decode(audio=0)]
    with av.open(str(long_file), "w") as out:
        stream = out.add_stream("flac", rate=16000, layout="mono")
        seconds = sum(f.samples for f in frames) / 16000
        for _ in range(int(np.ceil(minutes * 60 / seconds))):
            for frame in frames:
                frame.pts = None
                for packet in stream.encode(frame):
                    out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return long_file


def run_long_decode(long_file: Path) -> dict[str, object]:
    """Decode a long recording chunk by chunk and report the memory it took."""
    from transcribe.audio import iter_chunks

    before = _peak_rss_mb()
    started = time.perf_counter()
    total = 0.0
    for chunk in iter_chunks(long_file, chunk_seconds=600):
        total += chunk.duration
    return {
        "audio_s": total,
        "decode_s": time.perf_counter() - started,
        "peak_rss_mb": _peak_rss_mb(),
        "rss_before_mb": before,
    }


def _child(args: argparse.Namespace) -> None:
    if args.kind == "long":
        print(json.dumps(run_long_decode(Path(args.visit))))
        return
    runner = run_pipeline if args.kind == "pipeline" else run_plain
    print(json.dumps(runner(args.model, args.batch, Path(args.visit))))


def _measure(kind: str, model: str, batch: int, visit: Path) -> dict[str, object]:
    command = [sys.executable, __file__, "--child", kind, "--model", model,
               "--batch", str(batch), "--visit", str(visit)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{kind} {model} failed:\n{done.stderr[-3000:]}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _der_cell(ders: object, name: str) -> str:
    if not isinstance(ders, dict) or name not in ders:
        return "—"
    value, strict, speakers = ders[name]
    return f"{100 * value:.1f} % (strict {100 * strict:.1f} %, {speakers} spk)"


def main() -> None:
    """Run every configuration and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["base", "tiny.en"])
    parser.add_argument("--batch", type=int, default=8, help="batch size of the batched runs")
    parser.add_argument(
        "--long-minutes", type=int, default=120, help="length of the decode-memory check"
    )
    parser.add_argument("--child", choices=("pipeline", "plain", "long"), help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--visit", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.kind = args.child
        _child(args)
        return
    python = platform.python_version()
    print(f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {python}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        visit = make_visit(Path(tmp) / "visit.flac")
        for model in args.models:
            for batch in (0, args.batch):
                mode = "sequential" if batch == 0 else f"batched ({batch})"
                plain = _measure("plain", model, batch, visit)
                ours = _measure("pipeline", model, batch, visit)
                ratio = float(ours["rtf"]) / float(plain["rtf"])  # type: ignore[arg-type]
                cpu_ratio = float(ours["cpu_per_s"]) / float(plain["cpu_per_s"])  # type: ignore[arg-type]
                for label, result in (("faster-whisper", plain), ("carenotes", ours)):
                    rows.append(
                        f"| {model} | {mode} | {label} | {result['rtf']:.3f} | "
                        f"{result['cpu_per_s']:.3f} | "
                        f"{result['peak_rss_mb']:.0f} MB | {100 * float(result['wer']):.1f} % | "  # type: ignore[arg-type]
                        + " | ".join(_der_cell(result["der"], n) for n in DER_FILES)
                        + (
                            f" | {ratio:.2f}× | {cpu_ratio:.2f}× |"
                            if label == "carenotes"
                            else " | | |"
                        )
                    )
                print(rows[-2], rows[-1], sep="\n", flush=True)
        long = None
        if args.long_minutes:
            long = _measure("long", "-", 0, make_long(visit, args.long_minutes))
    audio = float(ours["audio_s"])  # type: ignore[arg-type]
    print(f"\nReal-time factor measured on a {audio:.0f} s recording joined from tests/data.")
    print("| model | decoding | run | RTF (wall) | CPU s per audio s | peak RSS | WER jfk | "
          "DER two_speakers | DER ami_dev00 | DER ami_dev01 | overhead (wall) | "
          "overhead (CPU) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    if long:
        print(
            f"\nDecoding a {float(long['audio_s']) / 60:.0f}-minute recording in 10-minute "  # type: ignore[arg-type]
            f"chunks: peak RSS {long['peak_rss_mb']:.0f} MB "
            f"(after start-up: {long['rss_before_mb']:.0f} MB), "
            f"{long['decode_s']:.0f} s."
        )


if __name__ == "__main__":
    main()
