"""Speaker-label benchmark: strict and collared DER and sentences split across speakers.

Transcribes two_speakers_sample and the two AMI excerpts (tests/data) with the
carenotes pipeline, speaker count estimated, once per voice model (CAM++ and
Resemblyzer: same Whisper segments, same windows, same clustering and labelling), and
scores the speaker labels:

- DER with a 0.25 s collar around reference boundaries (as in benchmarks/transcribe.py),
- strict DER: 10 ms frames, no collar, overlapping speech scored,
- the same two DERs for the frame-level speaker turns the speech segmentation model
  gives (pyannote segmentation-3.0, ``Transcript.turns``: the speech it finds, gaps
  between words and overlapped speech included, its local speakers matched to the
  words' speakers),
- sentences split across speakers: sentences (by Whisper's words and punctuation)
  whose words were given to more than one speaker,
- the real-time factor of each file (wall clock, model already loaded).

With ``--speed`` it also times, in the same process one after another, plain
faster-whisper (the same loaded model and decoding settings, no speakers), the
carenotes pipeline without speakers, and the pipeline with each voice model (without
and with the speech segmentation), on the 3.7-minute recording benchmarks/transcribe.py
joins from the same files: wall-clock RTF and CPU seconds per audio second, and each
one's ratio to plain faster-whisper;
then the CPU time of the voice embeddings alone, on one thread, for each voice model,
and of the speech segmentation alone.

Usage: .venv/bin/python benchmarks/speakers.py [--model base] [--batch 0]
       [--voices campplus,resemblyzer] [--window 1.0] [--speed]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
sys.path.insert(0, str(ROOT))

DER_FILES = {
    "two_speakers_sample": "two_speakers_sample.rttm",
    "ami_dev00": "ami_dev.rttm",
    "ami_dev01": "ami_dev.rttm",
}


def _use_voice(
    transcriber: Any, voice: str, window_s: float | None, segmentation: bool = True
) -> None:
    """Point the loaded transcriber's speaker step at one voice model."""
    from transcribe.diarise import DiarisationOptions

    tuning = replace(DiarisationOptions(), voice_model=voice, segmentation=segmentation)
    if window_s:
        tuning = replace(tuning, window_s=window_s)
    transcriber.diarisation = tuning


def measure(model: str, batch: int, voices: list[str], window_s: float | None = None) -> list[dict]:
    """Transcribe and score each recording that has a reference, once per voice model.

    Args:
        model: Whisper model name.
        batch: Batch size, 0 for sequential decoding.
        voices: Voice models to compare (``"campplus"``, ``"resemblyzer"``).
        window_s: Embedding window length; the default when ``None``.

    Returns:
        One row per recording and voice model.
    """
    from transcribe import (
        TranscribeOptions,
        diarisation_error_rate,
        load_transcriber,
        read_rttm,
        sentences_split_across_speakers,
        speaker_turns,
        transcribe_file,
        transcript_turns,
    )

    options = TranscribeOptions(model=model, batch_size=batch)
    transcriber = load_transcriber(options)
    rows = []
    for voice in voices:
        _use_voice(transcriber, voice, window_s)
        transcribe_file(DATA / "jfk.flac", options, transcriber=transcriber)  # warm-up
        for name, rttm in DER_FILES.items():
            started = time.perf_counter()
            transcript = transcribe_file(DATA / f"{name}.wav", options, transcriber=transcriber)
            elapsed = time.perf_counter() - started
            reference = read_rttm(DATA / rttm, name)
            hypothesis = transcript_turns(transcript)
            timeline = speaker_turns(transcript)
            rows.append(
                {
                    "voice": voice,
                    "file": name,
                    "der": diarisation_error_rate(reference, hypothesis),
                    "strict_der": diarisation_error_rate(reference, hypothesis, collar=0.0),
                    "turns_der": diarisation_error_rate(reference, timeline),
                    "turns_strict_der": diarisation_error_rate(reference, timeline, collar=0.0),
                    "timeline": bool(transcript.turns),
                    "split": sentences_split_across_speakers(transcript),
                    "speakers": len(transcript.speakers),
                    "flagged": sum("check-speaker" in s.flags for s in transcript.segments),
                    "segments": len(transcript.segments),
                    "rtf": elapsed / transcript.duration,
                }
            )
    return rows


def measure_speed(model: str, batch: int, voices: list[str]) -> list[dict]:
    """Time plain faster-whisper, the pipeline without speakers, and with each voice model.

    Args:
        model: Whisper model name.
        batch: Batch size, 0 for sequential decoding.
        voices: Voice models to time.

    Returns:
        One row per configuration, plain faster-whisper first.
    """
    from faster_whisper import BatchedInferencePipeline

    from benchmarks.transcribe import make_visit
    from transcribe import TranscribeOptions, load_transcriber, transcribe_file

    options = TranscribeOptions(model=model, batch_size=batch)
    transcriber = load_transcriber(options)
    settings: dict[str, object] = {
        "beam_size": 5,
        "word_timestamps": True,
        "condition_on_previous_text": False,
    }

    def plain(path: Path) -> float:
        if batch:
            pipeline = BatchedInferencePipeline(transcriber.model)
            segments, info = pipeline.transcribe(str(path), batch_size=batch, **settings)
        else:
            segments, info = transcriber.model.transcribe(
                str(path), vad_filter=True, hallucination_silence_threshold=2.0, **settings
            )
        list(segments)
        return float(info.duration)

    def pipeline(path: Path, voice: str | None, segmentation: bool = True) -> float:
        if voice:
            _use_voice(transcriber, voice, None, segmentation)
        opts = replace(options, diarise=voice is not None)
        return transcribe_file(path, opts, transcriber=transcriber).duration

    runs: list[tuple[str, Any]] = [("faster-whisper", lambda p: plain(p))]
    runs.append(("carenotes, no speakers", lambda p: pipeline(p, None)))
    for v in voices:
        runs.append(
            (f"carenotes, {v}, no speech segmentation", lambda p, v=v: pipeline(p, v, False))
        )
        runs.append((f"carenotes, {v}", lambda p, v=v: pipeline(p, v)))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        visit = make_visit(Path(tmp) / "visit.flac")
        for label, run in runs:
            run(DATA / "jfk.flac")  # warm-up, loads the voice model
            started, cpu = time.perf_counter(), time.process_time()
            duration = run(visit)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            rows.append({"run": label, "rtf": elapsed / duration, "cpu": cpu / duration})
    rows += _speaker_step_cost(visit_parts(), voices)
    return rows


