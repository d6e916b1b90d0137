"""The secrets of an embedded installation, made on its first start and kept in files.

On one machine with SQLite (``make run``) nobody should have to generate and export
secrets before trying carenotes. So the first start writes the session secret key and
the master key into two files readable only by their owner, in the user's config folder
(``$XDG_CONFIG_HOME/carenotes``, else ``~/.config/carenotes``): outside the data folder,
so a backup of the data never carries the key that opens it. Later starts read the same
files. A production deployment (``CARENOTES_ENV=production`` or a server database) never
comes here: its secrets are given explicitly.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from policies import ConfigError
from webapp.keys import generate_master_key

__all__ = [
    "LocalSecrets",
    "default_config_dir",
    "ensure_local_secrets",
    "first_start_message",
]

logger = logging.getLogger(__name__)

SECRET_KEY_FILE = "secret_key"  # noqa: S105 (a file name, not a secret)
MASTER_KEY_FILE = "master.key"


@dataclass(frozen=True)
class LocalSecrets:
    """The secret files of an embedded installation.

    Attributes:
        folder: The folder holding them (mode 0700).
        secret_key_file: Holds the key that signs session cookies (mode 0600).
        master_key_file: Holds the master key that opens the stored recordings and
            notes (mode 0600).
        created: The files made by this call; empty when both already existed.
    """

    folder: Path
    secret_key_file: Path
    master_key_file: Path
    created: tuple[Path, ...] = ()

    def read_secret_key(self) -> str:
        """Return the session secret key kept in :attr:`secret_key_file`."""
        return self.secret_key_file.read_text(encoding="ascii").strip()


def default_config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Return where an embedded installation keeps its secrets.

    Args:
        environ: The environment to read; ``os.environ`` when omitted.

    Returns:
        ``$XDG_CONFIG_HOME/carenotes`` when that variable holds an absolute path, else
        ``~/.config/carenotes``.
    """
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME", "").strip()
    if base and Path(base).is_absolute():
        return Path(base) / "carenotes"
    home = env.get("HOME", "").strip()
    return (Path(home) if home else Path.home()) / ".config" / "carenotes"


def ensure_local_secrets(
    folder: Path, data_dir: Path, *, secret_key: bool = True, master_key: bool = True
) -> LocalSecrets:
    """Read the embedded installation's secret files, making any that are missing.

    Args:
        folder: The folder for the secret files (made with mode 0700 if missing).
        data_dir: The data folder; the secrets must not be inside it, or a backup of
            the data would carry the key that opens it.
        secret_key: Make the session secret key's file if it is missing.
        master_key: Make the master key's file if it is missing.

    Returns:
        The files, and which of them this call made.

    Raises:
        ConfigError: The folder is inside the data folder, or a file cannot be written
            or read.
    """
    folder = folder.expanduser().resolve()
    if folder.is_relative_to(data_dir.expanduser().resolve()):
        raise ConfigError(
            f"The secrets folder {folder} is inside the data folder {data_dir}, so a backup "
            "of the data would carry the key that opens it. Set CARENOTES_CONFIG_DIR to a "
            "folder outside the data folder."
        )
    found = LocalSecrets(folder, folder / SECRET_KEY_FILE, folder / MASTER_KEY_FILE)
    created: list[Path] = []
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if secret_key and _write_new(found.secret_key_file, secrets.token_urlsafe(48)):
            created.append(found.secret_key_file)
        if master_key and _write_new(found.master_key_file, generate_master_key()):
            created.append(found.master_key_file)
        too_short = secret_key and len(found.read_secret_key()) < 16
    except OSError as exc:
        raise ConfigError(
            f"The secrets in {folder} cannot be read or written ({exc.strerror or exc}). "
            "Check that the folder belongs to this account, or set CARENOTES_CONFIG_DIR to "
            "another folder."
        ) from None
    if too_short:
        raise ConfigError(
            f"{found.secret_key_file} holds no usable secret key (16 characters at least). "
            "Delete the file to have a new one made on the next start."
        )
    if created:
        logger.info("made %d secret file(s) in %s", len(created), folder)
    return LocalSecrets(found.folder, found.secret_key_file, found.master_key_file, tuple(created))


def first_start_message(made: LocalSecrets) -> str:
    """Say, once, where the new secrets are and what to back up.

    Args:
        made: What :func:`ensure_local_secrets` returned on the first start.

    Returns:
        A few lines for the person starting carenotes.
    """
    names = {made.master_key_file: "master key", made.secret_key_file: "session key"}
    listed = "".join(f"  {names[path]}: {path}\n" for path in made.created)
    return (
        "carenotes made its secrets on this first start, in files only you can read:\n"
        f"{listed}"
        "Back up the master key now, somewhere other than the data folder's backups (a "
        "password manager, or a copy kept under lock and key): without it the recordings "
        "and notes cannot be read. Later starts use the same files."
    )


def _write_new(path: Path, text: str) -> bool:
    """Write ``text`` to a new file readable only by its owner; keep an existing file."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(text + "\n")
    return True
