"""Time drafting a 20-minute conversation with the packaged models.

Builds a conversation of about 3,000 words (20 minutes at an ordinary speaking rate)
by joining real ACI-Bench dialogues from tests/data, loads the packaged language and
embedding models, and drafts it with the clinical-soap template. Prints the load
times, drafting time, rewrite acceptance and peak memory.

    .venv/bin/python benchmarks/draft.py [--words 3000] [--template clinical-soap]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from policies import load_templates  # noqa: E402
from summarise import draft_note, load_drafter, load_embedder, transcript_from_turns  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=3000)
    parser.add_argument("--template", default="clinical-soap")
    parser.add_argument("--model", help="local model folder or .gguf file")
    args = parser.parse_args()
    lines = (ROOT / "tests/data/aci_valid.jsonl").read_text(encoding="utf-8").splitlines()
    turns: list[dict[str, str]] = []
    for line in lines:
        if sum(len(t["text"].split()) for t in turns) >= args.words:
            break
        turns.extend(json.loads(line)["turns"])
    transcript = transcript_from_turns(turns)
    words = sum(len(s.text.split()) for s in transcript.segments)
    started = time.perf_counter()
    embedder = load_embedder()
    drafter = load_drafter(args.model)
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    draft = draft_note(transcript, load_templates()[args.template], drafter, embedder=embedder)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    entries = [e for s in draft.sections for e in (*s.statements, *s.actions)]
    print(f"conversation: {words} words, {transcript.duration / 60:.1f} min at 2.5 words/s")
    print(f"models loaded in {loaded:.1f} s ({drafter.name} on {drafter.device})")
    print(
        f"drafted in {seconds:.1f} s: {len(entries)} statements and actions, "
        f"{draft.model_accepted} of {draft.model_calls} model rewrites accepted"
    )
    print(f"peak memory {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
