"""``carenotes draft`` and ``carenotes eval notes``: drafting and its evaluation harness."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from policies.errors import BadInput

__all__ = ["add_commands"]


def add_commands(subparsers: Any) -> None:
    """Register the drafting subcommands on the ``carenotes`` parser."""
    draft = subparsers.add_parser(
        "draft",
        help="draft a case note from a transcript",
        description="Draft a cited case note from a transcript JSON file (from "
        "'carenotes transcribe', or a JSON object with a \"turns\" list).",
    )
    draft.add_argument("transcript", help="transcript JSON file")
    draft.add_argument("--template", required=True, help="template name, e.g. home-visit")
    draft.add_argument("--model", help="local model folder or .gguf file (default: packaged)")
    draft.add_argument("--format", choices=("markdown", "json"), default="markdown")
    draft.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    draft.add_argument(
        "--mode",
        choices=("write", "extractive"),
        default="write",
        help="write: the model writes the note, every sentence checked (default); "
        "extractive: chosen sentences in reported speech, for the smallest machines",
    )
    draft.set_defaults(func=_draft)

    evaluate = subparsers.add_parser(
        "eval",
        help="evaluate drafting on conversations with reference notes",
        description="Evaluate drafting: 'carenotes eval notes DATASET.jsonl'.",
    )
    evaluate.add_argument(
        "what",
        choices=("notes", "social"),
        help="notes: ROUGE against reference notes (a JSON-lines file); social: key facts, "
        "flags and actions of scripted social-care conversations (JSON files or folders)",
    )
    evaluate.add_argument("dataset", nargs="+", help="the data set file(s) or folder(s)")
    evaluate.add_argument(
        "--mode", choices=("write", "extractive"), default="write", help="drafting mode"
    )
    evaluate.add_argument("--template", default="clinical-soap", help="template name")
    evaluate.add_argument("--model", help="local model folder or .gguf file (default: packaged)")
    evaluate.add_argument("--limit", type=int, help="score only the first N items")
    evaluate.add_argument("--out", help="write the drafts here as JSON lines {id, note}")
    evaluate.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    evaluate.set_defaults(func=_eval)


def _template(name: str) -> Any:
    from policies.templates import load_templates

    templates = load_templates()
    if name not in templates:
        raise BadInput(
            f"template '{name}' not found; choose one of: {', '.join(sorted(templates))}."
        )
    return templates[name]


def _read_transcript(path: Path) -> Any:
    from summarise.turns import transcript_from_turns
    from transcribe.types import Transcript

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BadInput(f"{path}: file not found.") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"{path}: not a readable JSON transcript ({exc}).") from exc
    if isinstance(data, dict) and isinstance(data.get("turns"), list):
        return transcript_from_turns(data["turns"], source=path.name)
    try:
        return Transcript.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise BadInput(
            f"{path}: not a transcript (missing or wrong field {exc}); give the JSON "
            "written by 'carenotes transcribe' or an object with a \"turns\" list."
        ) from exc


def _draft(args: argparse.Namespace) -> int:
    from summarise.draft import DraftOptions, draft_note
    from summarise.model import load_drafter
    from summarise.render import render_markdown

    template = _template(args.template)
    path = Path(args.transcript)
    transcript = _read_transcript(path)
    drafter = load_drafter(args.model, device=args.device)
    draft = draft_note(
        transcript,
        template,
        drafter,
        options=DraftOptions(mode=args.mode, device=args.device),
        participants=_participants(path),
    )
    if args.format == "json":
        print(json.dumps(draft.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(render_markdown(draft), end="")
    return 0


def _participants(path: Path) -> list[dict[str, str]]:
    """The participants listed in a turns file, if it lists them."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    listed = data.get("participants") if isinstance(data, dict) else None
    if not isinstance(listed, list):
        return []
    return [p for p in listed if isinstance(p, dict)]


