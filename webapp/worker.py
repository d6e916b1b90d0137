"""The in-process background worker: runs queued jobs, and the retention rules hourly."""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Any

from webapp.context import Services
from webapp.pipeline import run_jobs
from webapp.services.retention import RetentionSchedule

__all__ = ["Worker", "start_worker"]

logger = logging.getLogger(__name__)


class Worker:
    """A background thread that runs jobs until stopped."""

    def __init__(self, svc: Services, poll_seconds: float) -> None:
        self.svc = svc
        self.poll_seconds = poll_seconds
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:embedded"
        self._stop = threading.Event()
        # Another process on this store may have died holding a decrypted copy.
        self._retention = RetentionSchedule(svc, remove_stale_temp=True)
        self.thread = threading.Thread(target=self._run, name="carenotes-worker", daemon=True)

    def _run(self) -> None:
        run_jobs(
            self.svc,
            self.worker_id,
            stop=self._stop,
            poll_seconds=self.poll_seconds,
            each_round=self._retention,
        )

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to stop after its current job, and wait a little."""
        self._stop.set()
        self.thread.join(timeout)


def start_worker(app: Any) -> Worker:
    """Start the in-process worker for ``app`` and return it."""
    worker = Worker(
        app.extensions["carenotes"], app.extensions["carenotes"].settings.worker_poll_seconds
    )
    worker.thread.start()
    return worker
