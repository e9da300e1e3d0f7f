"""Undoable patches of SDK methods: ``Patch(owner, "create", make_wrapper)``, ``apply()`` and ``undo()``."""

from __future__ import annotations

import importlib.util
from typing import Any, Callable

__all__ = ["Patch", "Patches", "SdkPatch"]


class Patch:
    """Replace ``owner.name`` by ``make_wrapper(original)``; ``undo()`` puts the original back."""

    def __init__(self, owner: Any, name: str, make_wrapper: Callable[[Any], Any]) -> None:
        self.owner, self.name, self.make_wrapper = owner, name, make_wrapper
        self.original: Any = None

    def apply(self) -> None:
        if self.original is not None:
            return
        self.original = self.owner.__dict__[self.name]
        setattr(self.owner, self.name, self.make_wrapper(self.original))

    def undo(self) -> None:
        if self.original is not None:
            setattr(self.owner, self.name, self.original)
            self.original = None


class Patches:
    """A set of patches applied and undone together."""

    def __init__(self, patches: list[Patch]) -> None:
        self.patches = patches

    def apply(self) -> Patches:
        for p in self.patches:
            p.apply()
        return self

    def undo(self) -> None:
        for p in reversed(self.patches):
            p.undo()

    @property
    def applied(self) -> bool:
        return any(p.original is not None for p in self.patches)


class SdkPatch:
    """``patch()`` and ``unpatch()`` of one SDK: ``make()`` lists its patches, called only when ``module`` is installed."""

    def __init__(self, module: str, make: Callable[[], list[Patch]]) -> None:
        self.module, self.make = module, make
        self.patches: Patches | None = None

    def patch(self) -> Patches | None:
        if self.patches is not None and self.patches.applied:
            return self.patches
        if importlib.util.find_spec(self.module) is None:
            return None
        self.patches = Patches(self.make()).apply()
        return self.patches

    def unpatch(self) -> None:
        if self.patches is not None:
            self.patches.undo()
            self.patches = None
