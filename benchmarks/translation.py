"""What translating a visit in another language costs: transcribing alone against
transcribing and translating, with the packaged Whisper base model.

Runs ``tests/data/spanish_visit.wav`` (8.7 s of Spanish) several times each way, in
order (sequential) and batched (batch size 8, as the web app's jobs decode), without
speaker labels, after a warm-up, and prints the median wall-clock and CPU seconds (all
threads) and the English each way gives. Results are written down in
``docs/benchmarks.md``.

    .venv/bin/python benchmarks/translation.py [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This folder holds a transcribe.py of its own: the package must come first.
sys.path.insert(0, str(ROOT))
RECORDING = ROOT / "tests" / "data" / "spanish_visit.wav"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (3)")
    args = parser.parse_args()
    from transcribe import TranscribeOptions, load_transcriber, transcribe_file

    transcriber = load_transcriber(TranscribeOptions(model="base"))
    print(f"{'decoding':<12} {'task':<24} {'wall s':>7} {'CPU s':>7}  English")
    for batch in (0, 8):
        for translate in (False, True):
            options = TranscribeOptions(
                language="es", translate=translate, diarise=False, batch_size=batch
            )
            transcribe_file(RECORDING, options, transcriber=transcriber)  # warm-up
            walls, cpus = [], []
            for _ in range(args.repeat):
                wall, cpu = time.perf_counter(), time.process_time()
                transcript = transcribe_file(RECORDING, options, transcriber=transcriber)
                walls.append(time.perf_counter() - wall)
                cpus.append(time.process_time() - cpu)
            english = " ".join(s.text for s in transcript.translation or ())
            print(
                f"{'batched (8)' if batch else 'sequential':<12} "
                f"{'transcribe + translate' if translate else 'transcribe':<24} "
                f"{statistics.median(walls):>7.1f} {statistics.median(cpus):>7.1f}  {english}"
            )


if __name__ == "__main__":
    main()