def _eval_social(args: argparse.Namespace) -> int:
    from policies.templates import load_templates
    from summarise.draft import DraftOptions
    from summarise.model import load_drafter
    from summarise.social_eval import SocialScore, evaluate_social, read_scripts

    scripts = read_scripts(args.dataset)[: args.limit]
    drafter = load_drafter(args.model, device=args.device)
    out = open(args.out, "w", encoding="utf-8") if args.out else None  # noqa: SIM115
    print(f"{'id':<28} {'facts':>6} {'flags':>6} {'acts':>6} {'dated':>6} {'flagd':>6} "
          f"{'unsup':>6} {'inv':>4} {'s':>6}")  # fmt: skip

    def show(s: SocialScore) -> None:
        print(f"{s.id:<28} {s.key_facts:6.0%} {s.must_flag:6.0%} {s.actions:6.0%} "
              f"{s.actions_dated:6.0%} {s.flagged:6.0%} {s.unsupported:6.0%} "
              f"{len(s.invented):4d} {s.seconds:6.1f}", flush=True)  # fmt: skip
        shortfalls = (
            ("missed facts", s.missed_facts),
            ("not flagged", s.missed_flags),
            ("missed actions", s.missed_actions),
            ("invented", s.invented),
        )
        for label, missed in shortfalls:
            if missed:
                print(f"    {label}: {'; '.join(missed)}")
        if out:
            out.write(json.dumps({"id": s.id, "note": s.note}, ensure_ascii=False) + "\n")
            out.flush()

    try:
        scores, peak = evaluate_social(
            scripts, load_templates(), drafter,
            options=DraftOptions(mode=args.mode, device=args.device), on_item=show,
        )  # fmt: skip
    finally:
        if out:
            out.close()

    def mean(attr: str) -> float:
        return sum(getattr(s, attr) for s in scores) / len(scores)

    invented = sum(len(s.invented) for s in scores)
    print(f"{'mean (' + str(len(scores)) + ' scripts)':<28} {mean('key_facts'):6.1%} "
          f"{mean('must_flag'):6.1%} {mean('actions'):6.1%} {mean('actions_dated'):6.1%} "
          f"{mean('flagged'):6.1%} {mean('unsupported'):6.1%} {invented:4d} "
          f"{mean('seconds'):6.1f}")  # fmt: skip
    print(f"model {drafter.name}, mode {args.mode}; peak memory {peak:.0f} MiB")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from summarise.draft import DraftOptions
    from summarise.evaluate import EvalItem, evaluate_notes
    from summarise.model import load_drafter

    if args.limit is not None and args.limit < 1:
        raise BadInput("--limit must be at least 1.")
    if args.what == "social":
        return _eval_social(args)
    if len(args.dataset) != 1:
        raise BadInput("'eval notes' takes one JSON-lines file.")
    args.dataset = args.dataset[0]
    template = _template(args.template)
    drafter = load_drafter(args.model, device=args.device)
    out = open(args.out, "w", encoding="utf-8") if args.out else None  # noqa: SIM115
    print(f"{'id':<24} {'R-1':>6} {'R-2':>6} {'R-Lsum':>6} {'unsup':>6} {'cited':>6} {'s':>6}")

    def show(item: EvalItem) -> None:
        print(
            f"{item.id:<24} {item.rouge1:6.2f} {item.rouge2:6.2f} {item.rougelsum:6.2f} "
            f"{item.unsupported:6.1%} {item.cited:6.1%} {item.seconds:6.1f}",
            flush=True,
        )
        if out:
            out.write(json.dumps({"id": item.id, "note": item.note}, ensure_ascii=False) + "\n")
            out.flush()

    try:
        result = evaluate_notes(
            args.dataset,
            template,
            drafter,
            limit=args.limit,
            on_item=show,
            options=DraftOptions(mode=args.mode, device=args.device),
        )
    finally:
        if out:
            out.close()
    m = result.means
    if not m:
        print("no items scored", file=sys.stderr)
        return 1
    print(
        f"{'mean (' + str(len(result.items)) + ' items)':<24} {m['rouge1']:6.2f} "
        f"{m['rouge2']:6.2f} {m['rougelsum']:6.2f} {m['unsupported']:6.1%} "
        f"{m['cited']:6.1%} {m['seconds']:6.1f}"
    )
    calls = sum(i.model_calls for i in result.items)
    accepted = sum(i.model_accepted for i in result.items)
    print(
        f"model rewrites accepted: {accepted} of {calls} calls "
        f"({accepted / calls if calls else 0:.0%}); the rest of the statements are extractive"
    )
    print(f"model {drafter.name} (sha256 {drafter.sha256[:12]}), template {template.name} "
          f"v{template.version}; peak memory {result.peak_memory_mb:.0f} MiB")  # fmt: skip
    return 0
