"""Celery workers in separate processes, on the real PostgreSQL, Redis and RabbitMQ."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.scale.conftest import RABBITMQ_URL, REDIS_URL

RECORDINGS = (
    "jfk.flac",
    "ami_dev00.wav",
    "ami_dev01.wav",
    "two_speakers_sample.wav",
    "stereo_two_speakers.wav",
    "jfk.flac",
)


def _all_finished(rows: list[Any]) -> bool:
    return bool(rows) and all(r.state in ("done", "failed") for r in rows)


def _notes_by_recording(svc: Any) -> dict[str, int]:
    from webapp import db

    with svc.engine.connect() as conn:
        rows = conn.execute(
            sa.select(db.notes.c.recording_id, sa.func.count()).group_by(db.notes.c.recording_id)
        ).all()
    return dict(rows)


def _plaintext_left(cluster: Any) -> list[Path]:
    return list((cluster.storage / "plain").iterdir())


def _pid(worker_id: str) -> int:
    return int(worker_id.split(":")[1])


def test_transcription_and_drafting_workers_drain_their_own_queues_each_job_once(
    make_cluster: Any, pg_url: str, data_dir: Path
) -> None:
    from webapp.pipeline import dispatch

    cluster = make_cluster(pg_url, REDIS_URL)
    # As a council splits it: Whisper on one server's two processes, drafting elsewhere.
    transcribers = set(cluster.start_workers(2, queues="transcribe"))
    drafters = set(cluster.start_workers(1, queues="draft"))
    user = cluster.new_user()
    recording_ids = [cluster.upload(user, data_dir / name) for name in RECORDINGS]
    for row in cluster.jobs():
        for _ in range(2):  # duplicates, as a broker re-delivery or an eager sweep makes
            assert dispatch(cluster.svc, row.id)

    rows = cluster.wait_for_jobs(
        lambda rows: len(rows) == 2 * len(RECORDINGS) and _all_finished(rows),
        timeout=120,
        what="every recording to be transcribed and drafted",
    )

    assert [r.state for r in rows] == ["done"] * len(rows), cluster.logs()
    assert all(r.attempts == 1 for r in rows)
    assert all(r.dispatched_at is not None for r in rows)
    by_kind = {kind: [r for r in rows if r.kind == kind] for kind in ("transcribe", "draft")}
    assert sorted(r.recording_id for r in by_kind["draft"]) == sorted(recording_ids)
    assert {_pid(r.worker_id) for r in by_kind["transcribe"]} <= transcribers
    assert {_pid(r.worker_id) for r in by_kind["draft"]} == drafters
    assert _notes_by_recording(cluster.svc) == dict.fromkeys(recording_ids, 1)
    runs = cluster.fake_runs()
    assert sum(len(lines) for lines in runs.values()) == len(RECORDINGS)
    assert set(runs) <= transcribers
    assert len([pid for pid, lines in runs.items() if lines]) == 2  # the work was shared
    # The workers read decrypted copies in the store's private folder, then removed them.
    assert all(line.startswith("plain ") for lines in runs.values() for line in lines)
    assert _plaintext_left(cluster) == []
    # Each worker loaded only the model its queue needs.
    logs = {path.name: path.read_text() for path in cluster.tmp.glob("worker-*.log")}
    assert all(
        "loaded transcriber" in text and "drafter" not in text
        for name, text in logs.items()
        if name.startswith("worker-transcribe")
    )
    assert all(
        "loaded drafter" in text and "transcriber" not in text
        for name, text in logs.items()
        if name.startswith("worker-draft")
    )


def test_a_worker_killed_mid_job_has_its_job_finished_once_by_another_worker(
    make_cluster: Any, pg_url: str, data_dir: Path
) -> None:
    from webapp import audit, db

    cluster = make_cluster(pg_url, RABBITMQ_URL)
    cluster.start_workers(2, CARENOTES_FAKE_SECONDS="8")
    cluster.start_sweeper(every=1.0)
    user = cluster.new_user()
    recording_id = cluster.upload(user, data_dir / "ami_dev00.wav")

    running = cluster.wait_for_jobs(
        lambda rows: bool(rows) and rows[0].state == "running" and rows[0].progress > 0.1,
        timeout=30,
        what="a worker to start the job",
    )[0]
    victim = _pid(running.worker_id)
    killed = next(p for p in cluster.procs if p.pid == victim)
    os.kill(victim, signal.SIGKILL)
    killed.wait(timeout=10)  # reap it, as a service manager would

    rows = cluster.wait_for_jobs(
        lambda rows: len(rows) == 2 and _all_finished(rows),
        timeout=60,
        what="the job to finish elsewhere, and its drafting",
    )
    done = rows[0]

    assert [r.state for r in rows] == ["done", "done"], cluster.logs()
    assert rows[1].kind == "draft" and rows[1].attempts == 1
    assert done.attempts == 2
    assert _pid(done.worker_id) != victim
    runs = cluster.fake_runs()
    assert victim not in runs  # the killed worker never finished its transcription
    assert sum(len(lines) for lines in runs.values()) == 1
    assert _notes_by_recording(cluster.svc) == {recording_id: 1}
    with cluster.svc.engine.connect() as conn:
        created = conn.scalar(
            sa.select(sa.func.count())
            .select_from(db.audit_log)
            .where(db.audit_log.c.action == "draft_created")
        )
        assert audit.verify(conn, db.audit_log).ok
    assert created == 1
    # The killed worker's decrypted copy was removed by the worker that took over.
    assert _plaintext_left(cluster) == []


def test_concurrent_claims_of_one_job_never_run_it_twice(
    make_cluster: Any, pg_url: str, data_dir: Path, tmp_path: Path
) -> None:
    from tests.scale.fakes import JunkDrafter, LoggingTranscriber
    from webapp.pipeline import run_one_job

    cluster = make_cluster(pg_url, REDIS_URL)  # no workers: the threads below compete
    log_dir = tmp_path / "threads"
    log_dir.mkdir()
    svc = cluster.svc
    svc._models.update(transcriber=LoggingTranscriber(0.5, log_dir), drafter=JunkDrafter())
    cluster.upload(cluster.new_user(), data_dir / "jfk.flac")
    job_id = cluster.jobs()[0].id
    barrier = threading.Barrier(8)
    results: list[int | None] = []

    def claim(index: int) -> None:
        barrier.wait(timeout=10)
        results.append(run_one_job(svc, f"racer-{index}", job_id))

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(results, key=lambda r: r or 0) == [None] * 7 + [job_id]
    assert sum(len(p.read_text().splitlines()) for p in log_dir.glob("*.log")) == 1
    row = cluster.jobs()[0]
    assert (row.state, row.attempts) == ("done", 1)
