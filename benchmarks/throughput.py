"""Recordings processed per hour by 1 and by 2 Celery worker processes, with real models.

Creates a temporary PostgreSQL database, starts ``carenotes worker --celery`` processes
(Whisper ``--model``, default tiny.en, and the packaged drafting model), waits until
each has loaded its models, then uploads ``--recordings`` real recordings from
``tests/data`` through the web app's upload service (which encrypts them and sends a
Celery task per job through Redis) and times until every recording is transcribed and
drafted. Model loading is not counted: it happens once per worker process, not per
recording. Each stage's busy time (the sum of its jobs' start-to-finish times) is
reported too, for sizing each kind of worker.

By default every worker serves both queues. With ``--draft-workers K`` the
``--workers`` processes serve only the transcription queue and K more serve only the
drafting queue, as a council with a GPU server for Whisper would run them.

Usage::

    .venv/bin/python benchmarks/throughput.py --workers 1 2 --recordings 4
    .venv/bin/python benchmarks/throughput.py --workers 1 2 --recordings 4 --split-cores
    .venv/bin/python benchmarks/throughput.py --workers 1 --draft-workers 1 --recordings 4
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# Run as a script, this folder comes first on the path, and its transcribe.py would hide
# the transcribe package: put the repository there instead.
if sys.path and Path(sys.path[0]).resolve() == REPO / "benchmarks":
    sys.path[0] = str(REPO)

import sqlalchemy as sa  # noqa: E402

DATA = REPO / "tests" / "data"
MIX = ("jfk.flac", "two_speakers_sample.wav", "ami_dev00.wav", "ami_dev01.wav")


def _database(server: str) -> tuple[str, Any]:
    name = f"carenotes_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server + "postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return server + name, drop


def _run(workers: int, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    from webapp import create_app, db
    from webapp.crypto import KeyRing, MasterKey, generate_master_key
    from webapp.services.auth import CurrentUser
    from webapp.services.recordings import UploadDetails, create_recording
    from webapp.services.users import create_user

    url, drop = _database(args.postgres)
    master = generate_master_key()
    tag = uuid.uuid4().hex[:8]
    transcribe_queue, draft_queue = f"bench-transcribe-{tag}", f"bench-draft-{tag}"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "CARENOTES_SECRET_KEY": "benchmark-secret-" + uuid.uuid4().hex,
        "CARENOTES_MASTER_KEY": master,
        "CARENOTES_DATABASE_URL": url,
        "CARENOTES_STORAGE_DIR": str(folder / "storage"),
        "CARENOTES_BROKER_URL": args.broker,
        "CARENOTES_TRANSCRIBE_QUEUE": transcribe_queue,
        "CARENOTES_DRAFT_QUEUE": draft_queue,
        "CARENOTES_RUN_WORKER": "false",
        "CARENOTES_TRANSCRIBE_MODEL": args.model,
        "CARENOTES_TRANSCRIBE_DIARISE": "true" if args.diarise else "false",
        "HF_HUB_OFFLINE": "1",
    }
    if args.split_cores:
        # Each worker gets its share of the cores, rather than every worker starting as
        # many threads as there are cores and all of them contending.
        threads = str(max(1, (os.cpu_count() or 1) // (workers + args.draft_workers)))
        env.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads, CT2_INTER_THREADS="1")
    app = create_app(
        {
            "SECRET_KEY": env["CARENOTES_SECRET_KEY"],
            "DATABASE_URL": url,
            "STORAGE_DIR": env["CARENOTES_STORAGE_DIR"],
            "INSTANCE_PATH": str(folder / "instance"),
            "KEYRING": KeyRing(MasterKey.from_text(master, source="benchmark")),
            "BROKER_URL": args.broker,
            "TRANSCRIBE_QUEUE": transcribe_queue,
            "DRAFT_QUEUE": draft_queue,
            "RUN_WORKER": False,
            "TRANSCRIBE_MODEL": args.model,
            "TRANSCRIBE_DIARISE": args.diarise,
            "PASSWORD_TIME_COST": 1,
            "PASSWORD_MEMORY_KIB": 1024,
        }
    )
    svc = app.extensions["carenotes"]
    procs = []
    logs = []
    try:
        if args.draft_workers:
            plan = [transcribe_queue] * workers + [draft_queue] * args.draft_workers
        else:
            plan = [f"{transcribe_queue},{draft_queue}"] * workers
        for index, queues in enumerate(plan):
            log = folder / f"worker-{workers}-{index}.log"
            logs.append(log)
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "webapp.cli", "worker", "--celery", "--queues", queues],
                    cwd=REPO,
                    env=env,
                    stdout=log.open("wb"),
                    stderr=subprocess.STDOUT,
                )
            )
        started = time.monotonic()
        while sum("ready: loaded" in p.read_text(errors="replace") for p in logs) < len(plan):
            if time.monotonic() - started > args.timeout:
                raise SystemExit(f"workers did not load their models in {args.timeout} s")
            if any(p.poll() is not None for p in procs):
                raise SystemExit("a worker exited:\n" + logs[0].read_text()[-3000:])
            time.sleep(0.5)
        load_s = time.monotonic() - started

        user_id = create_user(svc, "bench", "correct horse battery staple", "social_worker", ["B"])
        with svc.engine.connect() as conn:
            team_id = conn.scalar(sa.select(db.teams.c.id))
        user = CurrentUser(
            user_id, "bench", "bench", svc.policy.role("social_worker"), frozenset({team_id})
        )
        details = UploadDetails(
            "CR-1",
            "home-visit",
            "2026-03-14",
            (("Worker", "Social worker"), ("Person", "Person")),
            (True, True),
        )
        names = [MIX[i % len(MIX)] for i in range(args.recordings)]
        t0 = time.monotonic()
        for name in names:
            with (DATA / name).open("rb") as handle:
                create_recording(svc, user, details, handle, name)
        while True:
            with svc.engine.connect() as conn:
                rows = conn.execute(
                    sa.select(
                        db.jobs.c.kind,
                        db.jobs.c.state,
                        db.jobs.c.started_at,
                        db.jobs.c.finished_at,
                        db.recordings.c.duration_s,
                    ).join(db.recordings)
                ).all()
            ended = [r for r in rows if r.state in ("done", "failed")]
            drafted = sum(r.kind == "draft" and r.state in ("done", "failed") for r in rows)
            failed = sum(r.kind == "transcribe" and r.state == "failed" for r in rows)
            if len(ended) == len(rows) and drafted + failed == len(names):
                break
            if time.monotonic() - t0 > args.timeout:
                raise SystemExit(f"jobs not finished in {args.timeout} s: {rows}")
            time.sleep(0.5)
        elapsed = time.monotonic() - t0
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        svc.engine.dispose()
        drop()
    audio_s = sum(r.duration_s or 0.0 for r in rows if r.kind == "transcribe")

    def busy(kind: str) -> float:
        return sum(
            (r.finished_at - r.started_at).total_seconds()
            for r in rows
            if r.kind == kind and r.started_at and r.finished_at
        )

    return {
        "workers": workers,
        "draft_workers": args.draft_workers,
        "recordings": len(names),
        "failed": sum(r.state == "failed" for r in rows),
        "transcribe_busy_s": round(busy("transcribe"), 1),
        "draft_busy_s": round(busy("draft"), 1),
        "audio_s": round(audio_s, 1),
        "elapsed_s": round(elapsed, 1),
        "model_load_s": round(load_s, 1),
        "recordings_per_hour": round(len(names) / elapsed * 3600, 1),
        "audio_hours_per_hour": round(audio_s / elapsed, 2),
        "audio_hours_per_worker_hour": round(audio_s / elapsed / len(plan), 2),
        # Per stage, from the jobs' own times: what one busy worker of that kind does.
        "transcribe_audio_hours_per_busy_hour": round(audio_s / max(busy("transcribe"), 1e-9), 2),
        "drafts_per_busy_hour": round(len(names) / max(busy("draft"), 1e-9) * 3600, 1),
    }


def main() -> int:
    """Run the benchmark and print one JSON line per worker count."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--recordings", type=int, default=4)
    parser.add_argument(
        "--draft-workers",
        type=int,
        default=0,
        help="run this many drafting-only workers; the others then only transcribe",
    )
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--no-diarise", dest="diarise", action="store_false")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/6")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument(
        "--split-cores",
        action="store_true",
        help="limit each worker's threads to its share of the cores (OMP_NUM_THREADS)",
    )
    args = parser.parse_args()
    for workers in args.workers:
        with tempfile.TemporaryDirectory(prefix="carenotes-bench-") as folder:
            print(json.dumps(_run(workers, args, Path(folder))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
