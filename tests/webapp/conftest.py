"""Fixtures for the web app: an app on a temporary database, clients signed in by role.

Database-touching tests run twice: on a temporary SQLite file and on a uniquely named
database on the machine's PostgreSQL, created for the test session and dropped after.
The transcriber and the drafter are fakes implementing the Protocols (the real models
run in the transcribe/summarise tests and in the browser journey test); everything
else (encryption, storage, drafting logic, database) is real.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from transcribe.types import Segment, TranscribeOptions, Transcript

PASSWORD = "correct horse battery staple"
#: Spoken in the fake transcript; must never be found in plaintext on disk.
CANARY = "purple umbrella canary"

SEGMENTS = (
    ("SPEAKER_1", "Good morning, how have things been since my last visit?"),
    ("SPEAKER_2", "Not too bad. My daughter comes round on Tuesdays to help with shopping."),
    ("SPEAKER_2", "I have been taking twenty milligrams of sertraline every morning."),
    ("SPEAKER_1", "What matters most to you at the moment?"),
    ("SPEAKER_2", f"Staying in my own home with the {CANARY} by the window."),
    ("SPEAKER_1", "I will ask the occupational therapist to visit next week about a grab rail."),
)


class FakeTranscriber:
    """A Transcriber that reads the decrypted file it is given and returns a fixed transcript.

    Args:
        delay: Seconds to spend, reporting progress along the way.
    """

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls: list[int] = []
        self.options: list[TranscribeOptions] = []

    def transcribe(self, path: str, options: TranscribeOptions, progress: Any = None) -> Transcript:
        self.calls.append(Path(path).stat().st_size)
        self.options.append(options)
        steps = 10
        for step in range(steps + 1):
            if progress:
                progress(step / steps)
            if self.delay:
                time.sleep(self.delay / steps)
        segments = tuple(
            Segment(id=i, start=i * 1.8, end=i * 1.8 + 1.7, text=text, speaker=speaker)
            for i, (speaker, text) in enumerate(SEGMENTS)
        )
        return Transcript(
            segments=segments,
            language="en",
            duration=11.0,
            model="fake",
            speakers=("SPEAKER_1", "SPEAKER_2"),
            source=Path(path).name,
        )


class FailsOnceTranscriber(FakeTranscriber):
    """Refuses the first recording it is given (as a bad read would), then works."""

    def transcribe(self, path: str, options: TranscribeOptions, progress: Any = None) -> Transcript:
        if not self.calls:
            from policies.errors import BadInput

            self.calls.append(-1)
            raise BadInput("The recording could not be read this time.")
        return super().transcribe(path, options, progress)


class FakeDrafter:
    """A NoteDrafter whose every answer is junk, so drafting falls back to cited extracts."""

    name = "fake-drafter"
    sha256 = "0" * 64

    def generate(self, messages: list[dict[str, str]], max_new_tokens: int = 128) -> str:
        return "<|im_start|>assistant I think I think I think"


@pytest.fixture(scope="session")
def keyring() -> Any:
    from webapp.crypto import KeyRing, MasterKey, generate_master_key

    return KeyRing(MasterKey.from_text(generate_master_key(), source="test"))


@pytest.fixture(scope="session")
def postgres_server_url(fresh_postgres_database: Any) -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    with fresh_postgres_database("carenotes_web") as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL with no tables: a new SQLite file, or the emptied PostgreSQL one."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'carenotes.db'}"
    url = request.getfixturevalue("postgres_server_url")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A new SQLite database URL, for tests that need only one database."""
    return f"sqlite:///{tmp_path / 'carenotes.db'}"


@pytest.fixture
def make_app(tmp_path: Path, keyring: Any) -> Iterator[Callable[..., Any]]:
    """Build apps on a temporary instance folder; their engines are closed afterwards."""
    from webapp import create_app

    apps: list[Any] = []

    def build(database_url: str, **overrides: Any) -> Any:
        config = {
            "SECRET_KEY": "test-secret-key-" + uuid.uuid4().hex,
            "DATABASE_URL": database_url,
            "STORAGE_DIR": str(tmp_path / "storage"),
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "KEYRING": keyring,
            "TRANSCRIBER": FakeTranscriber(),
            "DRAFTER": FakeDrafter(),
            # These tests are of the web flow; their notes are the extractive drafts the
            # junk-answering fake gives. Writing mode runs its real model in
            # tests/summarise and in the browser journey.
            "DRAFT_MODE": "extractive",
            "RUN_WORKER": False,
            "TESTING": True,
            "PASSWORD_TIME_COST": 1,
            "PASSWORD_MEMORY_KIB": 1024,
            "JOB_LEASE_SECONDS": 30,
        }
        config.update(overrides)
        app = create_app(config)
        apps.append(app)
        return app

    yield build
    for app in apps:
        svc = app.extensions["carenotes"]
        if svc.worker is not None:
            svc.worker.stop()
        svc.engine.dispose()


