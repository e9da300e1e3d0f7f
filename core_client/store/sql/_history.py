"""History rows from the store's curves: one curve a key, put together a row a step, as ``scan_history`` gives them,
with the run's media values (tables, images, ...) described in the rows of their steps."""

from __future__ import annotations

import heapq
from itertools import chain

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator, Sequence

__all__ = ["NAN", "curves", "json_value", "media_keys", "merged_rows", "nan_for_null", "numeric_rows", "scan", "tagged"]

NAN = float("nan")


def nan_for_null(v: Any) -> Any:
    return NAN if v is None else v  # SQLite stores NaN as NULL; nothing else is NULL there


def tagged(name: str, fix: Any, rows: Any) -> Iterator[tuple[int, int, str, Any]]:
    for step, ts, value in rows:
        yield step, ts, name, fix(value)


def merged_rows(streams: list[Iterator[tuple[int, int, str, Any]]], need: int, created: float) -> Iterator[dict[str, Any]]:
    """One row a step from curves sorted by step; rows with fewer than ``need`` of the curves are left out."""
    row: dict[str, Any] | None = None
    count = 0
    last_ts = 0
    for step, ts, name, value in heapq.merge(*streams, key=lambda e: e[0]):
        if row is None or step != row["_step"]:
            if row is not None and count >= need:
                yield _finish_row(row, last_ts, created)
            row, count, last_ts = {"_step": step}, 0, ts
        row[name] = value
        count += 1
        last_ts = max(last_ts, ts)
    if row is not None and count >= need:
        yield _finish_row(row, last_ts, created)


_CHUNK = 10_000


def numeric_rows(q: Any, pk: int, wanted: dict[str, int], lo: int, hi: int, created: float, need: int) -> Iterator[dict[str, Any]]:
    """Rows of several numeric curves. While the curves have the same steps, chunk by chunk (metrics
    logged together), they are zipped: about half the time of a step-by-step merge. From the first
    chunk where they differ, the rest is merged."""
    names = list(wanted)
    streams = [q.stream(_CURVE, _CHUNK, pk=pk, kid=kid, lo=lo, hi=hi) for kid in wanted.values()]
    try:
        nan = NAN
        while True:
            chunks = [next(s, []) for s in streams]
            steps = [[r[0] for r in chunk] for chunk in chunks]
            if any(s != steps[0] for s in steps[1:]):
                rest = [tagged(name, nan_for_null, chain(chunk, chain.from_iterable(s))) for name, chunk, s in zip(names, chunks, streams)]
                yield from merged_rows(rest, need, created)
                return
            if not steps[0]:
                return
            for rows in zip(*chunks):
                ts = max(r[1] for r in rows) / 1000.0
                row = {"_step": rows[0][0]}
                for name, r in zip(names, rows):
                    row[name] = nan if r[2] is None else r[2]
                row["_timestamp"], row["_runtime"] = created + ts, ts
                yield row
    finally:
        for s in streams:
            s.close()


_CURVE = "SELECT step, ts, value FROM history WHERE run_pk = :pk AND key_id = :kid AND step >= :lo AND step <= :hi ORDER BY step"
_TEXT = "SELECT step, ts, value FROM history_values WHERE run_pk = :pk AND key_id = :kid AND step >= :lo AND step <= :hi ORDER BY step"


_MEDIA = (
    "SELECT step, ts, idx, kind, digest, size, meta FROM run_media"
    " WHERE run_pk = :pk AND key = :key AND step >= :lo AND step <= :hi ORDER BY step, idx"
)


def media_keys(q: Any, pk: int, among: Sequence[str] | None = None) -> set[str]:
    """The keys under which the run logged media (tables, images, ...); only those ``among`` when given (an index
    seek each, where every key would read all the run's entries)."""
    if among is None:
        return {k for (k,) in q.all("SELECT DISTINCT key FROM run_media WHERE run_pk = :pk", pk=pk)}
    found = "SELECT 1 FROM run_media WHERE run_pk = :pk AND key = :key LIMIT 1"
    return {k for k in set(among) if q.one(found, pk=pk, key=k) is not None}


