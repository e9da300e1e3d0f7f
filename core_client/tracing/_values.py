"""Inputs and outputs of calls as JSON: what cannot be serialised becomes a repr with a marker, what is
too large is cut at ``MAX_VALUE_BYTES`` with its original size kept.

Markers (documented in docs/tracing.md): ``{"_repr": "...", "_type": "module.Class"}`` for a value JSON
cannot hold, and ``{"_truncated": true, "_size": bytes, "_head": "first bytes of its JSON"}`` for a value
whose JSON is longer than ``MAX_VALUE_BYTES``.
"""

from __future__ import annotations

from ..wal._wal import compact_dumps

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["MAX_VALUE_BYTES", "REPR_LIMIT", "encode", "encode_fields"]

#: the longest JSON text one input or the output keeps (64 KiB); longer ones are cut, their size kept
MAX_VALUE_BYTES = 64 << 10
REPR_LIMIT = 2000  # characters of a repr kept for a value JSON cannot hold


def _fallback(value: Any) -> Any:
    """What ``json`` calls for a value it cannot write: its data when it has some, else a marked repr."""
    own = getattr(value, "__tracklet_value__", None)  # Prompt, Dataset: their reference, not their whole body
    if own is not None and not isinstance(value, type):
        try:
            return own()
        except Exception:
            pass
    dump = getattr(value, "model_dump", None)  # pydantic models: the OpenAI and Anthropic responses
    if dump is not None and not isinstance(value, type):
        try:
            return dump(mode="json")
        except Exception:
            pass
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return {"_repr": repr(value[:REPR_LIMIT]), "_type": "bytes", "_size": len(value)}
    fields = getattr(value, "__dataclass_fields__", None)
    if fields is not None and not isinstance(value, type):
        return {name: getattr(value, name, None) for name in fields}
    try:
        text = repr(value)
    except Exception as e:  # a broken __repr__ must not break the traced call
        text = f"<unrepresentable {type(value).__name__}: {type(e).__name__}>"
    t = type(value)
    return {"_repr": text[:REPR_LIMIT], "_type": f"{t.__module__}.{t.__qualname__}"}


_dumps = compact_dumps(_fallback)  # a circular value raises RecursionError: marked as a repr


def _one(value: Any) -> str:
    try:
        text = _dumps(value)
    except (TypeError, ValueError, RecursionError):  # non-string keys, circular references
        text = _dumps(_fallback_deep(value))
    if len(text) > MAX_VALUE_BYTES:
        return _dumps({"_truncated": True, "_size": len(text.encode()), "_head": text[:MAX_VALUE_BYTES]})
    return text


def _fallback_deep(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _fallback_deep(v) for k, v in value.items()}
    try:
        _dumps(value)
        return value
    except (TypeError, ValueError, RecursionError):
        t = type(value)
        return {"_repr": repr(value)[:REPR_LIMIT], "_type": f"{t.__module__}.{t.__qualname__}"}


def encode(value: Any) -> str:
    """JSON text of one value, never raising: markers for what JSON cannot hold or what is too large."""
    try:
        return _one(value)
    except Exception as e:
        return _dumps({"_repr": f"<unserialisable: {type(e).__name__}: {e}>"[:REPR_LIMIT], "_type": type(value).__name__})


def encode_fields(values: dict[str, Any]) -> str:
    """JSON text of a dict of named values (a call's inputs), each cut on its own when too large."""
    try:
        text = _dumps(values)
        if len(text) <= MAX_VALUE_BYTES:
            return text
    except Exception:
        pass
    return "{" + ",".join(f"{_dumps(str(k))}:{encode(v)}" for k, v in values.items()) + "}"
