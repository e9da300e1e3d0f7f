"""``Table``: columns and rows (from lists or a pandas DataFrame), logged like a metric and stored once as a columnar blob.

Storage: Parquet through pyarrow when it is installed; otherwise the fallback, gzip-compressed
JSON of the columns (``{"columns": [...], "types": [...], "data": [[column 0's cells], ...]}``).
Each column is stored by what its cells are: ``bool``, ``int`` (int64), ``float`` (ints and
floats together become floats, as pandas and pyarrow make them: ``3`` reads back as ``3.0``, equal),
``str``, ``null``, or ``json`` (lists, dicts, media, columns of mixed types, and ints with floats where
an int is beyond 2**53, which float64 would round: each cell as JSON text, read back exactly; a media
cell is ``{"_type": kind, "digest", "size", "meta"}`` with its bytes stored as a blob of its own).
The entry's ``meta`` says which.
"""

from __future__ import annotations

import json

from .._errors import UsageError
from ._base import Media, has, need

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Iterator, Sequence

__all__ = ["Table"]

_PLAIN = frozenset((type(None), bool, int, float, str))
_NESTED = (list, tuple, dict)
_CELLS = "cells are numbers, strings, booleans, None, lists, dicts and tracklet media (Image, Audio, ...)"
_INT64 = (-(2**63), 2**63 - 1)


def _cell(value: Any, row: int, column: str) -> Any:
    """``value`` as a storable cell (numpy scalars and arrays become Python values), or a UsageError naming where."""
    tv = type(value)
    if tv in _PLAIN:
        return value
    if isinstance(value, Media):
        if isinstance(value, Table):
            raise UsageError(f"Table row {row}, column {column!r}: a Table cannot be a cell of a Table")
        return value._freeze()
    if isinstance(value, _NESTED):
        _check_json(value, row, column)
        return list(value) if tv is tuple else value
    for plain in (bool, int, float, str):  # subclasses (an IntEnum, a str subclass) are stored as their base
        if isinstance(value, plain):
            return plain(value)
    if has("numpy"):
        import numpy as np

        if isinstance(value, np.generic) and value.dtype.kind in "biufU":
            return value.item()
        if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
            return value.tolist()
    if has("pandas"):
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return None
        if isinstance(value, pd.Timestamp):
            return value.isoformat()
    raise UsageError(f"Table row {row}, column {column!r}: a {tv.__name__} cannot be stored ({_CELLS})")


def _check_json(value: Any, row: int, column: str, depth: int = 0) -> None:
    if depth > 100:
        raise UsageError(f"Table row {row}, column {column!r}: the cell is nested more than 100 levels deep")
    if isinstance(value, dict):
        for k, v in value.items():
            if type(k) is not str:
                raise UsageError(f"Table row {row}, column {column!r}: a dict cell has a {type(k).__name__} key {k!r}; keys are strings")
            if type(v) not in _PLAIN:
                _check_json(v, row, column, depth + 1) if isinstance(v, _NESTED) else _bad_nested(v, row, column)
    else:
        for v in value:
            if type(v) not in _PLAIN:
                _check_json(v, row, column, depth + 1) if isinstance(v, _NESTED) else _bad_nested(v, row, column)


def _bad_nested(value: Any, row: int, column: str) -> None:
    raise UsageError(
        f"Table row {row}, column {column!r}: a {type(value).__name__} inside a list or dict cannot be stored "
        "(inside lists and dicts: numbers, strings, booleans, None, lists and dicts)"
    )


def _column_type(values: Sequence[Any]) -> str:
    """How a column is stored (see the module)."""
    kinds = set(map(type, values))
    kinds.discard(type(None))
    if not kinds:
        return "null"
    if kinds == {bool}:
        return "bool"
    if kinds == {int}:
        return "int" if all(v is None or _INT64[0] <= v <= _INT64[1] for v in values) else "json"
    if kinds <= {int, float}:
        return "float" if all(v is None or type(v) is float or abs(v) < 2**53 for v in values) else "json"
    if kinds == {str}:
        return "str"
    return "json"


def _json_cell(value: Any, put: Callable[[bytes], tuple[str, int]] | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, Media):
        if put is None:
            raise UsageError("a media cell is stored through the run that logs the table")
        data, meta = value._encode(put)
        digest, size = put(data)
        value = {"_type": value.kind, "digest": digest, "size": size, "meta": meta}
    return json.dumps(value, separators=(",", ":"), allow_nan=True)