@pytest.fixture
def app(make_app: Callable[..., Any], database_url: str) -> Any:
    """The app on SQLite and on PostgreSQL."""
    return make_app(database_url)


@pytest.fixture
def svc(app: Any) -> Any:
    """The app's services."""
    return app.extensions["carenotes"]


class Browser:
    """A test client that signs in and sends the CSRF token like the pages do."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.client = app.test_client()
        self.token = ""

    def refresh_token(self, path: str = "/login") -> str:
        page = self.client.get(path).get_data(as_text=True)
        found = re.search(r'name="csrf-token" content="([^"]+)"', page)
        self.token = found.group(1) if found else ""
        return self.token

    def login(self, username: str, password: str = PASSWORD) -> Any:
        self.refresh_token("/login")
        response = self.client.post(
            "/login", data={"username": username, "password": password, "csrf_token": self.token}
        )
        if response.status_code == 302:
            self.refresh_token("/recordings")
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        return self.client.post(path, data={**(data or {}), "csrf_token": self.token}, **kwargs)

    def post_json(self, path: str, body: dict[str, Any]) -> Any:
        return self.client.post(
            path,
            json=body,
            headers={"X-CSRFToken": self.token, "Accept": "application/json"},
        )


@pytest.fixture
def make_user(svc: Any) -> Callable[..., int]:
    """Create a user: ``make_user("sam", "social_worker", teams=("North",))``."""
    from webapp.services.users import create_user

    def make(username: str, role: str, teams: tuple[str, ...] = ("North",)) -> int:
        return create_user(svc, username, PASSWORD, role, teams, display_name=username.title())

    return make


@pytest.fixture
def login_as(app: Any, make_user: Callable[..., int]) -> Callable[..., Browser]:
    """Sign in a new user of ``role`` in ``team`` and return their browser."""
    counter = iter(range(1000))

    def login(role: str, team: str = "North", username: str | None = None) -> Browser:
        name = username or f"{role.replace('_', '')}{next(counter)}"
        make_user(name, role, (team,))
        browser = Browser(app)
        response = browser.login(name)
        assert response.status_code == 302, response.get_data(as_text=True)
        browser.username = name  # type: ignore[attr-defined]
        return browser

    return login


def upload_form(**overrides: Any) -> dict[str, Any]:
    """A complete, valid upload form (without the file)."""
    form: dict[str, Any] = {
        "case_reference": "CR-2026-0042",
        "visit_type": "home-visit",
        "visit_date": "2026-03-14",
        "participant_name": ["Sam Social Worker", "Mrs P"],
        "participant_role": ["Social worker", "Person"],
        "participant_consent": ["0", "1"],
    }
    form.update(overrides)
    return form


def upload(browser: Browser, audio: Path, name: str | None = None, **form: Any) -> Any:
    """Upload ``audio`` with a valid form, asking for a JSON answer."""
    data = upload_form(**form)
    with audio.open("rb") as handle:
        data["audio"] = (handle, name or audio.name)
        return browser.client.post(
            "/recordings",
            data={**data, "csrf_token": browser.token},
            headers={"Accept": "application/json"},
            content_type="multipart/form-data",
        )


def drain(svc: Any, worker_id: str | None = None) -> list[int]:
    """Run every waiting job (transcription, then the drafting it queues); return their ids."""
    from webapp.pipeline import run_one_job

    ran = []
    while (job_id := run_one_job(svc, worker_id)) is not None:
        ran.append(job_id)
    return ran


@pytest.fixture
def drafted(app: Any, svc: Any, login_as: Callable[..., Browser], data_dir: Path) -> Any:
    """A social worker's recording processed into a draft; returns ``(browser, recording id)``."""
    worker = login_as("social_worker")
    response = upload(worker, data_dir / "jfk.flac")
    assert response.status_code == 201, response.get_data(as_text=True)
    recording_id = response.get_json()["url"].rsplit("/", 1)[-1]
    assert len(drain(svc)) == 2  # transcription, then drafting
    return worker, recording_id


