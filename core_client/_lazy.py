"""Names a package re-exports from modules loaded on first use (a module ``__getattr__``, STYLE 6)."""

from __future__ import annotations

import importlib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Mapping


def lazy_attribute(package: str, homes: Mapping[str, str], name: str) -> object:
    """``name`` read from the module ``homes[name]`` (relative to ``package``), importing it now if it is not yet.

    Raises:
        AttributeError: ``homes`` names no module for ``name`` (as a missing attribute does).
    """
    home = homes.get(name)
    if home is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home, package), name)
