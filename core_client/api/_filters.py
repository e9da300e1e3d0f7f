"""wandb's MongoDB-style run filters and ``order`` strings, applied to runs' documents."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

from .._errors import UsageError

__all__ = ["lookup", "matches", "sorted_runs"]


def lookup(doc: dict[str, Any], field: str) -> Any:
    if field.startswith(("config.", "summary.", "summary_metrics.")):
        section, rest = field.split(".", 1)
        value: Any = doc[section]
        if rest in value:  # keys may contain dots or slashes themselves
            value = value[rest]
        else:
            for part in rest.split("."):
                if isinstance(value, dict) and part in value:
                    value = value[part]
                else:
                    return _MISSING
        if isinstance(value, dict) and set(value) == {"value"}:  # wandb's config.x.value form
            value = value["value"]
        return value
    if field.endswith(".value") and field.startswith("config."):
        return lookup(doc, field[: -len(".value")])
    return doc.get(field, _MISSING)


_MISSING = object()


def _compare(value: Any, cond: Any) -> bool:
    if not isinstance(cond, dict) or not any(str(k).startswith("$") for k in cond):
        if isinstance(value, list) and not isinstance(cond, list):
            return cond in value
        return value == cond
    for op, arg in cond.items():
        try:
            if op == "$eq":
                ok = value == arg or (isinstance(value, list) and arg in value)
            elif op == "$ne":
                ok = value != arg
            elif op == "$gt":
                ok = value is not _MISSING and value is not None and value > arg
            elif op == "$gte":
                ok = value is not _MISSING and value is not None and value >= arg
            elif op == "$lt":
                ok = value is not _MISSING and value is not None and value < arg
            elif op == "$lte":
                ok = value is not _MISSING and value is not None and value <= arg
            elif op == "$in":
                ok = any(v in arg for v in value) if isinstance(value, list) else value in arg
            elif op == "$nin":
                ok = not (any(v in arg for v in value) if isinstance(value, list) else value in arg)
            elif op == "$exists":
                ok = (value is not _MISSING) == bool(arg)
            elif op == "$regex":
                import re

                ok = isinstance(value, str) and re.search(arg, value) is not None
            else:
                raise UsageError(f"unknown filter operator {op!r}; use $eq $ne $gt $gte $lt $lte $in $nin $exists $regex")
        except TypeError:
            ok = False
        if not ok:
            return False
    return True


def matches(doc: dict[str, Any], filters: dict[str, Any]) -> bool:
    for field, cond in filters.items():
        if field == "$and":
            if not all(matches(doc, f) for f in cond):
                return False
        elif field == "$or":
            if not any(matches(doc, f) for f in cond):
                return False
        elif field == "$not":
            if matches(doc, cond):
                return False
        elif not _compare(lookup(doc, field), cond):
            return False
    return True


def sorted_runs(found: list[Any], order: str | None) -> list[Any]:
    if not order:
        return found
    desc = order.startswith("-")
    field = order.lstrip("+-")
    present = [(r, lookup(r._doc(), field)) for r in found]
    with_value = [(r, v) for r, v in present if v is not _MISSING and v is not None]
    without = [r for r, v in present if v is _MISSING or v is None]
    try:
        with_value.sort(key=lambda rv: rv[1], reverse=desc)
    except TypeError:
        with_value.sort(key=lambda rv: str(rv[1]), reverse=desc)
    return [r for r, _ in with_value] + without
