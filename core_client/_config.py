"""``run.config``: hyperparameters with attribute and item access, recorded as they change."""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time: it costs ~4 ms of `import tracklet`
if TYPE_CHECKING:
    from typing import Any, Callable, Iterator

from ._errors import UsageError
from ._jsonable import to_jsonable

__all__ = ["Config", "config_items"]


def config_items(source: Any) -> dict[str, Any]:
    """Read a dict, dataclass, ``argparse.Namespace`` or object with ``to_dict()`` as a dict."""
    if source is None:
        return {}
    if isinstance(source, Config):
        return source.as_dict()
    if isinstance(source, dict):
        items = source
    elif hasattr(source, "keys") and hasattr(source, "__getitem__"):
        items = {k: source[k] for k in source.keys()}
    elif callable(getattr(source, "to_dict", None)):
        items = source.to_dict()
    elif hasattr(source, "__dataclass_fields__") and not isinstance(source, type):
        items = {name: getattr(source, name) for name in source.__dataclass_fields__}
    elif hasattr(source, "__dict__") and type(source).__name__ == "Namespace":
        items = vars(source)
    else:
        raise UsageError(
            f"config must be a dict, dataclass, argparse.Namespace or an object with to_dict(); "
            f"got {type(source).__name__}"
        )
    for key in items:
        if not isinstance(key, str):
            raise UsageError(f"config keys must be strings; got {key!r} of type {type(key).__name__}")
    return dict(items)


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
        for key, value in items.items():
            if key.startswith("_"):
                raise UsageError(f"config key {key!r} starts with '_', which tracklet reserves")
            new = to_jsonable(value, f"config[{key!r}]")
            old = self._items.get(key, _MISSING)
            if old is not _MISSING and old != new and not allow_val_change and not _both_nan(old, new):
                raise UsageError(
                    f"config[{key!r}] is already {old!r}; refusing to change it to {new!r}. "
                    "Pass allow_val_change=True to config.update() if the change is meant."
                )
            if old is _MISSING or old != new:
                changed[key] = new
        if changed:
            self._items.update(changed)
            if self._on_change is not None:
                self._on_change(changed)

    def setdefaults(self, values: Any) -> None:
        """Set only the keys that are not set yet."""
        self.update({k: v for k, v in config_items(values).items() if k not in self._items})

    def __setitem__(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise UsageError(f"config keys must be strings; got {key!r} of type {type(key).__name__}")
        self.update({key: value})

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


def _both_nan(a: Any, b: Any) -> bool:
    return isinstance(a, float) and isinstance(b, float) and a != a and b != b
