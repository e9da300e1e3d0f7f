"""A logged table's rows a page at a time, sorted, filtered and searched: what the dashboard's table viewer reads.

The browser gets JSON rows from the server rather than the Parquet blob: decoding Parquet in the page would need
a WebAssembly library (megabytes, and a CSP that allows ``wasm-unsafe-eval``), and a 200,000-row table would
cross the wire whole for a window of 40 rows. A blob never changes (it is named by its digest), so its decoded
columns and the row order of each recent query are kept (a few tables): paging and scrolling are list slices.

Filter: clauses joined by ``and``, each ``column OP value`` with OP one of ``==``, ``!=``, ``<``, ``<=``, ``>``,
``>=``, ``~`` (contains, any case); the value is read as JSON when it parses (``0.5``, ``true``, ``"a b"``),
else as text. Search: rows with a cell whose text contains it, any case.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections import OrderedDict

from .._errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

__all__ = ["MAX_LIMIT", "table_page"]

MAX_LIMIT = 1000  # rows in one answer
_TABLES: OrderedDict[str, "_Decoded"] = OrderedDict()
_KEEP_TABLES = 2  # a 200,000-row table of 4 columns decoded to Python lists, with its search text: about 100 MB
_KEEP_ORDERS = 8
_LOCK = threading.Lock()
_CLAUSE = re.compile(r"^\s*(.+?)\s*(==|!=|<=|>=|<|>|~)\s*(.+?)\s*$")
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)


class _Decoded:
    """One table blob as column lists, with its recent queries' row orders."""

    def __init__(self, columns: list[str], types: list[str], cols: list[list[Any]]) -> None:
        self.columns, self.types, self.cols = columns, types, cols
        self.rows = len(cols[0]) if cols else 0
        self.orders: OrderedDict[tuple[Any, ...], list[int]] = OrderedDict()
        self._text: list[str] | None = None

    def text(self) -> list[str]:
        """Each row's cells as one lower-case string (built on the first search)."""
        if self._text is None:
            self._text = ["\x1f".join(_shown(c[i]).lower() for c in self.cols) for i in range(self.rows)]
        return self._text


