"""Time drafting a long conversation with the packaged models.

Builds a conversation of a chosen length by joining real ACI-Bench dialogues from
tests/data (``--template clinical-soap``, the default) or the scripted social-care
visits in benchmarks/social (``--social``: the turns of the worker and the person in the
home-visit, Care Act and carer's scripts joined in order, as one worker and one person;
they hold about 7,000 words, 47 minutes of talk). Loads the packaged language and
embedding models and drafts it. Prints the load times, drafting time, where the time
went (the model writing, the model's risk question, everything else), the model's
acceptance and peak memory.

    .venv/bin/python benchmarks/draft.py [--words 3000] [--template clinical-soap]
    .venv/bin/python benchmarks/draft.py --social --words 9000   # all of them
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from policies import load_templates  # noqa: E402
from summarise import draft_note, load_drafter, load_embedder, transcript_from_turns  # noqa: E402


class Timed:
    """A drafter that counts the calls made to it and the seconds they took."""

    def __init__(self, drafter: Any):
        self._drafter = drafter
        self.name, self.device = drafter.name, drafter.device
        self.sha256 = getattr(drafter, "sha256", "")
        self.seconds = {"writing": 0.0, "risk question": 0.0}
        self.calls = {"writing": 0, "risk question": 0}

    def _count(self, kind: str, started: float) -> None:
        self.seconds[kind] += time.perf_counter() - started
        self.calls[kind] += 1

    def generate(self, messages: list[dict[str, str]], max_new_tokens: int = 128) -> str:
        started = time.perf_counter()
        try:
            return str(self._drafter.generate(messages, max_new_tokens=max_new_tokens))
        finally:
            self._count("writing" if max_new_tokens > 3 else "risk question", started)

    def answer_probability(self, messages: list[dict[str, str]], answers: Sequence[str]) -> float:
        started = time.perf_counter()
        try:
            return float(self._drafter.answer_probability(messages, answers))
        finally:
            self._count("risk question", started)


def _aci_turns(words: int) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    lines = (ROOT / "tests/data/aci_valid.jsonl").read_text(encoding="utf-8").splitlines()
    turns: list[dict[str, str]] = []
    for line in lines:
        if sum(len(t["text"].split()) for t in turns) >= words:
            break
        turns.extend(json.loads(line)["turns"])
    return turns, []


def _social_turns(words: int) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    turns: list[dict[str, str]] = []
    participants: list[dict[str, str]] = []
    for path in sorted((ROOT / "benchmarks/social").glob("*/*.json")):
        if sum(len(t["text"].split()) for t in turns) >= words:
            break
        script = json.loads(path.read_text(encoding="utf-8"))
        if script["template"] not in ("home-visit", "care-act-assessment", "carers-conversation"):
            continue
        if not participants:
            participants = [p for p in script["participants"]
                            if p["role"] in ("social worker", "person")]  # fmt: skip
        turns += [t for t in script["turns"] if t["speaker"] in ("social worker", "person")]
    return turns, participants


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--words", type=int, default=3000)
    parser.add_argument("--template", help="default clinical-soap, or home-visit with --social")
    parser.add_argument("--social", action="store_true", help="join the social-care scripts")
    parser.add_argument("--model", help="local model folder or .gguf file")
    args = parser.parse_args()
    turns, participants = (_social_turns if args.social else _aci_turns)(args.words)
    template = args.template or ("home-visit" if args.social else "clinical-soap")
    transcript = transcript_from_turns(turns)
    words = sum(len(s.text.split()) for s in transcript.segments)
    started = time.perf_counter()
    embedder = load_embedder()
    drafter = Timed(load_drafter(args.model))
    loaded = time.perf_counter() - started
    started = time.perf_counter()
    draft = draft_note(transcript, load_templates()[template], drafter,  # type: ignore[arg-type]
                       embedder=embedder, participants=participants)  # fmt: skip
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    entries = [e for s in draft.sections for e in (*s.statements, *s.actions)]
    flagged = sum(1 for e in entries if e.flags)
    print(f"conversation: {words} words in {len(transcript.segments)} turns, "
          f"{transcript.duration / 60:.1f} min at 2.5 words/s, template {template}")  # fmt: skip
    print(f"models loaded in {loaded:.1f} s ({drafter.name} on {drafter.device})")
    print(
        f"drafted in {seconds:.1f} s: {len(entries)} statements and actions ({flagged} flagged), "
        f"{draft.model_accepted} model sentences accepted from {draft.model_calls} calls"
    )
    other = seconds - sum(drafter.seconds.values())
    for kind, spent in drafter.seconds.items():
        print(f"  {kind}: {drafter.calls[kind]} calls, {spent:.1f} s")
    print(f"  everything else: {other:.1f} s")
    print(f"peak memory {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
