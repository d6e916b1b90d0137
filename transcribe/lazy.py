"""A package face that loads each public name from its module on first use (PEP 562).

Both ``transcribe`` and ``summarise`` use it, so that importing a light name (``Draft``,
``Transcript``) does not load PyAV, NumPy or SciPy with the heavy ones.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_face"]


def lazy_face(
    package: str, homes: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a package whose names load lazily.

    Args:
        package: The package's name, for the error on an unknown attribute.
        homes: Each public name and the module that defines it.
        namespace: The package's ``globals()``; a name loaded once is kept there.
    """

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(homes))

    return __getattr__, __dir__
