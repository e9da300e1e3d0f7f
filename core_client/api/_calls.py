"""Traced calls as read objects: ``ApiCall`` (with its children and feedback) and ``Calls`` (export to JSONL, pandas)."""

from __future__ import annotations

import json

from .._errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator

    from ..store import Store

__all__ = ["ApiCall", "Calls", "Feedback", "call_filters", "compare_prompt_versions"]

# Api.calls(filter=...) names -> the store's filter names
_ALIASES = {"op_name": "op", "trace": "trace_id", "run": "run_id", "parent": "parent_id", "min_latency": "min_latency_ms",
            "max_latency": "max_latency_ms"}


def call_filters(filter: dict[str, Any] | None) -> dict[str, Any]:
    """``Api.calls``'s ``filter`` in the store's words; a time may be a ``datetime``."""
    if filter is None:
        return {}
    if not isinstance(filter, dict):
        raise TypeError(f"calls(filter=...) takes a dict such as {{'op': 'generate', 'status': 'error'}}, got {filter!r}")
    out = {}
    for k, v in filter.items():
        k = _ALIASES.get(k, k)
        if k in ("since", "until") and hasattr(v, "timestamp"):
            v = v.timestamp()
        out[k] = v
    return out


class Feedback:
    """A call's feedback: ``add`` a reaction, note or score; iterate to read it."""

    KINDS = ("reaction", "note", "score")

    def __init__(self, store: Store, call_id: str) -> None:
        self._store, self._call_id = store, call_id

    def add(self, kind: str, value: Any, name: str | None = None, creator: str | None = None) -> dict[str, Any]:
        """Store feedback on the call: ``add("reaction", "👍")``, ``add("note", "wrong date")``, ``add("score", 0.8, name="relevance")``."""
        if kind not in self.KINDS:
            raise UsageError(f"feedback kind {kind!r} is not one of {', '.join(self.KINDS)}")
        if kind == "score" and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise TypeError(f"a score is a number, got {value!r}")
        return self._store.add_feedback(self._call_id, kind, value, name, creator)

    def add_reaction(self, emoji: str) -> dict[str, Any]:
        return self.add("reaction", emoji)

    def add_note(self, note: str) -> dict[str, Any]:
        return self.add("note", note)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self._store.feedback(self._call_id))


class ApiCall:
    """A stored call: its fields as attributes (``op_name``, ``inputs``, ``output``, ``latency_ms``, ...), ``children``, ``feedback``."""

    def __init__(self, store: Store, doc: dict[str, Any]) -> None:
        self._store, self._doc = store, doc
        self.feedback = Feedback(store, doc["id"])

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_doc"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> Any:
        return self._doc[name]

    def __repr__(self) -> str:
        return f"<Call {self._doc['op_name']} {self._doc['id']} {self._doc['status']} {self._doc['latency_ms'] or 0:.1f} ms>"

    def to_dict(self) -> dict[str, Any]:
        return dict(self._doc)

    @property
    def children(self) -> list[ApiCall]:
        """The calls this call made, in the order they started."""
        d = self._doc
        return [ApiCall(self._store, c) for c in self._store.calls(d["project"], d["entity"] or None, {"parent_id": d["id"]})]

    def trace(self) -> list[ApiCall]:
        """Every call of this call's trace, in the order they started."""
        d = self._doc
        return [ApiCall(self._store, c) for c in self._store.calls(d["project"], d["entity"] or None, {"trace_id": d["trace_id"]})]


class Calls(list):
    """A list of ``ApiCall`` that exports: ``to_jsonl(path)`` and ``to_pandas()``."""

    def to_jsonl(self, path: str) -> int:
        """Write one JSON object per call to ``path``; returns how many."""
        with open(path, "w", encoding="utf-8") as f:
            for c in self:
                f.write(json.dumps(c.to_dict(), default=str) + "\n")
        return len(self)

    def to_pandas(self) -> Any:
        """A DataFrame with a row per call and a column per field (needs pandas)."""
        try:
            import pandas as pd
        except ImportError:
            raise UsageError('to_pandas() needs pandas. Install it with: pip install "tracklet[pandas]"') from None
        return pd.DataFrame([c.to_dict() for c in self])


def _mean(values: list[Any]) -> float | None:
    found = [v for v in values if v is not None]
    return sum(found) / len(found) if found else None


def compare_prompt_versions(name: str, calls: list[ApiCall]) -> list[dict[str, Any]]:
    """``Api.prompt_versions``: ``calls`` (those whose summary names a version of prompt ``name``) grouped by version."""
    import re

    own = re.compile(rf"{re.escape(name)}:v(\d+)")
    versions: dict[int, dict[str, Any]] = {}
    for c in calls:
        used = [int(m.group(1)) for u in ((c.summary or {}).get("prompts") or []) if (m := own.fullmatch(str(u)))]
        for n in used:
            v = versions.setdefault(n, {"version": f"{name}:v{n}", "_roots": [], "evaluations": []})
            if c.kind == "evaluation":
                meta = (c.attributes or {}).get("_evaluation") or {}
                v["evaluations"].append({
                    "id": c.id, "name": meta.get("evaluation"), "model": meta.get("model"), "dataset": meta.get("dataset"),
                    "started_at": c.started_at, "status": c.status, "scores": c.output, "latency_ms": c.latency_ms,
                    "total_tokens": c.total_tokens, "cost": c.cost,
                })
            elif c.parent_id is None:
                v["_roots"].append(c)
    out = []
    for n in sorted(versions):
        v = versions[n]
        roots = v.pop("_roots")
        v["traces"] = {
            "calls": len(roots), "errors": sum(1 for c in roots if c.status not in ("ok", "running")),
            "latency_ms": _mean([c.latency_ms for c in roots]), "total_tokens": _mean([c.total_tokens or 0 for c in roots]),
            "cost": _mean([c.cost for c in roots]),
        }
        out.append(v)
    return out
