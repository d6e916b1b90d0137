"""Fixtures shared by every test package."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def _own_config_folder(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Give each test its own config folder, so an embedded app that makes its secrets
    on first start never writes into the real ``~/.config/carenotes``."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
    monkeypatch.delenv("CARENOTES_CONFIG_DIR", raising=False)
    monkeypatch.delenv("CARENOTES_DATA_DIR", raising=False)
    monkeypatch.delenv("CARENOTES_ENV", raising=False)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder of real test recordings and conversations (see its README)."""
    return DATA


#: The machine's PostgreSQL server (trust authentication on loopback).
POSTGRES_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/"


@contextmanager
def _fresh_postgres_database(prefix: str) -> Iterator[str]:
    """Create a uniquely named PostgreSQL database, yield its URL, drop it afterwards.

    Skips (reported, never silently passed) when the server cannot be reached.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_SERVER + "postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_SERVER}: {exc.orig}")
    try:
        yield POSTGRES_SERVER + name
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture(scope="session")
def fresh_postgres_database() -> Callable[[str], AbstractContextManager[str]]:
    """A factory: ``with fresh_postgres_database("prefix") as url:`` gives a new database."""
    return _fresh_postgres_database
