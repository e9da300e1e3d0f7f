"""Turn config and summary values into JSON, without importing numpy or torch."""

from __future__ import annotations

import math
import os
import sys

TYPE_CHECKING = False  # typing is not imported at run time: it costs ~4 ms of `import tracklet`
if TYPE_CHECKING:
    from typing import Any

from ._errors import warn_once

__all__ = ["to_jsonable"]


def to_jsonable(value: Any, where: str) -> Any:
    """Return ``value`` as plain JSON types; what has no JSON form becomes ``str(value)`` with one warning.

    Sets become sorted lists, enums their value, dataclasses and objects with
    ``to_dict()`` dicts, numpy/torch scalars numbers, arrays lists, paths strings.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, (set, frozenset)):
        items = [to_jsonable(v, f"{where}[]") for v in value]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=repr)
    enum = sys.modules.get("enum")  # no enum member can exist before the enum module is imported
    if enum is not None and isinstance(value, enum.Enum):
        return to_jsonable(value.value, where)
    fields = getattr(type(value), "__dataclass_fields__", None)
    if fields is not None:
        return to_jsonable({name: getattr(value, name) for name in fields}, where)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        try:
            return to_jsonable(to_dict(), where)
        except Exception:
            pass
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        try:
            return to_jsonable(value.item(), where)
        except Exception:
            pass
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        try:
            return to_jsonable(tolist(), where)
        except Exception:
            pass
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    text = str(value)
    warn_once(
        f"jsonable:{type(value).__qualname__}",
        f"tracklet: {where} is a {type(value).__qualname__}, which has no JSON form; "
        f"it is stored as its text {text[:80]!r}. Convert it yourself to keep its structure.",
    )
    return text


def is_finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