def _media_values(q: Any, pk: int, key: str, lo: int, hi: int) -> Iterator[tuple[int, int, str, Any]]:
    """``key``'s media values in step order, each described as the summary describes it (``media_summary``):
    the items of one step (a list logged under the key) make one value."""
    from ...wal._media import media_summary
    from ._reader import from_json

    items: list[dict[str, Any]] = []
    at, last_ts = None, 0
    for chunk in q.stream(_MEDIA, _CHUNK, pk=pk, key=key, lo=lo, hi=hi):
        for step, ts, idx, kind, digest, size, meta in chunk:
            if step != at and items:
                yield at, last_ts, key, media_summary({"step": at, "items": items})[key]
                items = []
            at, last_ts = step, ts
            items.append({"key": key, "idx": idx, "kind": kind, "digest": digest, "size": size, "meta": from_json(meta)})
    if items:
        yield at, last_ts, key, media_summary({"step": at, "items": items})[key]


def scan(
    q: Any, pk: int, wanted: dict[str, int], lo: int, hi: int, created: float, need: int, media: Sequence[str] = (),
) -> Iterator[dict[str, Any]]:
    """History rows of the ``wanted`` keys (name -> key id) and the ``media`` keys, in step order; only rows
    with ``need`` of them."""
    if not media:
        yield from _value_rows(q, pk, wanted, lo, hi, created, need)
        return
    names = set(wanted) | set(media)
    rows = _value_rows(q, pk, wanted, lo, hi, created, 1 if need == 1 else len(wanted))
    streams = [_media_values(q, pk, key, lo, hi) for key in media]
    values = streams[0] if len(streams) == 1 else heapq.merge(*streams, key=lambda e: e[0])
    for row in _with_media(rows, values, created):
        if need == 1 or sum(k in row for k in names) >= need:
            yield row


def _with_media(
    rows: Iterator[dict[str, Any]], media: Iterator[tuple[int, int, str, Any]], created: float,
) -> Iterator[dict[str, Any]]:
    """Rows in step order with the media values of their steps put in, and a row of its own for a step with media
    only. Merging whole rows keeps the numbers on their fast paths (benchmarks/media_history.py, 10,000 steps of 3
    scalars and an image: every key in ~2.7x the time of the run without images, where a merge value by value
    took 3.6x; the scalars alone in the same time, as they never read the media)."""
    at = next(media, None)
    for row in rows:
        step = row["_step"]
        while at is not None and at[0] < step:
            only, at = _media_row(at, media, created)
            yield only
        if at is not None and at[0] == step:
            ts = 0
            while at is not None and at[0] == step:
                row[at[2]], ts, at = at[3], max(ts, at[1]), next(media, None)
            if ts / 1000.0 > row["_runtime"]:
                _finish_row(row, ts, created)
        yield row
    while at is not None:
        only, at = _media_row(at, media, created)
        yield only


def _media_row(at: tuple[int, int, str, Any], media: Iterator[tuple[int, int, str, Any]], created: float) -> tuple[dict[str, Any], Any]:
    """The row of a step with media only (``at`` is its first value), and the first media value after it."""
    row: dict[str, Any] = {"_step": at[0]}
    ts = 0
    while at is not None and at[0] == row["_step"]:
        row[at[2]], ts, at = at[3], max(ts, at[1]), next(media, None)
    return _finish_row(row, ts, created), at


def _value_rows(q: Any, pk: int, wanted: dict[str, int], lo: int, hi: int, created: float, need: int) -> Iterator[dict[str, Any]]:
    """History rows of numbers and texts: one range scan for one numeric key, zipped curves for several, a
    merge by step where there are texts."""
    if not wanted:
        return
    has_text = False
    for kid in wanted.values():
        if q.one("SELECT 1 FROM history_values WHERE run_pk = :pk AND key_id = :kid LIMIT 1", pk=pk, kid=kid) is not None:
            has_text = True
            break
    if not has_text and len(wanted) == 1:
        (name, kid), = wanted.items()
        nan = NAN
        for chunk in q.stream(_CURVE, _CHUNK, pk=pk, kid=kid, lo=lo, hi=hi):  # one range scan, no per-row objects
            for step, ts, value in chunk:
                r = ts / 1000.0
                yield {"_step": step, "_timestamp": created + r, "_runtime": r, name: nan if value is None else value}
        return
    if not has_text:
        yield from numeric_rows(q, pk, wanted, lo, hi, created, need)
        return
    streams = []
    fix_json = _as_is if q.json_decoded else json_value
    for name, kid in wanted.items():
        streams.append(tagged(name, nan_for_null, chain.from_iterable(q.stream(_CURVE, _CHUNK, pk=pk, kid=kid, lo=lo, hi=hi))))
        streams.append(tagged(name, fix_json, chain.from_iterable(q.stream(_TEXT, _CHUNK, pk=pk, kid=kid, lo=lo, hi=hi))))
    yield from merged_rows(streams, need, created)


