"""Drafting with a model served on the council's own GPU server.

One GPU server can draft for many workers: vLLM, the llama.cpp server, Ollama and
``transformers serve`` all answer the same OpenAI-compatible chat endpoint
(``POST {url}/chat/completions``). :class:`ServedDrafter` speaks it with the standard
library, so nothing more is installed. What the server writes is checked exactly as what
an in-process model writes: it is only a :class:`~summarise.types.NoteDrafter`.

A server that is down, slow or answers nonsense raises :class:`ModelServerUnavailable`,
which fails the drafting job with a message that says so and lets it be retried, rather
than quietly drafting every section from the speakers' own words.
"""

from __future__ import annotations

import hashlib
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from policies.errors import ModelUnavailable

__all__ = ["ModelServerUnavailable", "ServedDrafter"]

logger = logging.getLogger(__name__)


class ModelServerUnavailable(ModelUnavailable):
    """The model server did not answer, or answered with something that is not a reply.

    Attributes:
        retryable: Always ``True``: the server may be back soon, so the job is retried.
    """

    retryable = True


class ServedDrafter:
    """A chat model behind a local OpenAI-compatible endpoint.

    Args:
        url: The endpoint's base URL, up to and including ``/v1``
            (``http://gpu-server:8000/v1``).
        model: The model's name on that server.
        timeout: Seconds to wait for one reply before giving up.
        api_key: Sent as a bearer token when the server asks for one.

    Attributes:
        name: Model name recorded in drafts (``model @ host``).
        sha256: A fingerprint of the server and model name (the weights are the
            server's; their checksum cannot be read from here).
        device: ``"server"``.
    """

    def __init__(self, url: str, model: str, timeout: float = 120.0, api_key: str = ""):
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ModelUnavailable(
                f"model server URL '{url}' is not an http(s) address; give one such as "
                "http://gpu-server:8000/v1 (CARENOTES_LLM_URL)."
            )
        if not model:
            raise ModelUnavailable(
                "a model server needs the model's name on that server (CARENOTES_LLM_MODEL)."
            )
        self.url = url.rstrip("/")
        self.model = model
        self.timeout = timeout
        self._api_key = api_key
        self.name = f"{model} @ {parsed.netloc}"
        self.sha256 = hashlib.sha256(f"{self.url}\n{model}".encode()).hexdigest()
        self.device = "server"

    def generate(self, messages: list[dict[str, str]], max_new_tokens: int = 128) -> str:
        """Return the served model's reply to chat ``messages`` (greedy).

        Raises:
            ModelServerUnavailable: The server is down, too slow, refused the request or
                answered with something that is not a chat reply.
        """
        body = json.dumps(
            {
                "model": self.model,
                "messages": messages,
                "max_tokens": max_new_tokens,
                "temperature": 0.0,
                "stream": False,
            }
        ).encode()
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            f"{self.url}/chat/completions", data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                payload: Any = json.loads(answer.read(4_000_000))
        except urllib.error.HTTPError as exc:
            raise ModelServerUnavailable(
                f"the model server at {self.url} refused the request (HTTP {exc.code}); "
                "check its model name and that it is running. The job will be retried."
            ) from exc
        except TimeoutError as exc:
            raise ModelServerUnavailable(
                f"the model server at {self.url} did not answer within {self.timeout:.0f} s; "
                "it may be overloaded. The job will be retried."
            ) from exc
        except (urllib.error.URLError, ConnectionError, OSError) as exc:
            raise ModelServerUnavailable(
                f"cannot reach the model server at {self.url} ({_reason(exc)}); check it is "
                "running and the address is right. The job will be retried."
            ) from exc
        except ValueError as exc:
            raise ModelServerUnavailable(
                f"the model server at {self.url} answered with something that is not JSON; "
                "check the address points at its OpenAI-compatible /v1 endpoint."
            ) from exc
        try:
            content = payload["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise ModelServerUnavailable(
                f"the model server at {self.url} answered without a chat reply; check the "
                "address points at its OpenAI-compatible /v1 endpoint."
            ) from exc
        return content if isinstance(content, str) else ""


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    return str(reason) or type(reason).__name__