@pytest.fixture(scope="session")
def web() -> Any:
    """Helpers for tests: ``web.Browser``, ``web.upload``, ``web.upload_form``, constants."""
    from types import SimpleNamespace

    return SimpleNamespace(
        Browser=Browser,
        upload=upload,
        drain=drain,
        upload_form=upload_form,
        PASSWORD=PASSWORD,
        CANARY=CANARY,
        FakeTranscriber=FakeTranscriber,
        FailsOnceTranscriber=FailsOnceTranscriber,
        FakeDrafter=FakeDrafter,
    )


def note_state(svc: Any, recording_id: str) -> tuple[int, dict[str, Any], dict[str, Any], Any]:
    """Decrypt a note's ``(version, work, draft, row)`` straight from the database."""
    from webapp import db

    with svc.engine.connect() as conn:
        rec = conn.execute(sa.select(db.recordings).where(db.recordings.c.id == recording_id)).one()
        note = conn.execute(
            sa.select(db.notes).where(db.notes.c.recording_id == recording_id)
        ).one()
    key = svc.vault.data_key(rec.id, rec.wrapped_key)
    work = svc.vault.open_json(key, "note", note.id, "work", note.work_enc)
    draft = svc.vault.open_json(key, "note", note.id, "draft", note.draft_enc)
    return note.version, work, draft, note


@pytest.fixture
def state() -> Callable[..., Any]:
    """``state(svc, recording_id)`` → ``(version, work, draft, note row)``."""
    return note_state


@pytest.fixture
def resolve_all() -> Callable[..., int]:
    """Resolve every flag (confirm) and mark every section reviewed; return the version."""

    def resolve(browser: Browser, svc: Any, recording_id: str) -> int:
        version, work, draft, _ = note_state(svc, recording_id)
        for item_id, item in work["items"].items():
            if item["status"] == "open":
                response = browser.post_json(
                    f"/notes/{recording_id}/items/{item_id}",
                    {"action": "confirm", "version": version},
                )
                assert response.status_code == 200, response.get_data(as_text=True)
                version = response.get_json()["version"]
        for section in draft["sections"]:
            response = browser.post_json(
                f"/notes/{recording_id}/sections/{section['key']}/reviewed", {"version": version}
            )
            assert response.status_code == 200, response.get_data(as_text=True)
            version = response.get_json()["version"]
        return version

    return resolve


#: Debian's Chromium: the browser tests never use a downloaded one.
CHROMIUM = Path("/usr/bin/chromium")
#: Headless, no sandbox (tests run as root), and no calls out of this machine.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@pytest.fixture
def serve_app() -> Iterator[Callable[[Any], str]]:
    """A factory: ``serve_app(app)`` serves it on a free loopback port, returns the base URL."""
    from werkzeug.serving import make_server

    servers: list[Any] = []

    def start(app: Any) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()


@pytest.fixture(scope="session")
def launch_chromium() -> Callable[..., Any]:
    """A factory: ``launch_chromium(playwright, *extra_args)`` starts Debian's Chromium."""

    def launch(playwright: Any, *extra_args: str) -> Any:
        if not CHROMIUM.exists():
            pytest.skip("Debian's Chromium is not installed: run scripts/setup.sh --with-browser")
        return playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args]
        )

    return launch


#: The folder of the test OpenID Connect provider (oidc-provider from npm).
OIDC_DIR = Path(__file__).parent / "oidc"
OIDC_CLIENT_ID = "carenotes"
OIDC_CLIENT_SECRET = "test-client-secret-" + "x" * 24
OIDC_REDIRECT_URI = "http://localhost/auth/sso/callback"
OIDC_POST_LOGOUT_URI = "http://localhost/login"


