"""Blocks of a curve: count, sum, min and max of every 64 steps, so a chart of a long run reads a few rows.

A chart of 100 runs x 100,000 steps at 1,000 points a run scanned 10M points (8 s here); from blocks it
reads 160,000 rows. Ingest only marks what it touched (``history_dirty``: per run and key, the lowest
step written since the blocks were last made); the worker makes the blocks when it has nothing to
ingest, and a reader makes whatever is still marked before it reads, so blocks are never stale.
A block keeps the min and max of its points: a one-step spike survives every downsampling.
"""

from __future__ import annotations

from ._reader import Reader

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["BLOCK", "buckets", "dirty_runs", "mark_dirty", "refresh"]

BLOCK = 64
_SLICE = 65_536  # points a block-making statement reads at most
SINCE_SCHEMA = 4  # the store's schema version that added blocks: an older store is migrated before a chart
_FINITE = "value BETWEEN -1.7976931348623157e308 AND 1.7976931348623157e308"  # NaN is NULL; leaves out the infinities


def mark_dirty(conn: Any, run_pk: int, lowest: dict[int, int]) -> None:
    """Note that ingest wrote steps from ``lowest[key_id]`` on (in ingest's transaction)."""
    if not lowest:
        return
    least = "LEAST" if conn.dialect.name == "postgresql" else "MIN"
    sql = (
        "INSERT INTO history_dirty (run_pk, key_id, from_step) VALUES (:pk, :kid, :step) "
        f"ON CONFLICT (run_pk, key_id) DO UPDATE SET from_step = {least}(history_dirty.from_step, excluded.from_step)"
    )
    from sqlalchemy import text

    conn.execute(text(sql), [{"pk": run_pk, "kid": k, "step": s} for k, s in lowest.items()])


def dirty_runs(q: Reader) -> list[int]:
    return [pk for (pk,) in q.all("SELECT DISTINCT run_pk FROM history_dirty")]


