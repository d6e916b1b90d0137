"""Speaker-label benchmark: strict and collared DER and sentences split across speakers.

Transcribes two_speakers_sample and the two AMI excerpts (tests/data) with the
carenotes pipeline, speaker count estimated, and scores the speaker labels:

- DER with a 0.25 s collar around reference boundaries (as in benchmarks/transcribe.py),
- strict DER: 10 ms frames, no collar, overlapping speech scored,
- sentences split across speakers: sentences (by Whisper's words and punctuation)
  whose words were given to more than one speaker,
- the real-time factor of each file (wall clock, model already loaded).

Usage: .venv/bin/python benchmarks/speakers.py [--model base] [--batch 0]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
sys.path.insert(0, str(ROOT))

DER_FILES = {
    "two_speakers_sample": "two_speakers_sample.rttm",
    "ami_dev00": "ami_dev.rttm",
    "ami_dev01": "ami_dev.rttm",
}


def measure(model: str, batch: int) -> list[dict[str, object]]:
    """Transcribe and score each recording that has a reference.

    Args:
        model: Whisper model name.
        batch: Batch size, 0 for sequential decoding.

    Returns:
        One row per recording.
    """
    from transcribe import (
        TranscribeOptions,
        diarisation_error_rate,
        load_transcriber,
        read_rttm,
        sentences_split_across_speakers,
        transcribe_file,
        transcript_turns,
    )

    options = TranscribeOptions(model=model, batch_size=batch)
    transcriber = load_transcriber(options)
    transcribe_file(DATA / "jfk.flac", options, transcriber=transcriber)  # warm-up
    rows = []
    for name, rttm in DER_FILES.items():
        started = time.perf_counter()
        transcript = transcribe_file(DATA / f"{name}.wav", options, transcriber=transcriber)
        elapsed = time.perf_counter() - started
        reference = read_rttm(DATA / rttm, name)
        hypothesis = transcript_turns(transcript)
        rows.append(
            {
                "file": name,
                "der": diarisation_error_rate(reference, hypothesis),
                "strict_der": diarisation_error_rate(reference, hypothesis, collar=0.0),
                "split": sentences_split_across_speakers(transcript),
                "speakers": len(transcript.speakers),
                "flagged": sum("check-speaker" in s.flags for s in transcript.segments),
                "segments": len(transcript.segments),
                "rtf": elapsed / transcript.duration,
            }
        )
    return rows


def main() -> None:
    """Print a Markdown table of the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="base")
    parser.add_argument("--batch", type=int, default=0, help="batch size, 0 for sequential")
    args = parser.parse_args()
    rows = measure(args.model, args.batch)
    print("| file | DER (0.25 s collar) | DER (strict) | split sentences | speakers | "
          "check-speaker segments | RTF |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['file']} | {100 * float(r['der']):.1f} % | "  # type: ignore[arg-type]
            f"{100 * float(r['strict_der']):.1f} % | {r['split']} | {r['speakers']} | "  # type: ignore[arg-type]
            f"{r['flagged']} of {r['segments']} | {float(r['rtf']):.3f} |"  # type: ignore[arg-type]
        )


if __name__ == "__main__":
    main()
