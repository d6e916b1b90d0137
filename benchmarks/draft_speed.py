"""Drafting speed with the packaged model: prompt-lookup decoding on and off, side by side.

Drafts scripted social-care conversations (perfect turns) in the writing mode with
llama.cpp, once with each setting of prompt-lookup decoding, alternating script by
script so that both settings see the same load on the machine. Prints, per setting, the
seconds and the words said per second, and whether the two drafts are the same text.

    .venv/bin/python benchmarks/draft_speed.py benchmarks/social/dev/social-home-01.json \\
        --lookup 0 10
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from policies import load_templates  # noqa: E402
from summarise import DraftOptions, draft_note, load_embedder, transcript_from_turns  # noqa: E402
from summarise.model import LlamaCppDrafter, file_sha256  # noqa: E402
from summarise.packaged import DEFAULT_LANGUAGE_MODEL, prepare_language_model  # noqa: E402
from summarise.render import render_text  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scripts", nargs="+", type=Path)
    parser.add_argument("--lookup", nargs="+", type=int, default=[0, 10])
    parser.add_argument("--model", default=DEFAULT_LANGUAGE_MODEL)
    args = parser.parse_args()
    path = prepare_language_model(args.model)
    sha = file_sha256(path)
    drafters = {n: LlamaCppDrafter(path, sha, lookup=n) for n in args.lookup}
    embedder = load_embedder("cpu")
    templates = load_templates()
    totals = {n: 0.0 for n in args.lookup}
    words = 0
    for script_path in args.scripts:
        script = json.loads(script_path.read_text(encoding="utf-8"))
        transcript = transcript_from_turns(script["turns"], source=script["id"])
        said = sum(len(t["text"].split()) for t in script["turns"])
        words += said
        texts = {}
        for n, drafter in drafters.items():
            started = time.perf_counter()
            draft = draft_note(transcript, templates[script["template"]], drafter,
                               embedder=embedder, participants=script.get("participants"),
                               options=DraftOptions())  # fmt: skip
            seconds = time.perf_counter() - started
            totals[n] += seconds
            texts[n] = render_text(draft)
            print(f"{script['id']}: {said} words, lookup {n}: {seconds:.1f} s", flush=True)
        same = len(set(texts.values())) == 1
        print(f"{script['id']}: drafts {'identical' if same else 'differ'}", flush=True)
    for n, seconds in totals.items():
        print(f"lookup {n}: {seconds:.1f} s for {words} words, {words / seconds:.1f} words/s; "
              f"a 9,000-word visit ≈ {9000 / (words / seconds) / 60:.1f} min")  # fmt: skip


if __name__ == "__main__":
    main()
