"""A newcomer's first start, in a real Chromium: `carenotes serve` with nothing set makes
its secrets, prints the first administrator's one-time password, and every page leads to
Change password until the administrator has chosen their own.

Nothing is faked: the command is the installed `carenotes`, run as its own process with
an empty home and config folder and no CARENOTES_* variable, and the browser is real.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CARENOTES = Path(sys.executable).with_name("carenotes")
NEW_PASSWORD = "marble kettle orchard lantern"
STARTED_WITHIN_S = 60.0

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's Chromium is not installed"),
    pytest.mark.skipif(not CARENOTES.exists(), reason="the carenotes command is not installed"),
]


@dataclass(frozen=True)
class Served:
    """A `carenotes serve` process that has answered its sign-in page.

    Attributes:
        base: The address it serves, ``http://127.0.0.1:PORT``.
        output: The file its standard output and error are written to.
        config_dir: ``$XDG_CONFIG_HOME`` as it was given to the process.
        home: ``$HOME`` as it was given to the process.
    """

    base: str
    output: Path
    config_dir: Path
    home: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (local http)
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server and the gunicorn worker it started: politely, then for certain."""
    # The server was started in a process group of its own, so this reaches only it
    # and its gunicorn worker.
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        except ProcessLookupError:
            process.wait(timeout=10)
    try:
        os.killpg(process.pid, signal.SIGKILL)  # a worker its server left behind
    except ProcessLookupError:
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """`carenotes serve` as a newcomer starts it: nothing exported, an empty home."""
    home, config_dir = tmp_path / "home", tmp_path / "config"
    home.mkdir()
    config_dir.mkdir()
    env = {name: value for name, value in os.environ.items() if not name.startswith("CARENOTES_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(config_dir))
    # The in-process worker stays on, as for a newcomer: it loads no model until a job
    # arrives, so it costs the test nothing.
    port = _free_port()
    output = tmp_path / "serve.log"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [
                str(CARENOTES),
                "serve",
                "--data",
                str(tmp_path / "data"),
                "--port",
                str(port),
                "--threads",
                "2",
            ],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTED_WITHIN_S
        while not _answers(f"{base}/login"):
            if process.poll() is not None:
                pytest.fail(f"carenotes serve stopped at start:\n{output.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"carenotes serve did not answer in time:\n{output.read_text()}")
            time.sleep(0.2)
        yield Served(base=base, output=output, config_dir=config_dir, home=home)
    finally:
        _stop(process)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_newcomer_signs_in_with_the_printed_password_and_must_change_it_first(
    served, launch_chromium
):
    from playwright.sync_api import sync_playwright

    printed = served.output.read_text()
    found = re.search(r"^\s*username: (\S+)\n\s*password: (\S+)$", printed, re.MULTILINE)
    assert found, printed
    username, password = found.groups()
    assert username == "admin"

    secrets = served.config_dir / "carenotes"
    assert _mode(secrets) == 0o700
    for name in ("master.key", "secret_key"):
        assert _mode(secrets / name) == 0o600, name
        assert str(secrets / name) in printed
    assert "Back up the master key" in printed
    assert not (served.home / ".config").exists()

    base = served.base
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            context.set_default_timeout(30_000)
            page = context.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: problems.append(str(exc)))

            page.goto(f"{base}/login")
            page.fill("#username", username)
            page.fill("#password", password)
            page.click("button:has-text('Sign in')")
            page.wait_for_url(re.compile(r"/account/password$"))
            assert page.inner_text("h1") == "Change your password"
            assert "no other page opens" in page.inner_text("main")

            # Any other page, typed in, leads back to Change password.
            for wanted in ("/admin/users", "/recordings"):
                page.goto(f"{base}{wanted}")
                assert page.url.startswith(f"{base}/account/password"), (wanted, page.url)
                assert page.inner_text("h1") == "Change your password"

            page.goto(f"{base}/account/password")
            page.fill("#current_password", password)
            page.fill("#new_password", NEW_PASSWORD)
            page.fill("#repeat_password", NEW_PASSWORD)
            page.click("button:has-text('Change password')")
            page.wait_for_url(re.compile(r"/admin/users$"))
            assert page.inner_text("h1") == "Users"
            assert "Your password was changed" in page.inner_text("body")

            # The requirement is lifted: another page now opens as itself.
            page.goto(f"{base}/admin/api-tokens")
            assert "/account/password" not in page.url
            assert problems == []

            # The one-time password is spent; the new one signs in straight to the start page.
            page.click("button:has-text('Sign out')")
            page.wait_for_url(re.compile(r"/login"))
            page.fill("#username", username)
            page.fill("#password", password)
            page.click("button:has-text('Sign in')")
            page.wait_for_selector("[role=alert]")
            assert "/login" in page.url
            page.fill("#username", username)
            page.fill("#password", NEW_PASSWORD)
            page.click("button:has-text('Sign in')")
            page.wait_for_url(re.compile(r"/admin/users$"))
            # The browser reports the refused sign-in's 401 as a console error.
            assert [problem for problem in problems if "401" not in problem] == []
        finally:
            browser.close()
