"""``/healthz``, ``/readyz`` and ``/metrics`` on the real PostgreSQL and Redis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.scale.conftest import REDIS_URL

OUTSIDE = {"REMOTE_ADDR": "10.20.30.40"}


def test_liveness_answers_without_signing_in(make_cluster: Any, pg_url: str) -> None:
    client = make_cluster(pg_url, REDIS_URL).app.test_client()

    response = client.get("/healthz", environ_base=OUTSIDE)

    assert (response.status_code, response.get_json()) == (200, {"status": "ok"})


def test_readiness_checks_the_database_keys_storage_and_broker(
    make_cluster: Any, pg_url: str
) -> None:
    client = make_cluster(pg_url, REDIS_URL).app.test_client()

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ready",
        "checks": {"database": "ok", "keys": "ok", "storage": "ok", "broker": "ok"},
    }


def test_readiness_fails_with_the_check_named_when_the_broker_is_unreachable(
    make_cluster: Any, pg_url: str
) -> None:
    cluster = make_cluster(pg_url, "redis://127.0.0.1:1/0")  # nothing listens on port 1

    response = cluster.app.test_client().get("/readyz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("failed")


def test_metrics_are_hidden_from_other_machines_without_the_token(
    make_cluster: Any, pg_url: str
) -> None:
    client = make_cluster(pg_url, REDIS_URL).app.test_client()

    assert client.get("/metrics", environ_base=OUTSIDE).status_code == 404
    forwarded = client.get("/metrics", headers={"X-Forwarded-For": "10.20.30.40"})
    assert forwarded.status_code == 404
    assert client.get("/metrics").status_code == 200  # loopback


def test_metrics_show_queue_depth_durations_and_failures(
    make_cluster: Any, pg_url: str, data_dir: Path, tmp_path: Path
) -> None:
    import sqlalchemy as sa

    from tests.scale.fakes import JunkDrafter, LoggingTranscriber
    from webapp import db
    from webapp.pipeline import run_one_job

    cluster = make_cluster(pg_url, REDIS_URL)
    svc = cluster.svc
    svc._models.update(transcriber=LoggingTranscriber(0.0, tmp_path), drafter=JunkDrafter())
    user = cluster.new_user()
    for _ in range(3):
        cluster.upload(user, data_dir / "jfk.flac")
    assert run_one_job(svc, "metrics-test", kinds=("transcribe",)) is not None
    with svc.engine.begin() as conn:
        drafting = conn.scalar(sa.select(db.jobs.c.id).where(db.jobs.c.kind == "draft"))
        conn.execute(  # the drafting job the transcription queued fails
            sa.update(db.jobs)
            .where(db.jobs.c.id == drafting)
            .values(state="failed", finished_at=db.utcnow())
        )

    text = cluster.app.test_client().get("/metrics").get_data(as_text=True)

    lines = set(text.splitlines())
    assert 'carenotes_jobs{kind="transcribe",state="queued"} 2' in lines
    assert 'carenotes_jobs{kind="transcribe",state="done"} 1' in lines
    assert 'carenotes_jobs{kind="transcribe",state="failed"} 0' in lines
    assert 'carenotes_jobs{kind="draft",state="queued"} 0' in lines
    assert 'carenotes_jobs{kind="draft",state="failed"} 1' in lines
    assert 'carenotes_jobs_failed_total{kind="draft"} 1' in lines
    assert 'carenotes_jobs_failed_total{kind="transcribe"} 0' in lines
    assert 'carenotes_job_duration_seconds_count{kind="transcribe"} 1' in lines
    assert 'carenotes_job_duration_seconds_bucket{kind="transcribe",le="+Inf"} 1' in lines
    assert 'carenotes_job_duration_seconds_count{kind="draft"} 0' in lines
    age = next(
        line for line in lines if line.startswith('carenotes_oldest_queued_job_age_seconds{kind="t')
    )
    assert float(age.rsplit(" ", 1)[1]) >= 0.0


def test_metrics_from_another_machine_need_the_configured_token(
    make_cluster: Any, pg_url: str
) -> None:
    cluster = make_cluster(pg_url, REDIS_URL)
    from webapp import create_app

    app = create_app(
        {
            **{k: v for k, v in cluster.app.config.items() if k == "SECRET_KEY"},
            "DATABASE_URL": pg_url,
            "STORAGE_DIR": str(cluster.storage),
            "INSTANCE_PATH": str(cluster.tmp / "instance2"),
            "KEYRING": cluster.svc.vault.ring,
            "RUN_WORKER": False,
            "METRICS_TOKEN": "a-scraper-token",
        }
    )
    client = app.test_client()
    try:
        wrong = client.get(
            "/metrics", environ_base=OUTSIDE, headers={"Authorization": "Bearer nope"}
        )
        right = client.get(
            "/metrics", environ_base=OUTSIDE, headers={"Authorization": "Bearer a-scraper-token"}
        )
    finally:
        app.extensions["carenotes"].engine.dispose()

    assert wrong.status_code == 404
    assert right.status_code == 200
    assert "carenotes_jobs" in right.get_data(as_text=True)
