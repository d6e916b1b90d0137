"""Drafting with a model served over an OpenAI-compatible endpoint, against a real server.

The server is llama.cpp's own (``python -m llama_cpp.server``) running the packaged
Qwen2.5-0.5B model on this machine's loopback address, as a council's GPU server would
run a bigger one with vLLM or Ollama.
"""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from policies import Template
from summarise import DraftOptions, draft_note, load_drafter, transcript_from_turns
from summarise.packaged import prepare_language_model
from summarise.served import ModelServerUnavailable, ServedDrafter
from summarise.social_eval import score_social

MODEL = "qwen2.5-0.5b"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def model_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real llama.cpp chat server on loopback, serving the packaged 0.5B model."""
    port = _free_port()
    path = prepare_language_model(MODEL)
    # The server writes a lot as it loads: to a file, so that a full pipe cannot stall it.
    log_path = tmp_path_factory.mktemp("model-server") / "server.log"
    log = log_path.open("wb")
    # llama.cpp's server, with the weights loaded as stored as the product loads them
    # (repacked for AMX, the first decode crashed on a Xeon with AMX).
    serve = (
        "import runpy\n"
        "from summarise.model import weights_as_stored\n"
        "with weights_as_stored():\n"
        "    runpy.run_module('llama_cpp.server', run_name='__main__')\n"
    )
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-c", serve, "--model", str(path),
         "--model_alias", MODEL, "--host", "127.0.0.1", "--port", str(port),
         "--n_ctx", "4096"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while True:
            if server.poll() is not None:
                err = log_path.read_text(errors="replace")
                pytest.fail(f"the model server did not start: {err[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=5) as answer:  # noqa: S310
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the model server did not answer within 180 s")
            time.sleep(1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def _draft(script: dict[str, Any], templates: dict[str, Template], drafter: Any,
           embedder: Any) -> Any:  # fmt: skip
    transcript = transcript_from_turns(script["turns"], source=script["id"])
    return draft_note(transcript, templates[script["template"]], drafter, embedder=embedder,
                      participants=script.get("participants"), options=DraftOptions())  # fmt: skip


@pytest.mark.slow
def test_a_served_model_writes_the_draft_and_every_sentence_is_checked_and_cited(
    model_server: str, scripts: dict, templates: dict, embedder: Any
) -> None:
    drafter = load_drafter(MODEL, url=model_server)
    assert isinstance(drafter, ServedDrafter)
    script = scripts["social-dev-carer-01"]
    draft = _draft(script, templates, drafter, embedder)
    assert draft.model == f"{MODEL} @ {model_server.split('/')[2]}"
    assert draft.model_calls > 0 and draft.model_accepted > 0
    statements = [s for section in draft.sections for s in section.statements]
    assert statements and all(s.citations for s in statements)
    score = score_social(script, draft)
    assert score.invented == ()
    assert score.must_flag == 1.0, score.missed_flags


def test_a_server_that_is_down_fails_the_draft_with_a_clear_error_that_can_be_retried(
    scripts: dict, templates: dict, embedder: Any
) -> None:
    drafter = ServedDrafter(f"http://127.0.0.1:{_free_port()}/v1", MODEL, timeout=5)
    with pytest.raises(ModelServerUnavailable, match="cannot reach the model server") as err:
        _draft(scripts["social-dev-carer-01"], templates, drafter, embedder)
    assert err.value.retryable


class _Slow(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - the standard library's name
        time.sleep(3)
        try:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"{}")
        except OSError:
            pass  # the client gave up waiting, as it should

    def log_message(self, *args: Any) -> None:
        pass


class _NotChat(_Slow):
    def do_POST(self) -> None:  # noqa: N802
        body = json.dumps({"choices": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def http_server(request: pytest.FixtureRequest) -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), request.param)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("http_server", [_Slow], indirect=True)
def test_a_server_slower_than_the_timeout_is_reported_as_too_slow(http_server: str) -> None:
    drafter = ServedDrafter(http_server, MODEL, timeout=0.5)
    with pytest.raises(ModelServerUnavailable, match="did not answer within"):
        drafter.generate([{"role": "user", "content": "Hello"}])


@pytest.mark.parametrize("http_server", [_NotChat], indirect=True)
def test_an_answer_that_is_not_a_chat_reply_is_reported(http_server: str) -> None:
    drafter = ServedDrafter(http_server, MODEL)
    with pytest.raises(ModelServerUnavailable, match="without a chat reply"):
        drafter.generate([{"role": "user", "content": "Hello"}])


def test_a_model_server_address_must_be_http_and_name_a_model() -> None:
    from policies.errors import ModelUnavailable

    with pytest.raises(ModelUnavailable, match="not an http"):
        ServedDrafter("file:///etc/passwd", MODEL)
    with pytest.raises(ModelUnavailable, match="model's name"):
        ServedDrafter("http://127.0.0.1:9/v1", "")


def test_prompt_lookup_decoding_leaves_greedy_output_as_the_model_writes_it() -> None:
    from summarise.model import LlamaCppDrafter, file_sha256, packaged_model_path

    path = packaged_model_path()
    messages = [
        {"role": "system", "content": "Rewrite what was said in the third person."},
        {"role": "user", "content": "I have been sleeping on the settee for three weeks "
                                    "because I can't manage the stairs."},
    ]  # fmt: skip
    plain = LlamaCppDrafter(path, file_sha256(path), lookup=0).generate(messages, 40)
    guessed = LlamaCppDrafter(path, file_sha256(path), lookup=4).generate(messages, 40)
    # Guessed tokens are checked several at a time, and a batch can round the last bits
    # differently from one token at a time (on CPUs with AMX, another kernel does it):
    # a near-tie late in the reply may then go the other way. The reply is the model's
    # own up to there, not the guesses'.
    same = 0
    for a, b in zip(plain.split(), guessed.split(), strict=False):
        if a != b:
            break
        same += 1
    assert plain.strip() and same >= min(12, len(plain.split()))