def _shown(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def _cell(v: Any) -> Any:
    """A cell as JSON for a browser: non-finite floats as the strings ``NaN``/``Infinity``/``-Infinity``."""
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if v != v else ("Infinity" if v > 0 else "-Infinity")
    return v


def _decode(data: bytes, meta: dict[str, Any]) -> _Decoded:
    columns = list(meta.get("columns") or [])
    types = list(meta.get("types") or [])
    if meta.get("format") == "json":
        import gzip

        doc = json.loads(gzip.decompress(data))
        columns, types, cols = list(doc["columns"]), list(doc["types"]), [list(c) for c in doc["data"]]
    else:
        from ._base import need

        pa = need("pyarrow", "reading a stored Table (Parquet) on the server")
        import pyarrow.parquet as pq

        table = pq.read_table(pa.BufferReader(data))
        columns = columns or list(table.column_names)
        cols = [table.column(i).to_pylist() for i in range(table.num_columns)]
    types += ["str"] * (len(columns) - len(types))
    for j, kind in enumerate(types):
        if kind == "json":  # a nested value or a media cell ({"_type": "image", "digest": ...}) as its JSON
            cols[j] = [None if v is None else json.loads(v) for v in cols[j]]
        elif kind == "datetime":
            cols[j] = [None if v is None else v.isoformat() for v in cols[j]]
    return _Decoded(columns, types, cols)


def _parse_filter(text: str, columns: list[str]) -> list[tuple[int, str, Any]]:
    clauses = []
    for part in _AND.split(text.strip()):
        m = _CLAUSE.match(part)
        if not m:
            raise UsageError(f"filter clause {part!r} is not 'column OP value' (OP: == != < <= > >= ~)")
        name, op, raw = m.groups()
        if name not in columns:
            raise UsageError(f"filter names column {name!r}; the table has {', '.join(map(repr, columns))}")
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
        clauses.append((columns.index(name), op, value))
    return clauses


def _matches(v: Any, op: str, want: Any) -> bool:
    if op == "~":
        return str(want).lower() in _shown(v).lower()
    if op == "==":
        return v == want or (isinstance(want, str) and _shown(v) == want)
    if op == "!=":
        return not (v == want or (isinstance(want, str) and _shown(v) == want))
    if v is None or isinstance(v, bool) != isinstance(want, bool):
        return False
    try:
        return {"<": v < want, "<=": v <= want, ">": v > want, ">=": v >= want}[op]
    except TypeError:  # a number against text: no order between them
        return False


def _sort_key(v: Any) -> tuple[int, Any]:
    if isinstance(v, (int, float)) and not (isinstance(v, float) and v != v):
        return (0, v)
    if isinstance(v, str):
        return (1, v.lower())
    return (2, _shown(v))


def _order(t: _Decoded, sort: str | None, filter: str | None, search: str | None) -> list[int]:
    key = (sort, filter, search)
    found = t.orders.get(key)
    if found is not None:
        t.orders.move_to_end(key)
        return found
    idx = range(t.rows)
    if filter and filter.strip():
        clauses = _parse_filter(filter, t.columns)
        idx = [i for i in idx if all(_matches(t.cols[j][i], op, want) for j, op, want in clauses)]
    if search:
        q = search.lower()
        text = t.text()
        idx = [i for i in idx if q in text[i]]
    idx = list(idx)
    if sort:
        desc = sort.startswith("-")
        name = sort[1:] if desc else sort
        if name not in t.columns:
            raise UsageError(f"sort names column {name!r}; the table has {', '.join(map(repr, t.columns))}")
        col = t.cols[t.columns.index(name)]
        present = [i for i in idx if col[i] is not None and not (isinstance(col[i], float) and col[i] != col[i])]
        absent = [i for i in idx if not (col[i] is not None and not (isinstance(col[i], float) and col[i] != col[i]))]
        present.sort(key=lambda i: _sort_key(col[i]), reverse=desc)
        idx = present + absent  # empty cells last either way
    t.orders[key] = idx
    while len(t.orders) > _KEEP_ORDERS:
        t.orders.popitem(last=False)
    return idx


def table_page(
    digest: str, meta: dict[str, Any], read: Callable[[], bytes], offset: int = 0, limit: int = 100,
    sort: str | None = None, filter: str | None = None, search: str | None = None,
) -> dict[str, Any]:
    """Rows ``offset`` to ``offset + limit`` of table blob ``digest`` (``read()`` gives its bytes) after ``filter``,
    ``search`` and ``sort`` (a column, ``-column`` for largest first).

    Returns ``columns``, ``types``, ``rows_total`` (the table's), ``total`` (matching), ``offset`` and ``rows``
    (lists of cells; each row's position in the table is its ``index`` list entry).
    Raises ``UsageError`` naming a bad filter, an unknown column or a limit out of range.
    """
    if not 0 < limit <= MAX_LIMIT:
        raise UsageError(f"limit must be 1 to {MAX_LIMIT}; got {limit}")
    if offset < 0:
        raise UsageError(f"offset must be 0 or more; got {offset}")
    with _LOCK:
        t = _TABLES.get(digest)
        if t is not None:
            _TABLES.move_to_end(digest)
    if t is None:
        t = _decode(read(), meta)
        with _LOCK:
            _TABLES[digest] = t
            while len(_TABLES) > _KEEP_TABLES:
                _TABLES.popitem(last=False)
    with _LOCK:  # one query at a time per process builds an order; the rest read it from the cache
        idx = _order(t, sort, filter, search)
    window = idx[offset:offset + limit]
    return {
        "columns": t.columns, "types": t.types, "rows_total": t.rows, "total": len(idx), "offset": offset,
        "index": window, "rows": [[_cell(c[i]) for c in t.cols] for i in window],
    }
