"""Turn config and summary values into JSON, without importing numpy or torch."""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping

TYPE_CHECKING = False  # typing is not imported at run time: it costs ~4 ms of `import tracklet`
if TYPE_CHECKING:
    from typing import Any

from ._errors import UsageError, warn_once
from .tracking._values import MAX_DEPTH, check_text, describe, explain, read_items, type_name

__all__ = ["to_jsonable"]

_BIG = 2**1024  # numbers are float64-sized everywhere: an int this large has no place in a chart or a filter


def to_jsonable(value: Any, where: str = "value", quiet: bool = False) -> Any:
    """Return ``value`` as plain JSON types; what has no JSON form becomes ``str(value)`` with one warning.

    Sets become sorted lists, enums their value, dataclasses and objects with
    ``to_dict()`` dicts, numpy/torch scalars numbers, arrays lists, paths strings.
    ``quiet=True`` is for values a framework hands over (configs holding dtypes, callables and
    classes): no warning, classes become their qualified names, and what cannot be stored
    becomes its text instead of an error.

    Example:
        >>> to_jsonable({"lr": np.float32(1e-3), "modes": {"b", "a"}}, "config")
        {'lr': 0.0010000000474974513, 'modes': ['a', 'b']}

    Raises:
        UsageError: (not with ``quiet``) ``value`` nests itself or more than ``MAX_DEPTH`` levels,
            holds an int beyond float64's range or text UTF-8 cannot encode, or has no JSON form and
            ``str()`` of it raises. ``where`` names the place in the message.
    """
    return _convert(value, where, [], quiet)


def _convert(value: Any, where: str, path: list[int], quiet: bool = False) -> Any:
    if not quiet:
        return _strict(value, where, path, False)
    try:
        return _strict(value, where, path, True)
    except UsageError:  # only this value becomes text; its siblings keep their structure
        return _text_of(value)


def _text_of(value: Any) -> str:
    try:
        text = str(value)
        if isinstance(text, str):
            return text.encode("utf-8", "backslashreplace").decode("utf-8")
    except Exception:
        pass
    return f"<{type_name(value)}>"


def _strict(value: Any, where: str, path: list[int], quiet: bool) -> Any:
    if value is None or value is True or value is False:
        return value
    tv = type(value)
    if tv is str:
        return value if value.isascii() else check_text(value, f"{where}:")
    if tv is float:
        return value
    if tv is int:
        return _int(value, where)
    if isinstance(value, str):
        return check_text(value, f"{where}:")
    if isinstance(value, int):  # IntEnum and other subclasses: the value they hold
        return _int(int.__index__(value), where)
    if isinstance(value, float):
        return float.__float__(value)
    if id(value) in path:
        raise UsageError(f"{where} (a {type_name(value)}) contains itself (a circular reference)")
    if len(path) >= MAX_DEPTH:
        raise UsageError(f"{where} (a {type_name(value)}) is nested more than {MAX_DEPTH} levels deep")
    path.append(id(value))  # objects too: a to_dict() that returns its own object is a cycle as well
    try:
        if isinstance(value, (Mapping, list, tuple, set, frozenset)):
            return _container(value, where, path, quiet)
        return _other(value, where, path, quiet)
    finally:
        path.pop()


def _int(value: int, where: str) -> int:
    if -_BIG < value < _BIG:
        return value
    raise UsageError(f"{where} is {describe(value)}, beyond float64's range (about 1.8e308); store it as a string")


def _container(value: Any, where: str, path: list[int], quiet: bool) -> Any:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in read_items(value, where):
            key = _key(k, where)
            if key in out:
                raise UsageError(f"{where} has two keys that are both {key!r} as text; make them distinct")
            out[key] = _convert(v, f"{where}[{key!r}]", path, quiet)
        return out
    try:
        items = list(value)
    except Exception as e:
        raise UsageError(f"{where} is a {type_name(value)} that could not be iterated ({explain(e)})") from None
    if isinstance(value, (list, tuple)):
        return [_convert(v, f"{where}[{i}]", path, quiet) for i, v in enumerate(items)]
    converted = [_convert(v, f"{where}[]", path, quiet) for v in items]
    try:
        return sorted(converted)
    except TypeError:
        return sorted(converted, key=repr)


def _key(k: Any, where: str) -> str:
    """A nested mapping's key as text: strings as they are, other keys (``{0: "neg"}``) as ``str(k)``."""
    if type(k) is str or isinstance(k, str):
        return check_text(k, f"{where} key")
    if k is None or isinstance(k, (bool, int, float)):
        return str(k)
    try:
        text = str(k)
    except Exception as e:
        raise UsageError(f"{where} has a key {describe(k)} that str() cannot show ({explain(e)})") from None
    if not isinstance(text, str):
        raise UsageError(f"{where} has a key {describe(k)} whose str() is not text")
    return check_text(text, f"{where} key")


def _other(value: Any, where: str, path: list[int], quiet: bool) -> Any:
    """Objects that are not JSON types: the conversions they offer, then their text."""
    enum = sys.modules.get("enum")  # no enum member can exist before the enum module is imported
    if enum is not None and isinstance(value, enum.Enum):
        return _convert(_attempt(lambda: value.value, value, where), where, path, quiet)
    if quiet and isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    fields = getattr(type(value), "__dataclass_fields__", None)
    if isinstance(fields, dict) and not isinstance(value, type):
        return _convert(_attempt(lambda: {name: getattr(value, name) for name in fields}, value, where), where, path, quiet)
    if isinstance(value, os.PathLike):
        return _convert(_attempt(lambda: os.fspath(value), value, where), where, path, quiet)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "backslashreplace")
    for method in ("to_dict", "item", "tolist"):
        try:
            fn = getattr(value, method, None)
            if not callable(fn) or (method == "item" and getattr(value, "ndim", 0) != 0):
                continue
            result = fn()
        except Exception:
            continue  # a conversion that fails is not offered: try the next, then the text
        return _convert(result, where, path, quiet)
    try:
        isoformat = getattr(value, "isoformat", None)
        if callable(isoformat):
            text = isoformat()
            if isinstance(text, str):
                return check_text(text, f"{where}:")
    except UsageError:
        raise
    except Exception:
        pass
    try:
        text = str(value)
        if not isinstance(text, str):
            raise TypeError(f"__str__ returned {type_name(text)}")
    except Exception as e:
        raise UsageError(
            f"{where} is a {type_name(value)}, which has no JSON form, and str() of it raised "
            f"{explain(e)}; convert it to a dict, list, number or string yourself"
        ) from None
    text = check_text(text, f"{where}:")
    if quiet:
        return text
    warn_once(
        f"jsonable:{type_name(value)}",
        f"tracklet: {where} is a {type_name(value)}, which has no JSON form; "
        f"it is stored as its text {text[:80]!r}. Convert it yourself to keep its structure.",
    )
    return text


def _attempt(fn: Any, value: Any, where: str) -> Any:
    try:
        return fn()
    except Exception as e:
        raise UsageError(f"{where} is a {type_name(value)} that could not be read ({explain(e)})") from None


def is_finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
