"""What a MEDIA or IMAGE record (docs/wal-format.md) holds: its blobs, its images' pixels, and what it puts in the run's summary.

The summary holds the last value logged under each key.

As in wandb, ``run.summary["samples"]`` after ``log({"samples": Image(...)})`` is a description of that
value, not the value: its kind (``_type``), the step, its blob's digest and size, and the record's meta
(a table's rows and columns, an image's width and height, ...). The run keeps it for ``finish()``'s
summary, and the store's ingest reads it from the record for a run still running or crashed. An image
written as pixels (an IMAGE record) has no digest until the store has made its PNG: the training
process describes it with ``"digest": None``, and the store fills in the digest when it ingests the summary.
"""

from __future__ import annotations

import json
import struct

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["decode_images", "describe_into", "encode_images", "media_digests", "media_summary", "undigested"]

_U32 = struct.Struct("<I")


def media_summary(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{key: description}`` for every key of one MEDIA record; a list logged under a key is described as one."""
    out: dict[str, dict[str, Any]] = {}
    step = record.get("step")
    for item in record.get("items") or []:
        meta = {k: v for k, v in (item.get("meta") or {}).items() if k != "in_list"}
        one = {"digest": item["digest"], "size": item.get("size"), **meta}
        describe_into(out, item["key"], item["kind"], step, one, bool((item.get("meta") or {}).get("in_list")))
    return out


def describe_into(out: dict[str, Any], key: str, kind: str, step: Any, one: dict[str, Any], in_list: bool) -> None:
    """Put the description ``one`` of a value (digest, size, meta) under ``key`` in ``out``: as it is, or among the
    ``items`` of the key's list."""
    if in_list:
        entry = out.setdefault(key, {"_type": kind, "step": step, "count": 0, "items": []})
        entry["items"].append(one)
        entry["count"] += 1
    else:
        out[key] = {"_type": kind, "step": step, **one}


def undigested(value: Any) -> bool:
    """Whether a summary value describes an image the store had not made a PNG of when it was described."""
    if type(value) is not dict or "_type" not in value:
        return False
    if "items" in value:
        return any(type(i) is dict and "digest" in i and i["digest"] is None for i in value["items"])
    return "digest" in value and value["digest"] is None


def media_digests(record: dict[str, Any]) -> set[str]:
    """The blob digests a MEDIA record names: each value's, and those nested in it (images in a table's cells)."""
    found: set[str] = set()
    for item in record.get("items") or []:
        found.add(item["digest"])
        found.update(item.get("refs") or [])
    return found


def encode_images(head: bytes, pixels: list[Any]) -> list[Any]:
    """An IMAGE record's payload as byte buffers, in order (``b"".join`` of them is the payload): ``head`` (the
    JSON of ``{"t", "step", "items"}``), then each image's pixels (C-ordered uint8 rows, ``height * width *
    channels`` bytes: a C-contiguous numpy array as it is, not copied)."""
    return [_U32.pack(len(head)), head, *[memoryview(p).cast("B") for p in pixels]]


def decode_images(payload: bytes) -> tuple[dict[str, Any], list[memoryview]]:
    """An IMAGE record's ``{"t", "step", "items": [{"key", "idx", "shape": [h, w, c], "caption"?, "in_list"?}]}`` and each item's pixels.

    Raises:
        ValueError: the payload is not an IMAGE record's (its sizes do not add up, or its JSON does not parse).
    """
    view = memoryview(payload)
    if len(view) < _U32.size:
        raise ValueError("an IMAGE record shorter than its header's length")
    (n,) = _U32.unpack_from(view, 0)
    at = _U32.size + n
    record = json.loads(bytes(view[_U32.size : at]))
    out = []
    for item in record["items"]:
        h, w, c = item["shape"]
        size = int(h) * int(w) * int(c)
        if size <= 0 or at + size > len(view) or c not in (1, 2, 3, 4) or h <= 0 or w <= 0:
            raise ValueError(f"an IMAGE record's item {item.get('key')!r} of shape {item['shape']} does not fit its pixels")
        out.append(view[at : at + size])
        at += size
    if at != len(view):
        raise ValueError(f"an IMAGE record has {len(view) - at} bytes after its last image's pixels")
    return record, out
