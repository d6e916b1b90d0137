"""Master keys: generating them, reading them from the environment, and rotating them.

A master key wraps (encrypts) each recording's data key. It lives outside the database,
in ``CARENOTES_MASTER_KEY`` or in a file named by ``CARENOTES_MASTER_KEY_FILE``. After a
rotation, earlier keys go in ``CARENOTES_PREVIOUS_MASTER_KEYS`` until
``carenotes keys rotate`` has re-wrapped every data key.

Key material is never logged and never appears in an error message or a ``repr``; only
a key's non-secret fingerprint (:attr:`MasterKey.key_id`) is.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from policies import ConfigError

__all__ = ["ConfigError", "KeyRing", "MasterKey", "generate_master_key"]

logger = logging.getLogger(__name__)

KEY_BYTES = 32
ENV_KEY = "CARENOTES_MASTER_KEY"
ENV_KEY_FILE = "CARENOTES_MASTER_KEY_FILE"
ENV_PREVIOUS_KEYS = "CARENOTES_PREVIOUS_MASTER_KEYS"

_KEY_ID_CONTEXT = b"carenotes-master-key-id\x00"
KEY_ID_BYTES = 8

_HOW_TO_SET = (
    "Generate a key with `carenotes keys generate`, then either set "
    f"{ENV_KEY} to it or save it in a file readable only by the service account and set "
    f"{ENV_KEY_FILE} to that file's path. Keep the key outside the database and its "
    "backups: without it the stored recordings and notes cannot be read."
)


def generate_master_key() -> str:
    """Return a new random master key, as URL-safe base64 of 32 bytes.

    This is what ``carenotes keys generate`` prints.

    Returns:
        A 44-character string suitable for ``CARENOTES_MASTER_KEY``.
    """
    return base64.urlsafe_b64encode(os.urandom(KEY_BYTES)).decode("ascii")


@dataclass(frozen=True)
class MasterKey:
    """A 256-bit key-encryption key, held outside the database.

    Attributes:
        secret: The 32 raw key bytes. Never shown by ``repr`` and never logged.
        key_id: A non-secret fingerprint of the key (16 hex digits), stored beside each
            wrapped data key so the right master key can be found after a rotation.
    """

    secret: bytes = field(repr=False)
    key_id: str = field(init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.secret, bytes) or len(self.secret) != KEY_BYTES:
            raise ConfigError(f"A master key must be exactly {KEY_BYTES} bytes. {_HOW_TO_SET}")
        digest = hashlib.sha256(_KEY_ID_CONTEXT + self.secret).digest()
        object.__setattr__(self, "key_id", digest[:KEY_ID_BYTES].hex())

    @classmethod
    def from_text(cls, text: str, *, source: str) -> MasterKey:
        """Parse a key written as URL-safe base64 (padding optional).

        Args:
            text: The encoded key.
            source: Where it came from (a variable name or file path), for the message.

        Returns:
            The key.

        Raises:
            ConfigError: The text is not base64 of exactly 32 bytes. The message names
                ``source`` but never repeats the text.
        """
        cleaned = text.strip()
        padded = cleaned + "=" * (-len(cleaned) % 4)
        try:
            raw = base64.b64decode(padded, altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != KEY_BYTES:
            raise ConfigError(
                f"The master key in {source} is not valid: it must be URL-safe base64 of "
                f"exactly {KEY_BYTES} random bytes (44 characters). {_HOW_TO_SET}"
            )
        return cls(raw)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> MasterKey:
        """Read the current master key from ``CARENOTES_MASTER_KEY`` or its key file.

        Args:
            environ: The environment to read; ``os.environ`` when omitted.

        Returns:
            The key.

        Raises:
            ConfigError: Neither variable is set, both are, the file cannot be read, or
                the key is ill-formed. The message says how to set one.
        """
        env = os.environ if environ is None else environ
        inline = env.get(ENV_KEY, "").strip()
        path_text = env.get(ENV_KEY_FILE, "").strip()
        if inline and path_text:
            raise ConfigError(
                f"Both {ENV_KEY} and {ENV_KEY_FILE} are set. Set only one of them "
                "(the file is the safer choice)."
            )
        if inline:
            return cls.from_text(inline, source=ENV_KEY)
        if path_text:
            return _read_key_file(Path(path_text))
        raise ConfigError(f"No master key is set. {_HOW_TO_SET}")


@dataclass(frozen=True)
class KeyRing:
    """The current master key plus any earlier ones still needed to unwrap old data keys.

    Attributes:
        current: The key that wraps every new or re-wrapped data key.
        previous: Keys from before a rotation, used only to unwrap. They can be removed
            once ``carenotes keys rotate`` has re-wrapped every data key.
    """

    current: MasterKey
    previous: tuple[MasterKey, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KeyRing:
        """Build the ring from the environment.

        The current key comes from :meth:`MasterKey.from_env`; earlier keys from
        ``CARENOTES_PREVIOUS_MASTER_KEYS`` (comma-separated, optional).

        Args:
            environ: The environment to read; ``os.environ`` when omitted.

        Returns:
            The key ring.

        Raises:
            ConfigError: A key is missing or ill-formed.
        """
        env = os.environ if environ is None else environ
        current = MasterKey.from_env(env)
        previous = tuple(
            MasterKey.from_text(part, source=f"{ENV_PREVIOUS_KEYS} (item {number})")
            for number, part in enumerate(env.get(ENV_PREVIOUS_KEYS, "").split(","), start=1)
            if part.strip()
        )
        return cls(current, previous)

    def find(self, key_id: str) -> MasterKey | None:
        """Return the key with this fingerprint, or ``None`` if the ring lacks it."""
        for key in (self.current, *self.previous):
            if hmac.compare_digest(key.key_id, key_id):
                return key
        return None


def _read_key_file(path: Path) -> MasterKey:
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise ConfigError(
            f"{ENV_KEY_FILE} points to {path}, which does not exist. {_HOW_TO_SET}"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not text"
        raise ConfigError(
            f"The master key file {path} cannot be read ({reason}). Check that it exists, "
            f"is readable by this account and holds only the key. {_HOW_TO_SET}"
        ) from None
    try:
        mode = path.stat().st_mode
    except OSError:
        mode = 0
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        logger.warning(
            "The master key file %s can be read by other accounts; restrict it with "
            "`chmod 600 %s`.",
            path,
            path,
        )
    return MasterKey.from_text(text, source=str(path))