class OidcProvider:
    """A real OpenID Connect provider running in Node, and a browser's way through it.

    Attributes:
        issuer: Its issuer URL (``http://127.0.0.1:PORT``).
    """

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer

    def app_config(self, **overrides: Any) -> dict[str, Any]:
        """Settings for ``make_app`` that point single sign-on at this provider."""
        return {
            "OIDC_ISSUER": self.issuer,
            "OIDC_CLIENT_ID": OIDC_CLIENT_ID,
            "OIDC_CLIENT_SECRET": OIDC_CLIENT_SECRET,
            "OIDC_REDIRECT_URI": OIDC_REDIRECT_URI,
            "OIDC_SCOPES": "openid profile email groups",
            **overrides,
        }

    def set_account(self, subject: str, **claims: Any) -> None:
        """Create or change the provider's account ``subject`` (its claims)."""
        import requests

        response = requests.put(f"{self.issuer}/test/accounts/{subject}", json=claims, timeout=10)
        assert response.status_code == 204, response.text

    def tamper_next_id_token(self, **claims: Any) -> None:
        """Make the next ID token carry these claims instead, still signed by the provider."""
        import requests

        response = requests.put(f"{self.issuer}/test/tamper", json={"claims": claims}, timeout=10)
        assert response.status_code == 204, response.text

    def callback_url(self, browser: Browser, subject: str, next_path: str | None = None) -> str:
        """Start single sign-on in ``browser``, sign in at the provider as ``subject``,
        and return the callback path and query the provider sends the browser back to."""
        start = browser.client.get("/auth/sso/start", query_string={"next": next_path or ""})
        assert start.status_code == 302, start.get_data(as_text=True)
        return self.sign_in_there(start.headers["Location"], subject)

    def sign_in_there(self, url: str, subject: str) -> str:
        """Follow the provider's sign-in address ``url``, signing in as ``subject``, and
        return the callback path and query the provider sends the browser back to."""
        from urllib.parse import urljoin, urlsplit

        import requests

        assert url.startswith(self.issuer)
        agent = requests.Session()
        for _ in range(20):
            if url.startswith(OIDC_REDIRECT_URI):
                parts = urlsplit(url)
                return f"{parts.path}?{parts.query}"
            response = agent.get(url, allow_redirects=False, timeout=10)
            if response.status_code == 200 and "/interaction/" in url:
                response = agent.post(
                    url.rstrip("/") + "/login",
                    data={"login": subject},
                    allow_redirects=False,
                    timeout=10,
                )
            assert response.is_redirect, (response.status_code, response.text[:500])
            url = urljoin(url, response.headers["Location"])
        raise AssertionError("the provider never sent the browser back")

    def sign_in(self, browser: Browser, subject: str, next_path: str | None = None) -> Any:
        """Sign in through the provider as ``subject``; return the callback's response."""
        response = browser.client.get(self.callback_url(browser, subject, next_path))
        found = re.search(r'name="csrf-token" content="([^"]+)"', response.get_data(as_text=True))
        if response.status_code == 200 and found:
            browser.token = found.group(1)
        return response


@contextmanager
def run_oidc_provider(
    redirect_uri: str = OIDC_REDIRECT_URI,
    post_logout_uri: str = OIDC_POST_LOGOUT_URI,
    claims_in_userinfo_only: bool = False,
) -> Iterator[OidcProvider]:
    """Run the test OpenID Connect provider on a free loopback port until the block ends.

    Args:
        redirect_uri: The callback address its one client (carenotes) registered.
        post_logout_uri: Where it may send a browser back to after signing out.
        claims_in_userinfo_only: Put the profile, email and groups claims only at the
            userinfo endpoint, not in the ID token (as the specification has it for the
            code flow; Entra ID puts them in the ID token).
    """
    import json
    import shutil
    import subprocess

    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed, so the OpenID Connect provider cannot run")
    if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("The test OpenID Connect provider is not installed: run scripts/setup.sh")
    process = subprocess.Popen(
        [node, "provider.mjs"],
        cwd=OIDC_DIR,
        env={
            "PATH": "/usr/bin:/bin",
            "CLIENT_ID": OIDC_CLIENT_ID,
            "CLIENT_SECRET": OIDC_CLIENT_SECRET,
            "REDIRECT_URI": redirect_uri,
            "POST_LOGOUT_REDIRECT_URI": post_logout_uri,
            "CONFORM_ID_TOKEN_CLAIMS": "1" if claims_in_userinfo_only else "0",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        issuer = ""
        for line in process.stdout:  # warnings first, then one JSON line
            if line.startswith("{"):
                issuer = json.loads(line)["issuer"]
                break
        assert issuer, "the OpenID Connect provider did not start"
        yield OidcProvider(issuer)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OidcProvider]:
    """The test OpenID Connect provider on a free loopback port, for the whole session."""
    with run_oidc_provider() as provider:
        yield provider


@pytest.fixture(scope="session")
def start_oidc_provider() -> Callable[..., Any]:
    """``with start_oidc_provider(...) as provider:`` runs another (see run_oidc_provider)."""
    return run_oidc_provider
