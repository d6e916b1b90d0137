"""A separate worker process for the kill -9 test: runs one job with a slow fake transcriber.

Usage: python worker_process.py DATABASE_URL STORAGE_DIR INSTANCE_DIR WORKER_ID
(the master key and secret key come from the environment).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from transcribe.types import Segment, Transcript


class SlowTranscriber:
    """Reports progress for a long time, as a real model on a long recording would."""

    def transcribe(self, path, options, progress=None):
        assert Path(path).exists()
        for step in range(600):
            if progress:
                progress(step / 600)
            time.sleep(0.1)
        segment = Segment(id=0, start=0.0, end=1.0, text="Never reached.", speaker="SPEAKER_1")
        return Transcript(segments=(segment,), language="en", duration=1.0, model="slow")


class JunkDrafter:
    name = "junk"
    sha256 = "0" * 64

    def generate(self, messages, max_new_tokens=128):
        return "junk"


def main() -> int:
    from webapp import create_app
    from webapp.pipeline import run_one_job

    database_url, storage, instance, worker_id = sys.argv[1:5]
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "STORAGE_DIR": storage,
            "INSTANCE_PATH": instance,
            "TRANSCRIBER": SlowTranscriber(),
            "DRAFTER": JunkDrafter(),
            "RUN_WORKER": False,
            "JOB_LEASE_SECONDS": 2,
        }
    )
    run_one_job(app.extensions["carenotes"], worker_id)
    return 0


if __name__ == "__main__":
    sys.exit(main())
