"""``tracklet.plot``: wandb's chart helpers. Each returns a chart, stored as its table plus a chart spec.

Example:
    >>> table = tracklet.Table(columns=["step", "loss"], data=[[0, 1.0], [1, 0.5]])
    >>> run.log({"loss_curve": tracklet.plot.line(table, "step", "loss", title="Loss")})
"""

from __future__ import annotations

from .._errors import UsageError
from ._base import Media
from ._table import Table

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Sequence

__all__ = ["Chart", "bar", "histogram", "line", "line_series", "scatter"]


class Chart(Media):
    """A chart of a table: ``spec`` names its type (``line``, ``scatter``, ``bar``, ``histogram``), its columns and title
    (and ``xname``, the x-axis name, where it is not the x column's)."""

    kind = "plot"

    def __init__(self, table: Table, spec: dict[str, Any]) -> None:
        if not isinstance(table, Table):
            raise UsageError(f"a chart is drawn from a tracklet.Table; got {type(table).__name__}")
        for field in ("x", "y", "label", "value", "stroke"):
            column = spec.get(field)
            if column is not None and column not in table.columns:
                raise UsageError(f"plot.{spec['type']}: the table has no column {column!r}; its columns: {', '.join(table.columns)}")
        self.table = table
        self.spec = spec

    def _freeze(self) -> Chart:
        return Chart(self.table._freeze(), dict(self.spec))

    def _encode(self, put: Callable[[bytes], tuple[str, int]]) -> tuple[bytes, dict[str, Any]]:
        data, meta = self.table._encode(put)
        return data, {**meta, "spec": self.spec}

    @classmethod
    def _decode(cls, data: bytes, meta: dict[str, Any], get: Callable[[str], bytes]) -> Chart:
        return cls(Table._decode(data, meta, get), dict(meta.get("spec") or {}))

    def __repr__(self) -> str:
        return f"<tracklet.plot.{self.spec.get('type')} {self.spec.get('title') or ''!r}>"


def _title(title: Any) -> str:
    return "" if title is None else str(title)


def line(table: Table, x: str, y: str, stroke: str | None = None, title: str = "", split_table: bool = False) -> Chart:
    """A line of ``y`` against ``x`` (one line per value of ``stroke`` when given)."""
    return Chart(table, {"type": "line", "x": x, "y": y, "stroke": stroke, "title": _title(title)})


def scatter(table: Table, x: str, y: str, title: str = "", split_table: bool = False) -> Chart:
    """Points of ``y`` against ``x``."""
    return Chart(table, {"type": "scatter", "x": x, "y": y, "title": _title(title)})


def bar(table: Table, label: str, value: str, title: str = "", split_table: bool = False) -> Chart:
    """One bar per row: ``value`` labelled by ``label``."""
    return Chart(table, {"type": "bar", "label": label, "value": value, "title": _title(title)})


def histogram(table: Table, value: str, title: str = "", split_table: bool = False) -> Chart:
    """The distribution of column ``value``."""
    return Chart(table, {"type": "histogram", "value": value, "title": _title(title)})


def line_series(
    xs: Sequence[float] | Sequence[Sequence[float]], ys: Sequence[Sequence[float]], keys: Sequence[str] | None = None,
    title: str | None = "", xname: str | None = None, split_table: bool = False,
) -> Chart:
    """Several lines in one chart: ``ys[i]`` against ``xs`` (shared) or ``xs[i]``, named ``keys[i]`` (``line_i`` by default).

    Stored as wandb stores it: a table of ``lineKey``, ``lineVal`` and ``step`` drawn as one line per ``lineKey``.
    """
    where = "plot.line_series"
    if isinstance(ys, (str, bytes)) or not _is_seq(ys) or not all(_is_seq(y) for y in ys):
        raise UsageError(f"{where}: ys is a list of lines, each a list of numbers; got {type(ys).__name__}")
    shared = _is_seq(xs) and not any(_is_seq(x) for x in xs)
    if not _is_seq(xs) or (not shared and len(xs) != len(ys)):
        raise UsageError(f"{where}: xs is one list of x values for every line or one list per line ({len(ys)} lines)")
    if keys is None:
        keys = [f"line_{i}" for i in range(len(ys))]
    elif isinstance(keys, str) or not _is_seq(keys) or len(keys) != len(ys):
        raise UsageError(f"{where}: keys names each of the {len(ys)} lines; got {keys!r}")
    data = []
    for i, (key, line_ys) in enumerate(zip(keys, ys)):
        line_xs = xs if shared else xs[i]
        if len(line_xs) != len(line_ys):
            raise UsageError(f"{where}: line {i} ({key!r}) has {len(line_ys)} y values for {len(line_xs)} x values")
        for j, (x, y) in enumerate(zip(line_xs, line_ys)):
            for name, v in (("x", x), ("y", y)):
                if isinstance(v, bool) or not (isinstance(v, (int, float)) or hasattr(v, "__float__")):
                    raise UsageError(f"{where}: line {i} ({key!r}), point {j}: {name} is a {type(v).__name__}, not a number")
            data.append([str(key), float(y), float(x)])
    table = Table(columns=["lineKey", "lineVal", "step"], data=data)
    return Chart(table, {"type": "line", "x": "step", "y": "lineVal", "stroke": "lineKey", "title": _title(title),
                         "xname": "x" if xname is None else str(xname)})


def _is_seq(v: Any) -> bool:
    return hasattr(v, "__len__") and hasattr(v, "__iter__") and not isinstance(v, (str, bytes, dict))
