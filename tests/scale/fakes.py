"""Stand-in models for the worker-process tests (the real models are tested elsewhere).

The Celery workers load them through ``CARENOTES_MODEL_FACTORY=tests.scale.fakes:models``.
The fake transcriber opens the decrypted recording it is given (so a wrong or
unreadable file fails), waits ``CARENOTES_FAKE_SECONDS`` while reporting progress, and
writes one line per finished transcription to ``CARENOTES_FAKE_LOG/<pid>.log``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from transcribe.types import Segment, Transcript


class LoggingTranscriber:
    """A Transcriber that checks its input is real audio and logs each run."""

    def __init__(self, seconds: float, log_dir: Path) -> None:
        self.seconds = seconds
        self.log_dir = log_dir

    def transcribe(self, path: str, options: Any, progress: Any = None) -> Transcript:
        import transcribe

        info = transcribe.probe_audio(Path(path))  # raises on anything but audio
        steps = 20
        for step in range(steps + 1):
            if progress:
                progress(step / steps)
            time.sleep(self.seconds / steps)
        duration = info.duration or 0.0
        with (self.log_dir / f"{os.getpid()}.log").open("a") as log:
            # Which folder the plaintext was in, and the recording's length.
            log.write(f"{Path(path).parent.parent.name} {duration:.2f}\n")
        segment = Segment(
            id=0,
            start=0.0,
            end=min(5.0, duration),
            text="We talked about shopping.",
            speaker="SPEAKER_1",
        )
        return Transcript(
            segments=(segment,),
            language="en",
            duration=duration,
            model="fake",
            speakers=("SPEAKER_1",),
            source="",
        )


class JunkDrafter:
    """A NoteDrafter whose answers are junk, so drafting falls back to cited extracts."""

    name = "junk-drafter"
    sha256 = "0" * 64

    def generate(self, messages: list[dict[str, str]], max_new_tokens: int = 128) -> str:
        return "junk"


def models() -> dict[str, Any]:
    """App config overrides for a worker process; also marks the process as ready."""
    log_dir = Path(os.environ["CARENOTES_FAKE_LOG"])
    (log_dir / f"ready-{os.getpid()}").touch()
    return {
        "TRANSCRIBER": LoggingTranscriber(
            float(os.environ.get("CARENOTES_FAKE_SECONDS", "1")), log_dir
        ),
        "DRAFTER": JunkDrafter(),
    }
