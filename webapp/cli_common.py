"""What the web app's commands share: the ``--data`` option and building the app."""

from __future__ import annotations

import argparse
from typing import Any

from webapp import create_app

__all__ = ["add_data_option", "app_for"]


def add_data_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--data DIR`` (the data folder) to a command's parser."""
    parser.add_argument(
        "--data",
        metavar="DIR",
        help="the data folder (database and recordings); default CARENOTES_DATA_DIR, "
        "else instance/ beside the code",
    )


def app_for(data: str | None = None, run_worker: bool = False) -> Any:
    """The app on the data folder ``data`` (the settings' by default), for one command."""
    config: dict[str, Any] = {"RUN_WORKER": run_worker}
    if data:
        config["DATA_DIR"] = data
    return create_app(config)
