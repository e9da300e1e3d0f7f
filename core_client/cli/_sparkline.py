"""Small terminal charts: a metric's history as one line of block characters."""

from __future__ import annotations

import math
from typing import Sequence

__all__ = ["sparkline"]

BLOCKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int = 40) -> str:
    """``values`` squeezed into ``width`` columns (mean per column); NaN and inf show as a space."""
    finite = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if not finite:
        return " " * min(width, len(values))
    if len(values) > width:
        cols = []
        for i in range(width):
            chunk = [v for v in values[i * len(values) // width : (i + 1) * len(values) // width] if math.isfinite(v)]
            cols.append(sum(chunk) / len(chunk) if chunk else math.nan)
    else:
        cols = [float(v) if math.isfinite(v) else math.nan for v in values]
    lo, hi = min(finite), max(finite)
    span = hi - lo
    out = []
    for v in cols:
        if not math.isfinite(v):
            out.append(" ")
        elif span == 0:
            out.append(BLOCKS[len(BLOCKS) // 2])
        else:
            out.append(BLOCKS[min(len(BLOCKS) - 1, int((v - lo) / span * len(BLOCKS)))])
    return "".join(out)
