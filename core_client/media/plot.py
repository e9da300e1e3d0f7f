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
    from typing import Any, Callable

__all__ = ["Chart", "bar", "histogram", "line", "scatter"]


class Chart(Media):
    """A chart of a table: ``spec`` names its type (``line``, ``scatter``, ``bar``, ``histogram``), its columns and title."""

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
