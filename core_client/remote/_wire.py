"""Curves on the wire as arrays of float64, not JSON: what a chart asks the server for.

JSON of a 1,000,000-point curve is 24 MiB that ``json.dumps`` and ``json.loads`` spend about 0.65 s
on; the same curve as arrays is 16 MiB that take about 10 ms each way, and a browser reads it with
``new Float64Array(buffer, offset, n)``. Asked for with ``Accept: application/x-tracklet-curves``.

Layout: ``TKC1``, a u32 (little-endian) header length, the header (UTF-8 JSON: a list of
``[run_id, key, n, lean]``), then for each series in header order its ``x`` and ``y`` as ``n``
little-endian float64, then ``min`` and ``max`` unless ``lean`` (full resolution: they are ``y``).
"""

from __future__ import annotations

import json
import struct
import sys
from array import array

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["CURVES_TYPE", "decode_curves", "encode_curves"]

CURVES_TYPE = "application/x-tracklet-curves"
_MAGIC = b"TKC1"
_LEN = struct.Struct("<I")
_SWAP = sys.byteorder != "little"


def _f64(values: list[Any]) -> bytes:
    a = array("d", values)
    if _SWAP:
        a.byteswap()
    return a.tobytes()


def encode_curves(found: dict[str, dict[str, dict[str, list[Any]]]]) -> bytes:
    """``run id -> key -> {"x", "y", "min", "max"}`` as one body."""
    header = []
    parts = []
    for run_id, curves in found.items():
        for key, c in curves.items():
            lean = c.get("min") is c["y"] and c.get("max") is c["y"]
            header.append([run_id, key, len(c["x"]), lean])
            parts += [_f64(c["x"]), _f64(c["y"])] + ([] if lean else [_f64(c["min"]), _f64(c["max"])])
    head = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return b"".join([_MAGIC, _LEN.pack(len(head)), head, *parts])


def decode_curves(body: bytes) -> dict[str, dict[str, dict[str, list[Any]]]]:
    """The inverse of ``encode_curves``; a full-resolution curve's ``min`` and ``max`` are its ``y``.

    Raises:
        ValueError: the body is not this format, or is cut short.
    """
    if body[:4] != _MAGIC or len(body) < 8:
        raise ValueError("not a curves body (no TKC1 header)")
    (n_head,) = _LEN.unpack_from(body, 4)
    pos = 8 + n_head
    header = json.loads(body[8:pos])
    view = memoryview(body)
    out: dict[str, dict[str, dict[str, list[Any]]]] = {}

    def take(n: int) -> list[float]:
        nonlocal pos
        end = pos + 8 * n
        if end > len(body):
            raise ValueError("curves body cut short")
        a = array("d")
        a.frombytes(view[pos:end])
        if _SWAP:
            a.byteswap()
        pos = end
        return a.tolist()

    for run_id, key, n, lean in header:
        x, y = take(n), take(n)
        lo, hi = (y, y) if lean else (take(n), take(n))
        out.setdefault(run_id, {})[key] = {"x": x, "y": y, "min": lo, "max": hi}
    return out
