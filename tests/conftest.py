"""Fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The folder of real test recordings and conversations (see its README)."""
    return DATA
