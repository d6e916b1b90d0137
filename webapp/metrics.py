"""Prometheus text-format metrics, read from the database so every node agrees.

The job table is the source of truth for queue depth, durations and failures, so the
figures are the same whichever web node is scraped and survive restarts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from webapp import db
from webapp.pipeline import KINDS

__all__ = ["DURATION_BUCKETS", "JOB_STATES", "render_metrics"]

#: Every state a job can be in (each is reported, zero when empty).
JOB_STATES = ("queued", "running", "done", "failed")

#: Upper bounds (seconds) of the job duration histogram.
DURATION_BUCKETS = (30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0)

_WINDOW = timedelta(hours=24)


def _line(name: str, value: float, labels: dict[str, str] | None = None) -> str:
    if labels:
        inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
        return f"{name}{{{inner}}} {value:g}"
    return f"{name} {value:g}"


def _oldest_queued_lines(oldest_queued: dict[str, Any]) -> list[str]:
    """The gauge of how long each kind's oldest queued job has waited."""
    now = db.utcnow()
    out = [
        "# HELP carenotes_oldest_queued_job_age_seconds How long the oldest queued job has waited.",
        "# TYPE carenotes_oldest_queued_job_age_seconds gauge",
    ]
    for kind in KINDS:
        oldest = oldest_queued.get(kind)
        wait = (now - db.as_utc(oldest)).total_seconds() if oldest else 0.0
        out.append(_line("carenotes_oldest_queued_job_age_seconds", round(wait, 3), {"kind": kind}))
    return out


def _duration_lines(finished: Sequence[Any]) -> list[str]:
    """The histogram of start-to-finish times of the jobs ``(kind, started, finished)``."""
    out = [
        "# HELP carenotes_job_duration_seconds Start-to-finish time of jobs done in the last 24 h.",
        "# TYPE carenotes_job_duration_seconds histogram",
    ]
    for kind in KINDS:
        durations = sorted(
            (db.as_utc(end) - db.as_utc(start)).total_seconds()  # type: ignore[operator]
            for k, start, end in finished
            if k == kind
        )
        for bound in DURATION_BUCKETS:
            count = sum(1 for d in durations if d <= bound)
            labels = {"kind": kind, "le": f"{bound:g}"}
            out.append(_line("carenotes_job_duration_seconds_bucket", count, labels))
        labels = {"kind": kind, "le": "+Inf"}
        out.append(_line("carenotes_job_duration_seconds_bucket", len(durations), labels))
        out.append(
            _line("carenotes_job_duration_seconds_sum", round(sum(durations), 3), {"kind": kind})
        )
        out.append(_line("carenotes_job_duration_seconds_count", len(durations), {"kind": kind}))
    return out


def render_metrics(engine: sa.Engine) -> str:
    """Return the metrics page (Prometheus text exposition format 0.0.4).

    Args:
        engine: The database engine.

    Returns:
        The text, ending with a newline.
    """
    jobs = db.jobs.c
    since = db.utcnow() - _WINDOW
    with engine.connect() as conn:
        by_state = {
            (kind, state): count
            for kind, state, count in conn.execute(
                sa.select(jobs.kind, jobs.state, sa.func.count()).group_by(jobs.kind, jobs.state)
            ).all()
        }
        attempts = dict(
            conn.execute(
                sa.select(jobs.kind, sa.func.coalesce(sa.func.sum(jobs.attempts), 0)).group_by(
                    jobs.kind
                )
            ).all()
        )
        finished = conn.execute(
            sa.select(jobs.kind, jobs.started_at, jobs.finished_at).where(
                jobs.state == "done", jobs.finished_at >= since, jobs.started_at.is_not(None)
            )
        ).all()
        failed_recent = dict(
            conn.execute(
                sa.select(jobs.kind, sa.func.count())
                .where(jobs.state == "failed", jobs.finished_at >= since)
                .group_by(jobs.kind)
            ).all()
        )
        oldest_queued = dict(
            conn.execute(
                sa.select(jobs.kind, sa.func.min(jobs.created_at))
                .where(jobs.state == "queued")
                .group_by(jobs.kind)
            ).all()
        )
        conn.rollback()
    out = [
        "# HELP carenotes_jobs Jobs in the database, by kind (transcribe, draft) and state.",
        "# TYPE carenotes_jobs gauge",
    ]
    out += [
        _line("carenotes_jobs", by_state.get((k, s), 0), {"kind": k, "state": s})
        for k in KINDS
        for s in JOB_STATES
    ]
    out += [
        "# HELP carenotes_jobs_failed_total Jobs that ended failed (all time, as kept).",
        "# TYPE carenotes_jobs_failed_total counter",
    ]
    out += [
        _line("carenotes_jobs_failed_total", by_state.get((k, "failed"), 0), {"kind": k})
        for k in KINDS
    ]
    out += [
        "# HELP carenotes_jobs_failed_24h Jobs that ended failed in the last 24 hours.",
        "# TYPE carenotes_jobs_failed_24h gauge",
    ]
    out += [_line("carenotes_jobs_failed_24h", failed_recent.get(k, 0), {"kind": k}) for k in KINDS]
    out += [
        "# HELP carenotes_job_attempts_total Worker starts over all jobs (restarts show here).",
        "# TYPE carenotes_job_attempts_total counter",
    ]
    out += [_line("carenotes_job_attempts_total", attempts.get(k, 0), {"kind": k}) for k in KINDS]
    out += _oldest_queued_lines(oldest_queued)
    out += _duration_lines(finished)
    return "\n".join(out) + "\n"
