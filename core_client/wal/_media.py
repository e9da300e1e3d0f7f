"""What a MEDIA record (docs/wal-format.md) names: its blobs, and what it puts in the run's summary.

The summary holds the last value logged under each key.

As in wandb, ``run.summary["samples"]`` after ``log({"samples": Image(...)})`` is a description of that
value, not the value: its kind (``_type``), the step, its blob's digest and size, and the record's meta
(a table's rows and columns, an image's width and height, ...). The run keeps it for ``finish()``'s
summary, and the store's ingest reads it from the record for a run still running or crashed.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["media_digests", "media_summary"]


def media_summary(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{key: description}`` for every key of one MEDIA record; a list logged under a key is described as one."""
    out: dict[str, dict[str, Any]] = {}
    step = record.get("step")
    for item in record.get("items") or []:
        meta = {k: v for k, v in (item.get("meta") or {}).items() if k != "in_list"}
        one = {"digest": item["digest"], "size": item.get("size"), **meta}
        if (item.get("meta") or {}).get("in_list"):
            entry = out.setdefault(item["key"], {"_type": item["kind"], "step": step, "count": 0, "items": []})
            entry["items"].append(one)
            entry["count"] += 1
        else:
            out[item["key"]] = {"_type": item["kind"], "step": step, **one}
    return out


def media_digests(record: dict[str, Any]) -> set[str]:
    """The blob digests a MEDIA record names: each value's, and those nested in it (images in a table's cells)."""
    found: set[str] = set()
    for item in record.get("items") or []:
        found.add(item["digest"])
        found.update(item.get("refs") or [])
    return found
