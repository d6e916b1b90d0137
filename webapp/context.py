"""The objects the app factory builds once and every request shares."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import current_app

from policies import AccessPolicy
from webapp import crypto
from webapp.settings import Settings
from webapp.storage import BlobStore

__all__ = ["Services", "Vault", "aad", "services"]


def aad(record_type: str, record_id: str, field_name: str) -> bytes:
    """Associated data binding a blob to its record and field."""
    return crypto.aad_for(record_type, record_id, field_name)


@dataclass
class Vault:
    """Encrypts and decrypts case content with per-recording data keys.

    Attributes:
        ring: The master key ring that wraps data keys.
        store: The encrypted blob store for audio.
    """

    ring: Any
    store: BlobStore

    def new_key(self, recording_id: str) -> tuple[bytes, bytes]:
        """Return a fresh data key for a recording and its wrapped form."""
        data_key = crypto.new_data_key()
        wrapped = crypto.wrap_key(self.ring, data_key, aad("recording", recording_id, "data_key"))
        return data_key, wrapped

    def data_key(self, recording_id: str, wrapped: bytes) -> bytes:
        """Unwrap a recording's data key."""
        return crypto.unwrap_key(self.ring, wrapped, aad("recording", recording_id, "data_key"))

    def seal(self, key: bytes, record_type: str, record_id: str, name: str, value: Any) -> bytes:
        """Encrypt ``value`` (text, or anything JSON can hold) for one field."""
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        return crypto.encrypt(key, text.encode("utf-8"), aad(record_type, record_id, name))

    def open_text(
        self, key: bytes, record_type: str, record_id: str, name: str, blob: bytes
    ) -> str:
        """Decrypt a text field."""
        return crypto.decrypt(key, blob, aad(record_type, record_id, name)).decode("utf-8")

    def open_json(
        self, key: bytes, record_type: str, record_id: str, name: str, blob: bytes
    ) -> Any:
        """Decrypt a JSON field."""
        return json.loads(self.open_text(key, record_type, record_id, name, blob))


@dataclass
class Services:
    """Everything a request or a job needs, built once per app.

    Attributes:
        settings: The settings.
        engine: The database engine.
        policy: The access policy.
        vault: Encryption of case content.
        templates: Note templates by name (``policies.load_templates()``).
        transcriber_factory: Returns the transcriber (loaded on first use).
        drafter_factory: Returns the note drafter (loaded on first use).
        group_map: The single sign-on group mapping (``policies.sso.GroupMap``), or
            ``None`` when single sign-on is not configured.
    """

    settings: Settings
    engine: sa.Engine
    policy: AccessPolicy
    vault: Vault
    templates: dict[str, Any]
    transcriber_factory: Callable[[], Any]
    drafter_factory: Callable[[], Any]
    worker: Any = None
    group_map: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _models: dict[str, Any] = field(default_factory=dict)

    def model(self, name: str) -> Any:
        """Return the transcriber (``"transcriber"``) or drafter, loading it once."""
        with self._lock:
            if name not in self._models:
                factory = (
                    self.transcriber_factory if name == "transcriber" else self.drafter_factory
                )
                self._models[name] = factory()
            return self._models[name]


def services() -> Services:
    """The current app's :class:`Services`."""
    return current_app.extensions["carenotes"]
