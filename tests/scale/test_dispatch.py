"""Sending jobs to the broker, and the sweep that re-sends lost ones (real Redis)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from tests.scale.conftest import REDIS_URL


def _messages_waiting(broker_url: str, queue: str) -> int:
    from webapp.pipeline import celery_for

    with celery_for(broker_url, queue).connection_for_write() as conn:
        return int(conn.default_channel.queue_declare(queue, passive=True).message_count)


def test_an_upload_succeeds_when_the_broker_is_down_and_the_sweep_sends_it_later(
    make_cluster: Any, pg_url: str, data_dir: Path
) -> None:
    from webapp.pipeline import sweep

    down = make_cluster(pg_url, "redis://127.0.0.1:1/0")  # nothing listens on port 1
    recording_id = down.upload(down.new_user(), data_dir / "jfk.flac")
    job = down.jobs()[0]
    assert (job.recording_id, job.state, job.dispatched_at) == (recording_id, "queued", None)

    svc = down.svc
    svc.settings = dataclasses.replace(svc.settings, broker_url=REDIS_URL)  # broker back
    assert sweep(svc) == [job.id]
    assert sweep(svc) == []  # sent a moment ago: not sent again
    assert _messages_waiting(REDIS_URL, down.transcribe_queue) == 1
    assert down.jobs()[0].dispatched_at is not None


def test_the_sweep_re_sends_a_job_whose_worker_stopped_renewing_its_lease(
    make_cluster: Any, pg_url: str, data_dir: Path
) -> None:
    import sqlalchemy as sa

    from webapp import db
    from webapp.pipeline import sweep

    cluster = make_cluster(pg_url, REDIS_URL)
    cluster.upload(cluster.new_user(), data_dir / "jfk.flac")
    job = cluster.jobs()[0]
    assert job.dispatched_at is not None  # sent at upload
    assert sweep(cluster.svc) == []  # queued and sent recently: nothing to do
    long_ago = db.utcnow().replace(year=2020)
    with cluster.svc.engine.begin() as conn:
        conn.execute(  # as a worker that died mid-job leaves it
            sa.update(db.jobs)
            .where(db.jobs.c.id == job.id)
            .values(
                state="running",
                worker_id="gone:1:celery",
                lease_until=long_ago,
                dispatched_at=long_ago,
            )
        )

    assert sweep(cluster.svc) == [job.id]
    assert _messages_waiting(REDIS_URL, cluster.transcribe_queue) == 2  # upload's and sweep's


def test_a_lost_drafting_job_is_sent_again_to_the_drafting_queue(
    make_cluster: Any, pg_url: str, data_dir: Path
) -> None:
    import sqlalchemy as sa

    from webapp import db, pipeline
    from webapp.pipeline import sweep

    cluster = make_cluster(pg_url, REDIS_URL)
    recording_id = cluster.upload(cluster.new_user(), data_dir / "jfk.flac")
    with cluster.svc.engine.begin() as conn:  # transcribed; its drafting message was lost
        conn.execute(sa.update(db.jobs).values(state="done", stage="done"))
        drafting = pipeline.enqueue(conn, recording_id, 3, pipeline.DRAFT)
    assert _messages_waiting(REDIS_URL, cluster.transcribe_queue) == 1  # the upload's

    assert sweep(cluster.svc) == [drafting]
    assert _messages_waiting(REDIS_URL, cluster.draft_queue) == 1
    assert _messages_waiting(REDIS_URL, cluster.transcribe_queue) == 1