def curves(
    q: Any, pk: int, wanted: dict[str, int], min_step: int | None, max_step: int | None, points: int | None,
    x: str, x_kid: int | None, created: float, window: tuple[float | None, float | None] = (None, None),
) -> dict[str, dict[str, list[Any]]]:
    """Numeric curves for a chart, full or in ``points`` buckets of the x range with mean, min and max each.

    A bucket keeps the min and max of the values in it, so a one-step spike survives any downsampling. ``window``
    (low, high; either None) keeps the points whose x lies in it: a zoomed chart of another axis than the step.
    """
    lo = -(2**63) if min_step is None else int(min_step)
    hi = 2**63 - 1 if max_step is None else int(max_step)
    xs: dict[int, float] | None = None
    if x_kid is not None:  # another metric as the x-axis: its value at each step
        xs = {step: v for chunk in q.stream(_CURVE, _CHUNK, pk=pk, kid=x_kid, lo=lo, hi=hi) for step, _, v in chunk if v is not None}
    out = {}
    for name, kid in wanted.items():
        px: list[float] = []
        py: list[float] = []
        for chunk in q.stream(_CURVE, _CHUNK, pk=pk, kid=kid, lo=lo, hi=hi):
            for step, ts, value in chunk:
                if value is None or value != value or value in (_INF, -_INF):
                    continue
                if xs is not None:
                    if step not in xs:
                        continue
                    px.append(xs[step])
                else:
                    px.append(step if x == "_step" else ts / 1000.0 + (created if x == "_timestamp" else 0.0))
                py.append(value)
        if window != (None, None):
            w_lo = -_INF if window[0] is None else window[0]
            w_hi = _INF if window[1] is None else window[1]
            kept = [i for i, xv in enumerate(px) if w_lo <= xv <= w_hi]
            px, py = [px[i] for i in kept], [py[i] for i in kept]
        out[name] = _buckets(px, py, points)
    return out


_INF = float("inf")


def _buckets(px: list[float], py: list[float], points: int | None) -> dict[str, list[Any]]:
    if points is None or len(px) <= points:
        return {"x": px, "y": py, "min": py, "max": py}
    if any(a > b for a, b in zip(px, px[1:])):  # another metric as x need not grow with the step
        order = sorted(range(len(px)), key=px.__getitem__)
        px, py = [px[i] for i in order], [py[i] for i in order]
    x0, span = px[0], (px[-1] - px[0]) or 1.0
    bx: list[Any] = []
    by: list[Any] = []
    bmin: list[Any] = []
    bmax: list[Any] = []
    cur, total, n, lo_v, hi_v, first_x = -1, 0.0, 0, 0.0, 0.0, 0.0
    for xv, yv in zip(px, py):
        b = min(points - 1, int((xv - x0) * points / span))
        if b != cur:
            if n:
                _close(bx, by, bmin, bmax, first_x, total / n, lo_v, hi_v)
            cur, total, n, lo_v, hi_v, first_x = b, 0.0, 0, yv, yv, xv
        total += yv
        n += 1
        lo_v = yv if yv < lo_v else lo_v
        hi_v = yv if yv > hi_v else hi_v
    if n:
        _close(bx, by, bmin, bmax, first_x, total / n, lo_v, hi_v)
    return {"x": bx, "y": by, "min": bmin, "max": bmax}


def _close(bx: list[Any], by: list[Any], bmin: list[Any], bmax: list[Any], x: float, mean: float, lo: float, hi: float) -> None:
    bx.append(x)
    by.append(mean)
    bmin.append(lo)
    bmax.append(hi)


def _finish_row(row: dict[str, Any], ts: int, created: float) -> dict[str, Any]:
    row["_timestamp"] = created + ts / 1000.0
    row["_runtime"] = ts / 1000.0
    return row


def _as_is(v: Any) -> Any:
    return v


def json_value(v: Any) -> Any:
    import json

    return json.loads(v) if isinstance(v, str) else v
