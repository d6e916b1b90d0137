"""Fixtures for the scale-out tests: the machine's real PostgreSQL, Redis and RabbitMQ.

Each test gets its own PostgreSQL database and its own Celery queue name, both removed
afterwards, and Celery workers started as separate processes (``carenotes worker
--celery``) that load stand-in models from :mod:`tests.scale.fakes`. Every process a
test starts is stopped in teardown.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/5"
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"
PASSWORD = "correct horse battery staple"


def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def require_service(name: str, port: int) -> None:
    """Skip, naming the service, if nothing listens on its port."""
    if not _reachable(port):
        pytest.skip(f"{name} is not reachable on 127.0.0.1:{port}; start it to run this test")


@pytest.fixture
def pg_url(fresh_postgres_database: Any) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards."""
    with fresh_postgres_database("carenotes_scale") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'carenotes.db'}"
    return request.getfixturevalue("pg_url")


class Cluster:
    """One test's deployment: a web app object here, worker processes beside it.

    Args:
        tmp_path: The test's folder (storage, logs).
        database_url: The shared database.
        broker_url: The Celery broker.
    """

    def __init__(self, tmp_path: Path, database_url: str, broker_url: str) -> None:
        from webapp.crypto import generate_master_key

        self.tmp = tmp_path
        self.database_url = database_url
        self.broker_url = broker_url
        suffix = uuid.uuid4().hex[:10]
        self.transcribe_queue = f"scale-transcribe-{suffix}"
        self.draft_queue = f"scale-draft-{suffix}"
        self.log_dir = tmp_path / "fake-log"
        self.log_dir.mkdir(parents=True)
        self.storage = tmp_path / "storage"
        self.master_key = generate_master_key()
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "CARENOTES_SECRET_KEY": "scale-test-secret-" + uuid.uuid4().hex,
            "CARENOTES_MASTER_KEY": self.master_key,
            "CARENOTES_DATABASE_URL": database_url,
            "CARENOTES_STORAGE_DIR": str(self.storage),
            "CARENOTES_BROKER_URL": broker_url,
            "CARENOTES_TRANSCRIBE_QUEUE": self.transcribe_queue,
            "CARENOTES_DRAFT_QUEUE": self.draft_queue,
            "CARENOTES_RUN_WORKER": "false",
            "CARENOTES_JOB_LEASE_SECONDS": "3",
            "CARENOTES_MODEL_FACTORY": "tests.scale.fakes:models",
            "CARENOTES_FAKE_LOG": str(self.log_dir),
            "CARENOTES_FAKE_SECONDS": "1",
            "CARENOTES_LOG_LEVEL": "INFO",
            "HF_HUB_OFFLINE": "1",
        }
        self.procs: list[subprocess.Popen[bytes]] = []
        self._app: Any = None

    @property
    def app(self) -> Any:
        """The web app (built once), sharing the workers' database, storage and broker."""
        if self._app is None:
            from webapp import create_app
            from webapp.crypto import KeyRing, MasterKey

            self._app = create_app(
                {
                    "SECRET_KEY": self.env["CARENOTES_SECRET_KEY"],
                    "DATABASE_URL": self.database_url,
                    "STORAGE_DIR": str(self.storage),
                    "INSTANCE_PATH": str(self.tmp / "instance"),
                    "KEYRING": KeyRing(MasterKey.from_text(self.master_key, source="test")),
                    "BROKER_URL": self.broker_url,
                    "TRANSCRIBE_QUEUE": self.transcribe_queue,
                    "DRAFT_QUEUE": self.draft_queue,
                    "RUN_WORKER": False,
                    "TESTING": True,
                    "JOB_LEASE_SECONDS": 3,
                    "PASSWORD_TIME_COST": 1,
                    "PASSWORD_MEMORY_KIB": 1024,
                }
            )
        return self._app

    @property
    def svc(self) -> Any:
        """The web app's services."""
        return self.app.extensions["carenotes"]

    def _spawn(self, args: list[str], name: str, **env: str) -> subprocess.Popen[bytes]:
        log = (self.tmp / f"{name}-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "webapp.cli", *args],
            cwd=ROOT,
            env={**self.env, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        return proc

    def start_workers(
        self, count: int, queues: str = "", timeout: float = 90.0, **env: str
    ) -> list[int]:
        """Start ``count`` Celery worker processes and wait until each has loaded its models.

        Args:
            count: How many processes.
            queues: ``transcribe``, ``draft`` or empty for both (this cluster's queues).
            timeout: Seconds to wait for them to be ready.
            env: Extra environment for the processes.
        """
        names = {"transcribe": self.transcribe_queue, "draft": self.draft_queue}
        args = ["worker", "--celery"]
        if queues:
            args += ["--queues", ",".join(names[q] for q in queues.split(","))]
        started = [self._spawn(args, f"worker-{queues or 'all'}", **env) for _ in range(count)]
        pids = {p.pid for p in started}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = {int(f.name.split("-", 1)[1]) for f in self.log_dir.glob("ready-*")}
            if pids <= ready:
                # Ready files are written as models load, just before the worker consumes.
                time.sleep(1.0)
                return sorted(pids)
            for proc in started:
                if proc.poll() is not None:
                    raise AssertionError(f"worker {proc.pid} exited early:\n{self.logs()}")
            time.sleep(0.2)
        raise AssertionError(f"workers not ready within {timeout:.0f} s:\n{self.logs()}")

    def start_sweeper(self, every: float = 1.0) -> subprocess.Popen[bytes]:
        """Start ``carenotes sweep`` in its own process."""
        return self._spawn(["sweep", "--every", str(every)], "sweep")

    def logs(self) -> str:
        """The tail of every process's output, for failure messages."""
        parts = []
        for path in sorted(self.tmp.glob("*.log")):
            parts.append(f"--- {path.name}\n" + path.read_text(errors="replace")[-3000:])
        return "\n".join(parts)

    def fake_runs(self) -> dict[int, list[str]]:
        """Finished fake transcriptions by worker process id."""
        return {int(p.stem): p.read_text().splitlines() for p in self.log_dir.glob("*.log")}

    def new_user(self) -> Any:
        """A social worker in a new team, as the signed-in user object."""
        from webapp import db
        from webapp.services.auth import CurrentUser
        from webapp.services.users import create_user

        name = f"sw-{uuid.uuid4().hex[:8]}"
        user_id = create_user(self.svc, name, PASSWORD, "social_worker", ["Team North"], "S W")
        with self.svc.engine.connect() as conn:
            team_id = conn.scalar(sa.select(db.teams.c.id).where(db.teams.c.name == "Team North"))
        return CurrentUser(
            id=user_id,
            username=name,
            display_name="S W",
            role=self.svc.policy.role("social_worker"),
            team_ids=frozenset({team_id}),
        )

    def upload(self, user: Any, audio: Path) -> str:
        """Upload a recording as the web app does (which queues and dispatches its job)."""
        from webapp.services.recordings import UploadDetails, create_recording

        details = UploadDetails(
            case_reference="CR-2026-0042",
            visit_type="home-visit",
            visit_date="2026-03-14",
            participants=(("Sam Social Worker", "Social worker"), ("Mrs P", "Person")),
            consent=(True, True),
        )
        with audio.open("rb") as handle:
            return create_recording(self.svc, user, details, handle, audio.name)

    def jobs(self) -> list[Any]:
        """Every job row."""
        from webapp import db

        with self.svc.engine.connect() as conn:
            return list(conn.execute(sa.select(db.jobs).order_by(db.jobs.c.id)).all())

    def wait_for_jobs(
        self, until: Callable[[list[Any]], bool], timeout: float, what: str
    ) -> list[Any]:
        """Poll the job table until ``until(rows)`` holds; fail with the logs after ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = self.jobs()
            if until(rows):
                return rows
            time.sleep(0.25)
        rows = self.jobs()
        states = [(r.id, r.state, r.stage, r.attempts, r.worker_id) for r in rows]
        raise AssertionError(f"timed out waiting for {what}; jobs: {states}\n{self.logs()}")

    def close(self) -> None:
        """Stop every process, delete the test's queue, close the app's engine."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        from webapp.pipeline import celery_for

        for queue in (self.transcribe_queue, self.draft_queue):
            try:
                with celery_for(self.broker_url, queue).connection_for_write() as conn:
                    conn.default_channel.queue_delete(queue)
            except Exception:  # noqa: S110 - a queue that was never declared needs no deleting
                pass
        if self._app is not None:
            self.svc.engine.dispose()


@pytest.fixture
def make_cluster(tmp_path: Path) -> Iterator[Callable[[str, str], Cluster]]:
    """Build a :class:`Cluster` on a database and a broker; stopped in teardown."""
    clusters: list[Cluster] = []

    def build(database_url: str, broker_url: str) -> Cluster:
        port = 6379 if broker_url.startswith("redis") else 5672
        require_service("Redis" if port == 6379 else "RabbitMQ", port)
        cluster = Cluster(tmp_path / f"c{len(clusters)}", database_url, broker_url)
        clusters.append(cluster)
        return cluster

    yield build
    for cluster in clusters:
        cluster.close()
