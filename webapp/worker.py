"""The in-process background worker: runs queued jobs, and the retention rules hourly."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from typing import Any

from webapp.context import Services
from webapp.jobs import run_one_job
from webapp.services.retention import apply_retention

__all__ = ["Worker", "start_worker"]

logger = logging.getLogger(__name__)

_RETENTION_EVERY_S = 3600.0


class Worker:
    """A background thread that runs jobs until stopped."""

    def __init__(self, svc: Services, poll_seconds: float) -> None:
        self.svc = svc
        self.poll_seconds = poll_seconds
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:embedded"
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="carenotes-worker", daemon=True)

    def _run(self) -> None:
        next_retention = time.monotonic()
        while not self._stop.is_set():
            if time.monotonic() >= next_retention:
                next_retention = time.monotonic() + _RETENTION_EVERY_S
                try:
                    apply_retention(self.svc)
                    # Another process on this store may have died holding a decrypted copy.
                    self.svc.vault.store.remove_stale_temp()
                except Exception:
                    logger.exception("retention run failed; it will be tried again")
            try:
                ran = run_one_job(self.svc, self.worker_id)
            except Exception:  # the database may be briefly unavailable
                logger.exception("worker loop error")
                ran = None
            if ran is None:
                self._stop.wait(self.poll_seconds)

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