def visit_parts() -> list[Path]:
    """The recordings benchmarks/transcribe.py joins into its 3.7-minute visit."""
    from benchmarks.transcribe import VISIT_PARTS

    return [DATA / name for name in VISIT_PARTS]


def _speaker_step_cost(paths: list[Path], voices: list[str]) -> list[dict]:
    """CPU time of the voice embeddings alone, one thread, per second of audio.

    On a busy machine the wall clock and the CPU time of two threads both swell
    (threads wait for each other and spin); one thread's CPU time barely moves.
    """
    import torch

    from transcribe import load_transcriber
    from transcribe.audio import iter_chunks
    from transcribe.diarise import DiarisationOptions, SpeakerEmbedder

    transcriber = load_transcriber()
    pieces = []
    for path in paths:
        samples = next(iter_chunks(path, 600)).samples
        regions = [(s["start"], s["end"]) for s in transcriber._speech(samples)]
        pieces.append((samples, regions))
    audio_s = sum(len(samples) for samples, _ in pieces) / 16000
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    rows = []
    try:
        for voice in voices:
            embedder = SpeakerEmbedder("cpu", DiarisationOptions(voice_model=voice))
            embedder.add(pieces[0][0], 0.0, pieces[0][1])  # warm-up
            cpu = time.process_time()
            for samples, regions in pieces:
                embedder.add(samples, 0.0, regions)
            rows.append(
                {
                    "run": f"speaker step alone, {voice}, 1 thread",
                    "rtf": float("nan"),
                    "cpu": (time.process_time() - cpu) / audio_s,
                }
            )
        rows.append(_segmentation_cost(pieces, audio_s))
    finally:
        torch.set_num_threads(threads)
    return rows


def _segmentation_cost(pieces: list[tuple[Any, Any]], audio_s: float) -> dict:
    """CPU time of the speech segmentation alone per audio second (called on one thread)."""
    from transcribe.diarise import DiarisationOptions
    from transcribe.segmentation import SpeechSegmenter

    segmenter = SpeechSegmenter("cpu", DiarisationOptions().segmentation_step_s)
    segmenter.add(pieces[0][0], 0.0)  # warm-up
    cpu = time.process_time()
    for samples, _ in pieces:
        segmenter.add(samples, 0.0)
    return {
        "run": f"speech segmentation alone, {segmenter.step_s:g} s step, 1 thread",
        "rtf": float("nan"),
        "cpu": (time.process_time() - cpu) / audio_s,
    }


def main() -> None:
    """Print Markdown tables of the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="base")
    parser.add_argument("--batch", type=int, default=0, help="batch size, 0 for sequential")
    parser.add_argument("--voices", default="campplus,resemblyzer", help="comma-separated")
    parser.add_argument("--window", type=float, default=None, help="embedding window, s")
    parser.add_argument("--speed", action="store_true", help="also time against faster-whisper")
    parser.add_argument("--no-der", dest="der", action="store_false", help="skip the DER table")
    args = parser.parse_args()
    voices = [v.strip() for v in args.voices.split(",") if v.strip()]
    if args.der:
        rows = measure(args.model, args.batch, voices, args.window)
        print("| voice model | file | DER (0.25 s collar) | DER (strict) | "
              "turns DER (0.25 s collar) | turns DER (strict) | split sentences | "
              "speakers | check-speaker segments | RTF |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            turns = (
                f"{100 * r['turns_der']:.1f} % | {100 * r['turns_strict_der']:.1f} %"
                if r["timeline"]
                else "— | —"  # no segmentation model: the words' turns only
            )
            print(
                f"| {r['voice']} | {r['file']} | {100 * r['der']:.1f} % | "
                f"{100 * r['strict_der']:.1f} % | {turns} | {r['split']} | {r['speakers']} | "
                f"{r['flagged']} of {r['segments']} | {r['rtf']:.3f} |"
            )
    if args.speed:
        rows = measure_speed(args.model, args.batch, voices)
        plain = rows[0]
        print("\n| run | RTF (wall) | CPU s per audio s | ratio (wall) | ratio (CPU) |")
        print("|---|---|---|---|---|")
        for r in rows:
            timed = r["rtf"] == r["rtf"]  # not NaN: the speaker step alone has no wall time
            wall = f"{r['rtf']:.3f}" if timed else "—"
            ratio = f"{r['rtf'] / plain['rtf']:.2f}×" if timed else "—"
            print(
                f"| {r['run']} | {wall} | {r['cpu']:.3f} | {ratio} | "
                f"{r['cpu'] / plain['cpu']:.2f}× |"
            )


if __name__ == "__main__":
    main()