def refresh(conn: Any, run_pk: int | None = None, limit: int | None = None) -> int:
    """Make the blocks of what ingest marked (one run's, or any run's; at most ``limit`` curves). Returns curves made."""
    q = Reader("", conn=conn)
    where = " WHERE run_pk = :pk" if run_pk is not None else ""
    marks = q.all(f"SELECT run_pk, key_id, from_step FROM history_dirty{where} ORDER BY run_pk, key_id" + (f" LIMIT {int(limit)}" if limit else ""), pk=run_pk)
    def upsert(bounded: bool) -> str:
        return (
            "INSERT INTO history_blocks (run_pk, key_id, block, n, first_step, last_step, total, lo, hi) "
            f"SELECT run_pk, key_id, step / {BLOCK}, COUNT(*), MIN(step), MAX(step), SUM(value), MIN(value), MAX(value) "
            f"FROM history WHERE run_pk = :pk AND key_id = :kid AND step >= :start{' AND step < :stop' if bounded else ''} "
            f"AND {_FINITE} GROUP BY run_pk, key_id, step / {BLOCK} "
            "ON CONFLICT (run_pk, key_id, block) DO UPDATE SET n = excluded.n, first_step = excluded.first_step, "
            "last_step = excluded.last_step, total = excluded.total, lo = excluded.lo, hi = excluded.hi"
        )

    for pk, kid, from_step in marks:
        start = from_step // BLOCK * BLOCK
        # a block whose points all became NaN or infinite keeps no row
        q.execute("DELETE FROM history_blocks WHERE run_pk = :pk AND key_id = :kid AND block >= :b", pk=pk, kid=kid, b=start // BLOCK)
        # a slice of points at a time: GROUP BY step / 64 sorts its rows, and the sort of a whole long
        # curve would hold them all in memory; slices end on block edges, found by the points (steps may be sparse)
        a: int | None = start
        while a is not None:
            nxt = q.scalar(
                "SELECT step FROM history WHERE run_pk = :pk AND key_id = :kid AND step >= :a ORDER BY step LIMIT 1 OFFSET :n",
                pk=pk, kid=kid, a=a, n=_SLICE,
            )
            stop = None if nxt is None else max(nxt // BLOCK * BLOCK, a + BLOCK)
            if stop is not None and stop > 2**63 - 1:
                stop = None
            if stop is None:
                q.execute(upsert(False), pk=pk, kid=kid, start=a)
            else:
                q.execute(upsert(True), pk=pk, kid=kid, start=a, stop=stop)
            a = stop
        # a mark lowered by an ingest that came in meanwhile stays, for the next refresh
        q.execute("DELETE FROM history_dirty WHERE run_pk = :pk AND key_id = :kid AND from_step = :s", pk=pk, kid=kid, s=from_step)
    return len(marks)


def buckets(q: Reader, pk: int, kid: int, lo: int | None, hi: int | None, points: int) -> dict[str, list[Any]] | None:
    """At most ``points`` buckets of the curve over steps ``lo..hi`` from its blocks: first step, mean, min, max.

    None when the window is too narrow for blocks (under ``BLOCK`` steps a bucket): read the points then.
    """
    first = q.one("SELECT first_step FROM history_blocks WHERE run_pk = :pk AND key_id = :kid ORDER BY block LIMIT 1", pk=pk, kid=kid)
    last = q.one("SELECT last_step FROM history_blocks WHERE run_pk = :pk AND key_id = :kid ORDER BY block DESC LIMIT 1", pk=pk, kid=kid)
    span = (first[0], last[0]) if first and last else None
    if span is None:
        return {"x": [], "y": [], "min": [], "max": []}
    lo = span[0] if lo is None else max(lo, span[0])
    hi = span[1] if hi is None else min(hi, span[1])
    if hi < lo:
        return {"x": [], "y": [], "min": [], "max": []}
    if (hi - lo + 1) < points * BLOCK:
        return None
    b0, b1 = -(-lo // BLOCK), (hi + 1) // BLOCK - 1  # the blocks wholly inside lo..hi
    width = (hi - lo + 1) / points
    # the blocks grouped into buckets by SQL (a bucket is one to a few blocks: 1,600 rows a curve become 1,000)
    bucket = "FLOOR((first_step - :lo) / :width)" if q.dialect == "postgresql" else "CAST((first_step - :lo) / :width AS INTEGER)"
    rows = q.all(
        "SELECT MIN(first_step), SUM(n), SUM(total), MIN(lo), MAX(hi) FROM history_blocks "
        f"WHERE run_pk = :pk AND key_id = :kid AND block >= :b0 AND block <= :b1 GROUP BY {bucket} ORDER BY 1",
        pk=pk, kid=kid, b0=b0, b1=b1, lo=lo, width=width,
    )
    rows = _edge(q, pk, kid, lo, b0 * BLOCK - 1) + rows + _edge(q, pk, kid, (b1 + 1) * BLOCK, hi)
    out: dict[str, list[Any]] = {"x": [], "y": [], "min": [], "max": []}
    cur, n, total, vlo, vhi, x0 = -1, 0, 0.0, 0.0, 0.0, 0
    for first, k, s, mn, mx in rows:
        b = min(points - 1, int((first - lo) / width))
        if b != cur:
            if n:
                _close(out, x0, total / n, vlo, vhi)
            cur, n, total, vlo, vhi, x0 = b, 0, 0.0, mn, mx, first
        n += k
        total += s
        vlo, vhi = min(vlo, mn), max(vhi, mx)
    if n:
        _close(out, x0, total / n, vlo, vhi)
    return out


def _edge(q: Reader, pk: int, kid: int, a: int, b: int) -> list[tuple[Any, ...]]:
    """Points of a partial block at an end of the window, as one-point blocks."""
    if b < a:
        return []
    return [
        (step, 1, v, v, v)
        for step, v in q.all(
            f"SELECT step, value FROM history WHERE run_pk = :pk AND key_id = :kid AND step >= :a AND step <= :b AND {_FINITE} ORDER BY step",
            pk=pk, kid=kid, a=a, b=b,
        )
    ]


def _close(out: dict[str, list[Any]], x: int, mean: float, lo: float, hi: float) -> None:
    out["x"].append(x)
    out["y"].append(mean)
    out["min"].append(lo)
    out["max"].append(hi)
