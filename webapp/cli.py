"""The ``carenotes`` command: one entry point, subcommands from each package."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from policies.errors import CarenotesError


def build_parser() -> argparse.ArgumentParser:
    """Return the parser with every package's subcommands registered."""
    # Imported here so that `carenotes --help` and a mistyped command answer at once:
    # the packages' commands load Flask, PyAV, NumPy and SciPy.
    from summarise import cli as summarise_cli
    from transcribe import cli as transcribe_cli
    from webapp import commands as webapp_commands

    parser = argparse.ArgumentParser(
        prog="carenotes",
        description="Local transcription and reviewed case-note drafting for social work.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    transcribe_cli.add_commands(sub)
    summarise_cli.add_commands(sub)
    webapp_commands.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except CarenotesError as exc:
        print(f"carenotes: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("carenotes: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
