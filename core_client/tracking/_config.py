"""``run.config``: hyperparameters with attribute and item access, recorded as they change."""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time: it costs ~4 ms of `import tracklet`
if TYPE_CHECKING:
    from typing import Any, Callable, Iterator

from collections.abc import Mapping

from .._errors import UsageError
from .._jsonable import to_jsonable
from ._values import check_key, describe, explain, read_items, type_name

__all__ = ["Config", "clean_config", "config_items"]


def config_items(source: Any) -> dict[str, Any]:
    """Read a dict, dataclass, ``argparse.Namespace`` or object with ``to_dict()`` as a dict; keys checked.

    Raises:
        UsageError: a source of another kind, one that cannot be read, or a key that is not a
            non-empty string (see ``tracklet.tracking._values.check_key``).
    """
    if source is None:
        return {}
    if isinstance(source, Config):
        return source.as_dict()
    try:
        pairs = _read(source)
    except UsageError:
        raise
    except Exception as e:  # user code (keys(), to_dict(), a property) raised
        raise UsageError(f"config could not be read from a {type_name(source)} ({explain(e)})") from None
    items: dict[str, Any] = {}
    for key, value in pairs:
        items[check_key(key, "config")] = value
    return items


def _read(source: Any) -> list:
    if isinstance(source, Mapping):
        return read_items(source, "config")
    if hasattr(source, "keys") and hasattr(source, "__getitem__"):
        return [(k, source[k]) for k in source.keys()]
    if callable(getattr(source, "to_dict", None)):
        items = source.to_dict()
        if not isinstance(items, Mapping):
            raise UsageError(f"config: {type_name(source)}.to_dict() gave {describe(items)}, not a dict")
        return read_items(items, f"{type_name(source)}.to_dict()")
    fields = getattr(source, "__dataclass_fields__", None)
    if isinstance(fields, dict) and not isinstance(source, type):
        return [(name, getattr(source, name)) for name in fields]
    if hasattr(source, "__dict__") and type(source).__name__ == "Namespace":
        return list(vars(source).items())
    raise UsageError(
        f"config must be a dict, dataclass, argparse.Namespace or an object with to_dict(); got {describe(source)}"
    )


def clean_config(items: dict[str, Any]) -> dict[str, Any]:
    """``items`` (from ``config_items``) with every value as JSON; ``init(config=)`` checks it before starting a run."""
    clean: dict[str, Any] = {}
    for key, value in items.items():
        if key.startswith("_"):
            raise UsageError(f"config key {key!r} starts with '_', which tracklet reserves")
        clean[key] = to_jsonable(value, f"config[{key!r}]")
    return clean


class Config:
    """Run configuration. ``config.lr``, ``config["lr"]`` and ``config.update({...})``.

    Changing a value that was already set raises unless ``allow_val_change=True``, as in wandb,
    so that a typo cannot silently rewrite what a run was started with.
    """

    def __init__(self, on_change: Callable[[dict[str, Any]], None] | None = None) -> None:
        object.__setattr__(self, "_items", {})
        object.__setattr__(self, "_on_change", on_change)

    # -- writing ---------------------------------------------------------------------------
    def update(self, values: Any = None, allow_val_change: bool = False, **kwargs: Any) -> None:
        """Set several keys at once from a dict-like source (see ``config_items``)."""
        items = config_items(values)
        items.update(kwargs)
        changed: dict[str, Any] = {}
        for key, new in clean_config(items).items():
            old = self._items.get(key, _MISSING)
            if old is _MISSING or not _same(old, new):
                if old is not _MISSING and not allow_val_change:
                    raise UsageError(
                        f"config[{key!r}] is already {old!r}; refusing to change it to {new!r}. "
                        "Pass allow_val_change=True to config.update() if the change is meant."
                    )
                changed[key] = new
        if changed:
            if self._on_change is not None:
                self._on_change(changed)  # first: a change too large to record leaves the config as it was
            self._items.update(changed)

    def setdefaults(self, values: Any) -> None:
        """Set only the keys that are not set yet."""
        self.update({k: v for k, v in config_items(values).items() if k not in self._items})

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({check_key(key, "config"): value})

    def __setattr__(self, name: str, value: Any) -> None:
        self.update({name: value})

    def __delitem__(self, key: str) -> None:
        raise UsageError("config keys cannot be deleted once recorded; set a new value instead")

    # -- reading ---------------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self._items[name]
        except KeyError:
            raise AttributeError(f"config has no key {name!r}; keys: {sorted(self._items)}") from None

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._items.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def keys(self):  # noqa: ANN201 - dict view
        return self._items.keys()

    def items(self):  # noqa: ANN201
        return self._items.items()

    def values(self):  # noqa: ANN201
        return self._items.values()

    def as_dict(self) -> dict[str, Any]:
        return dict(self._items)

    def __repr__(self) -> str:
        return f"Config({self._items!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Config):
            return self._items == other._items
        return isinstance(other, dict) and self._items == other


_MISSING = object()


def _same(a: Any, b: Any) -> bool:
    """Equal JSON values, NaN equal to NaN (at any depth): setting a value again is no change."""
    if a == b:
        return True
    if isinstance(a, float) and isinstance(b, float):
        return a != a and b != b
    if type(a) is list and type(b) is list:
        return len(a) == len(b) and all(map(_same, a, b))
    if type(a) is dict and type(b) is dict:
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return False
