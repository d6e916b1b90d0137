"""Durable background jobs: transcribe a recording, then draft its note.

Each recording goes through two jobs, each of its own ``kind`` so that a council can
run them on different machines (Whisper on a GPU server, drafting on CPU workers).
The package is in five parts, each importing only those before it:

* :mod:`~webapp.pipeline.queue`: the kinds of job, queueing one, a recording's status;
* :mod:`~webapp.pipeline.dispatch`: sending a queued job to its Celery queue, and the
  sweep that sends lost ones again;
* :mod:`~webapp.pipeline.lease`: claiming a job, holding it while it runs, ending it;
* :mod:`~webapp.pipeline.steps`: the stages themselves (transcribe, draft) and how
  each stores its result;
* :mod:`~webapp.pipeline.runner`: running one job, and the loop a worker runs.
"""

from webapp.pipeline.dispatch import RUN_JOB_TASK, celery_config, celery_for, dispatch, sweep
from webapp.pipeline.lease import LeaseLost
from webapp.pipeline.queue import (
    DRAFT,
    KINDS,
    TRANSCRIBE,
    JobStatus,
    enqueue,
    job_status,
    queue_for,
)
from webapp.pipeline.runner import run_jobs, run_one_job
from webapp.pipeline.steps import lone_speaker_as_participant, speaker_options

__all__ = [
    "DRAFT",
    "KINDS",
    "RUN_JOB_TASK",
    "TRANSCRIBE",
    "JobStatus",
    "LeaseLost",
    "celery_config",
    "celery_for",
    "dispatch",
    "enqueue",
    "job_status",
    "lone_speaker_as_participant",
    "queue_for",
    "run_jobs",
    "run_one_job",
    "speaker_options",
    "sweep",
]