def _from_json_cell(text: Any, get: Callable[[str], bytes] | None) -> Any:
    if text is None:
        return None
    value = json.loads(text)
    if isinstance(value, dict) and "_type" in value and "digest" in value and get is not None:
        from ._base import kinds

        cls = kinds().get(value["_type"])
        if cls is not None:
            return cls._decode(get(value["digest"]), value.get("meta") or {}, get)
    return value


class Table(Media):
    """Columns and rows, logged like a metric: ``run.log({"eval/predictions": tracklet.Table(dataframe=df)})``.

    Args:
        columns: column names (strings, unique).
        data: rows, each a list with one cell per column (``rows=`` is the same).
        dataframe: a pandas DataFrame (copied: later changes to it are not in the table).

    Cells are numbers, strings, booleans, None, lists, dicts and media objects (``Image``, ``Audio``, ...).
    A bad row or cell raises ``UsageError`` naming the row, the column and the type, and nothing is added.

    Example:
        >>> table = tracklet.Table(columns=["prompt", "score"], data=[["hi", 0.9]])
        >>> table.add_data("bye", 0.2)
        >>> run.log({"eval/predictions": table})
    """

    kind = "table"

    def __init__(
        self,
        columns: Sequence[str] | None = None,
        data: Sequence[Sequence[Any]] | None = None,
        rows: Sequence[Sequence[Any]] | None = None,
        dataframe: Any = None,
        allow_mixed_types: bool = True,
        **_ignored: Any,
    ) -> None:
        if data is not None and rows is not None:
            raise UsageError("Table() takes data= or rows= (the same thing), not both")
        data = rows if data is None else data
        self._rows: list[list[Any]] | None = None
        self._df: Any = None
        self._arrow: Any = None
        self._json_columns: set[str] = set()
        self._get: Callable[[str], bytes] | None = None
        self._shared = False  # the rows list is also held by a logged snapshot: copy it before changing it
        if dataframe is not None:
            if data is not None:
                raise UsageError("Table() takes dataframe= or data=, not both")
            self._set_frame(dataframe, columns)
            return
        if columns is None:
            width = len(data[0]) if data else 0
            columns = [f"Column {i + 1}" for i in range(width)]
        self.columns = self._check_columns(columns)
        self._rows = []
        if data is not None:
            if isinstance(data, (str, bytes)) or not hasattr(data, "__iter__"):
                raise UsageError(f"Table(data=) takes a list of rows; got {type(data).__name__}")
            self._rows = self._checked_rows(data, 0)

    # -- building ---------------------------------------------------------------------------------
    @staticmethod
    def _check_columns(columns: Any) -> list[str]:
        if isinstance(columns, str) or not hasattr(columns, "__iter__"):
            raise UsageError(f"Table(columns=) takes a list of column names; got {type(columns).__name__}")
        names = list(columns)
        for i, name in enumerate(names):
            if type(name) is not str:
                raise UsageError(f"Table column {i} is named by a {type(name).__name__} ({name!r}); column names are strings")
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise UsageError(f"Table column {name!r} appears twice; column names are unique")
            seen.add(name)
        return names

    def _checked_rows(self, data: Any, first: int) -> list[list[Any]]:
        columns = self.columns
        width = len(columns)
        out = []
        plain = _PLAIN
        for i, row in enumerate(data, first):
            if isinstance(row, (str, bytes, dict)) or not hasattr(row, "__len__"):
                raise UsageError(f"Table row {i} is a {type(row).__name__}; a row is a list with one cell per column")
            if len(row) != width:
                raise UsageError(
                    f"Table row {i} has {len(row)} cells; the table has {width} columns ({', '.join(map(repr, columns[:8]))}"
                    + (", ...)" if width > 8 else ")")
                )
            row = list(row)
            for j, value in enumerate(row):
                if type(value) not in plain:
                    row[j] = _cell(value, i, columns[j])
            out.append(row)
        return out

    def _set_frame(self, df: Any, columns: Sequence[str] | None) -> None:
        pd = need("pandas", "Table(dataframe=)")
        if not isinstance(df, pd.DataFrame):
            raise UsageError(f"Table(dataframe=) takes a pandas DataFrame; got {type(df).__name__}")
        df = df.copy()
        df.columns = [str(c) for c in df.columns]
        if columns is not None:
            names = self._check_columns(columns)
            if len(names) != len(df.columns):
                raise UsageError(f"Table(columns=) names {len(names)} columns; the DataFrame has {len(df.columns)}")
            df.columns = names
        self.columns = self._check_columns(list(df.columns))
        df = df.reset_index(drop=True)
        for j, name in enumerate(self.columns):
            col = df.iloc[:, j]
            if col.dtype.kind in "biufSUM":
                continue
            if col.dtype.kind == "m" or col.dtype.kind == "c":
                raise UsageError(f"Table column {name!r}: {col.dtype} values cannot be stored ({_CELLS})")
            values = col.tolist()
            changed = False
            for i, value in enumerate(values):
                if type(value) not in _PLAIN:
                    new = _cell(value, i, name)
                    if new is not value:
                        values[i] = new
                        changed = True
            if changed:
                df[name] = pd.Series(values, dtype=object)
        self._df = df

    def add_data(self, *row: Any) -> None:
        """Append one row, a cell per column."""
        rows = self._own_rows()
        rows.extend(self._checked_rows([row], len(rows)))

    def add_row(self, *row: Any) -> None:
        self.add_data(*row)

    def add_column(self, name: str, data: Sequence[Any]) -> None:
        """Add a column with one value per row."""
        (name,) = self._check_columns([name])
        if name in self.columns:
            raise UsageError(f"Table already has a column {name!r}")
        rows = self._own_rows()
        values = list(data)
        if len(values) != len(rows):
            raise UsageError(f"add_column({name!r}) got {len(values)} values; the table has {len(rows)} rows")
        values = [v if type(v) in _PLAIN else _cell(v, i, name) for i, v in enumerate(values)]
        self._rows = [r + [v] for r, v in zip(rows, values)]
        self._shared = False
        self.columns = self.columns + [name]

    def _own_rows(self) -> list[list[Any]]:
        """The rows as lists this table may change (a logged snapshot keeps the rows it was logged with)."""
        if self._rows is None:
            self._rows = self._materialise()
            self._df = self._arrow = None
            self._json_columns = set()
        elif self._shared:
            self._rows = list(self._rows)
        self._shared = False
        return self._rows

    # -- reading -----------------------------------------------------------------------------------
    @property
    def data(self) -> list[list[Any]]:
        """The rows, each a list of cells."""
        if self._rows is None:
            self._rows = self._materialise()
            self._df = self._arrow = None
            self._json_columns = set()
        return self._rows

    def _materialise(self) -> list[list[Any]]:
        return [list(r) for r in zip(*self._column_lists())] if self.columns else []

    def _column_lists(self) -> list[list[Any]]:
        if self._rows is not None:
            return [list(c) for c in zip(*self._rows)] if self._rows else [[] for _ in self.columns]
        if self._arrow is not None:
            cols = [self._arrow.column(i).to_pylist() for i in range(self._arrow.num_columns)]
        else:
            cols = [self._df.iloc[:, j].tolist() for j in range(len(self.columns))]
        for j, name in enumerate(self.columns):
            if name in self._json_columns:
                cols[j] = [_from_json_cell(v, self._get) for v in cols[j]]
        return cols

    def __len__(self) -> int:
        if self._rows is not None:
            return len(self._rows)
        return self._arrow.num_rows if self._arrow is not None else len(self._df)

    def get_column(self, name: str, convert_to: str | None = None) -> Any:
        """The values of column ``name`` as a list (``convert_to="numpy"`` for an array)."""
        if name not in self.columns:
            raise UsageError(f"Table has no column {name!r}; its columns: {', '.join(self.columns)}")
        j = self.columns.index(name)
        if self._rows is not None:
            values = [r[j] for r in self._rows]
        elif self._arrow is not None and name not in self._json_columns:
            values = self._arrow.column(j).to_pylist()
        elif self._df is not None and name not in self._json_columns:
            values = self._df.iloc[:, j].tolist()
        else:
            values = self._column_lists()[j]
        if convert_to == "numpy":
            return need("numpy", "get_column(convert_to='numpy')").asarray(values)
        return values

    def get_dataframe(self) -> Any:
        """The table as a pandas DataFrame."""
        pd = need("pandas", "Table.get_dataframe()")
        if self._df is not None:
            return self._df.copy()
        if self._arrow is not None:
            df = self._arrow.to_pandas()
            for name in self._json_columns:  # from Arrow: pandas' str dtype would give NaN for a missing cell
                cells = self._arrow.column(self.columns.index(name)).to_pylist()
                df[name] = pd.Series([_from_json_cell(v, self._get) for v in cells], dtype=object)
            return df
        df = pd.DataFrame(self._rows, columns=self.columns)
        for j, name in enumerate(self.columns):
            if df.dtypes.iloc[j].kind == "f" and _column_type([r[j] for r in self._rows]) == "json":
                df[name] = pd.Series([r[j] for r in self._rows], dtype=object)  # float64 would round its large ints
        return df

    def iterrows(self) -> Iterator[tuple[int, list[Any]]]:
        """``(index, row)`` for each row, as wandb's ``Table.iterrows``."""
        return iter(enumerate(self.data))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Table) and other.columns == self.columns and other.data == self.data

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<tracklet.Table {len(self)} rows x {len(self.columns)} columns>"

    # -- logging -----------------------------------------------------------------------------------
    def _freeze(self) -> Table:
        snap = Table.__new__(Table)
        snap.columns = list(self.columns)
        snap._rows, snap._df, snap._arrow = self._rows, self._df, self._arrow
        snap._json_columns, snap._get, snap._shared = set(self._json_columns), self._get, True
        self._shared = True  # add_data() after log() copies the rows list first: the logged table stays as it was
        return snap

    def _encode(self, put: Callable[[bytes], tuple[str, int]]) -> tuple[bytes, dict[str, Any]]:
        try:
            pa = need("pyarrow", "")
        except UsageError:
            pa = None
        if self._df is not None and pa is not None:
            return self._encode_frame(pa, put)
        cols = self._column_lists()
        types = []
        for j, values in enumerate(cols):
            kind = _column_type(values)
            if kind == "json":
                cols[j] = [_json_cell(v, put) for v in values]
            elif kind == "float":  # ints among floats read back as floats, as in Parquet's float64 (and pandas)
                cols[j] = [v if v is None else float(v) for v in values]
            types.append(kind)
        meta = {"rows": len(self), "columns": list(self.columns), "types": types}
        if pa is None:
            import gzip

            body = json.dumps({"columns": self.columns, "types": types, "data": cols}, separators=(",", ":"), allow_nan=True)
            return gzip.compress(body.encode(), 6, mtime=0), {**meta, "format": "json"}
        arrow_types = {"bool": pa.bool_(), "int": pa.int64(), "float": pa.float64(), "str": pa.string(), "null": pa.null(), "json": pa.string()}
        table = pa.table({name: pa.array(values, type=arrow_types[t]) for name, values, t in zip(self.columns, cols, types)})
        return _parquet(table), {**meta, "format": "parquet"}

    def _encode_frame(self, pa: Any, put: Callable[[bytes], tuple[str, int]]) -> tuple[bytes, dict[str, Any]]:
        df = self._df
        types = []
        replaced = {}
        for j, name in enumerate(self.columns):
            col = df.iloc[:, j]
            kind = col.dtype.kind
            if kind == "b":
                types.append("bool")
            elif kind in "iu":
                types.append("int")
            elif kind == "f":
                types.append("float")
            elif kind == "M":
                types.append("datetime")
            else:
                values = col.tolist()
                t = _column_type(values)
                if t == "json":
                    replaced[name] = [_json_cell(v, put) for v in values]
                elif t in ("int", "float", "bool"):
                    replaced[name] = values
                types.append(t)
        if replaced:
            df = df.copy(deep=False)
            for name, values in replaced.items():
                df[name] = values
        table = pa.Table.from_pandas(df, preserve_index=False)
        return _parquet(table), {"rows": len(df), "columns": list(self.columns), "types": types, "format": "parquet"}

    @classmethod
    def _decode(cls, data: bytes, meta: dict[str, Any], get: Callable[[str], bytes]) -> Table:
        t = Table.__new__(Table)
        t._rows = t._df = t._arrow = None
        t._shared = False
        t._get = get
        t.columns = list(meta.get("columns") or [])
        types = meta.get("types") or []
        t._json_columns = {name for name, kind in zip(t.columns, types) if kind == "json"}
        if meta.get("format") == "json":
            import gzip

            doc = json.loads(gzip.decompress(data))
            t.columns = list(doc["columns"])
            cols = doc["data"]
            for j, kind in enumerate(doc["types"]):
                if kind == "json":
                    cols[j] = [_from_json_cell(v, get) for v in cols[j]]
            t._json_columns = set()
            t._rows = [list(r) for r in zip(*cols)]
            return t
        pa = need("pyarrow", "reading a stored Table (Parquet)")
        import pyarrow.parquet as pq

        t._arrow = pq.read_table(pa.BufferReader(data))
        if not t.columns:
            t.columns = list(t._arrow.column_names)
        return t


def _parquet(table: Any) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)  # pyarrow's defaults (snappy): the size the issue compares with
    return sink.getvalue().to_pybytes()
