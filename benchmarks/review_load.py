"""The review page under load: many signed-in users opening the same draft at once.

Starts the web app (werkzeug, threaded, with the in-process worker) in a child process
on a free loopback port, uploads a real recording, waits for the real models to draft
its note, signs in ``--users`` practitioners and has each of them load the review page
over and over from its own thread until ``--requests`` pages have been fetched or
``--duration`` seconds have passed. Prints p50/p95/p99 latency and throughput.

Usage::

    .venv/bin/python benchmarks/review_load.py --users 50 --requests 2000
    .venv/bin/python benchmarks/review_load.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Run as a script, this folder comes first on the path, and its transcribe.py would hide
# the transcribe package: put the repository there instead.
if sys.path and Path(sys.path[0]).resolve() == REPO / "benchmarks":
    sys.path[0] = str(REPO)
RECORDING = REPO / "tests" / "data" / "jfk.flac"
TEAM = "Benchmark team"
_CSRF = re.compile(r'name="csrf[-_]token"\s+(?:value|content)="([^"]+)"')


def _serve(args: argparse.Namespace) -> int:
    """Child process: build the app, create the users, serve until killed."""
    import logging

    from werkzeug.serving import make_server

    from webapp import create_app
    from webapp.services.users import create_user

    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    config = {
        "INSTANCE_PATH": args.instance,
        "COOKIE_SECURE": False,  # plain HTTP on loopback
        "TRANSCRIBE_MODEL": args.whisper,
    }
    if args.database_url:
        config["DATABASE_URL"] = args.database_url
    app = create_app(config)
    password = os.environ["REVIEW_LOAD_PASSWORD"]
    svc = app.extensions["carenotes"]
    create_user(svc, "uploader", password, "social_worker", teams=[TEAM])
    for number in range(args.users):
        create_user(svc, f"reviewer{number:02d}", password, "practitioner", teams=[TEAM])
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    print("ready", flush=True)
    server.serve_forever()
    return 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def _server(args: argparse.Namespace, port: int, password: str) -> Iterator[None]:
    from webapp.crypto import generate_master_key

    env = dict(os.environ)
    env.update(
        CARENOTES_SECRET_KEY=secrets.token_urlsafe(48),
        CARENOTES_MASTER_KEY=generate_master_key(),
        REVIEW_LOAD_PASSWORD=password,
        HF_HUB_OFFLINE="1",
        PYTHONPATH=str(REPO),
    )
    with tempfile.TemporaryDirectory(prefix="carenotes-bench-") as instance:
        command = [sys.executable, __file__, "--serve", "--instance", instance]
        command += ["--port", str(port), "--users", str(args.users), "--whisper", args.whisper]
        if args.database_url:
            command += ["--database-url", args.database_url]
        child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True, cwd=REPO)
        try:
            line = child.stdout.readline() if child.stdout else ""
            if line.strip() != "ready":
                raise SystemExit(f"the app did not start (exit status {child.wait()})")
            yield
        finally:
            child.terminate()
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()


def _sign_in(base: str, username: str, password: str):
    import requests

    session = requests.Session()
    page = session.get(f"{base}/login", timeout=30)
    token = _CSRF.search(page.text)
    if token is None:
        raise SystemExit("no CSRF token on the sign-in page")
    answer = session.post(
        f"{base}/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        timeout=60,
    )
    if answer.status_code != 200 or "/login" in answer.url:
        raise SystemExit(f"{username} could not sign in (status {answer.status_code})")
    return session


def _upload_and_wait(base: str, password: str, timeout: float) -> str:
    session = _sign_in(base, "uploader", password)
    form = session.get(f"{base}/recordings/new", timeout=30)
    token = _CSRF.search(form.text)
    if token is None:
        raise SystemExit("no CSRF token on the upload page")
    with RECORDING.open("rb") as audio:
        answer = session.post(
            f"{base}/recordings",
            data={
                "csrf_token": token.group(1),
                "case_reference": "BENCH-0001",
                "visit_type": "home-visit",
                "visit_date": date.today().isoformat(),  # noqa: DTZ011 - a form's local date
                "participant_name": "Speaker",
                "participant_role": "Person visited",
                "participant_consent": "0",
            },
            files={"audio": (RECORDING.name, audio, "audio/flac")},
            headers={"Accept": "application/json"},
            timeout=120,
        )
    if answer.status_code != 201:
        raise SystemExit(f"upload refused ({answer.status_code}): {answer.text[:300]}")
    recording_url = answer.json()["url"]
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        status = session.get(f"{base}{recording_url}/status", timeout=30).json()
        if status.get("review_url"):
            print(f"draft ready after {time.monotonic() - started:.0f} s", file=sys.stderr)
            return str(status["review_url"])
        if status.get("state") == "failed":
            raise SystemExit(f"processing failed: {status.get('error')}")
        time.sleep(2)
    raise SystemExit("the draft was not ready in time")


def _load(port: int, path: str, cookies: list[str], total: int, duration: float) -> dict:
    latencies: list[float] = []
    failures: list[str] = []
    issued = 0
    lock = threading.Lock()
    start_gate = threading.Barrier(len(cookies) + 1)
    deadline = 0.0

    def user(cookie: str) -> None:
        nonlocal issued
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        start_gate.wait()
        while True:
            with lock:
                if issued >= total or time.monotonic() > deadline:
                    break
                issued += 1
            began = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Cookie": cookie})
                response = conn.getresponse()
                body = response.read()
                elapsed = time.perf_counter() - began
                ok = response.status == 200 and b"<html" in body[:500].lower()
                with lock:
                    latencies.append(elapsed)
                    if not ok:
                        failures.append(f"status {response.status}")
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                with lock:
                    failures.append(type(exc).__name__)
        conn.close()

    threads = [threading.Thread(target=user, args=(c,), daemon=True) for c in cookies]
    for thread in threads:
        thread.start()
    began = time.monotonic()
    deadline = began + duration
    start_gate.wait()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - began
    return {"latencies": latencies, "failures": failures, "wall": wall}


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50, help="concurrent signed-in users")
    parser.add_argument("--requests", type=int, default=2000, help="page loads in all")
    parser.add_argument("--duration", type=float, default=120.0, help="stop after seconds")
    parser.add_argument("--database-url", default="", help="default: SQLite in a temp folder")
    parser.add_argument("--whisper", default="tiny.en", help="Whisper model for the draft")
    parser.add_argument("--draft-timeout", type=float, default=1200.0)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--instance", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return _serve(args)

    database_url = args.database_url
    created_db = ""
    if database_url.startswith("postgresql") and database_url.rstrip("/").count("/") == 2:
        created_db = f"carenotes_bench_{secrets.token_hex(4)}"
        _postgres(database_url, f'CREATE DATABASE "{created_db}"')
        args.database_url = database_url.rstrip("/") + "/" + created_db
    password = secrets.token_urlsafe(16)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    try:
        with _server(args, port, password):
            review_url = _upload_and_wait(base, password, args.draft_timeout)
            cookies = []
            for number in range(args.users):
                session = _sign_in(base, f"reviewer{number:02d}", password)
                cookies.append("; ".join(f"{k}={v}" for k, v in session.cookies.items()))
            _load(port, review_url, cookies[:2], 20, 30)  # warm-up
            result = _load(port, review_url, cookies, args.requests, args.duration)
    finally:
        if created_db:
            _postgres(database_url, f'DROP DATABASE IF EXISTS "{created_db}" WITH (FORCE)')
    latencies = result["latencies"]
    if not latencies:
        raise SystemExit("no page was loaded")
    print(f"database: {'PostgreSQL' if database_url.startswith('postgresql') else 'SQLite'}")
    print(f"users: {args.users}, page loads: {len(latencies)}, errors: {len(result['failures'])}")
    print(f"wall time: {result['wall']:.1f} s, throughput: {len(latencies) / result['wall']:.1f}/s")
    for label, fraction in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
        print(f"{label}: {_percentile(latencies, fraction) * 1000:.0f} ms")
    print(f"mean: {statistics.fmean(latencies) * 1000:.0f} ms, max: {max(latencies) * 1000:.0f} ms")
    if result["failures"]:
        print(f"first errors: {result['failures'][:5]}")
    return 1 if result["failures"] else 0


def _postgres(server_url: str, statement: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(server_url.rstrip("/") + "/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(statement))
    engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
