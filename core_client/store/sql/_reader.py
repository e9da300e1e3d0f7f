"""One read connection for the SQL store's queries, the same SQL on three drivers.

An up-to-date folder store is read with the standard library's ``sqlite3`` (no SQLAlchemy
import: 0.3 s saved for a script that only reads); otherwise through a SQLAlchemy connection
(SQLite or PostgreSQL). Queries use ``:name`` parameters, which ``sqlite3`` and SQLAlchemy's
``text()`` both take.
"""

from __future__ import annotations

import json
import sqlite3

from ._damage import damaged, is_damage

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator

__all__ = ["Reader", "from_json"]


def from_json(value: Any) -> Any:
    """A JSON column's value: SQLite gives the text, PostgreSQL the parsed value.

    Only for columns that hold an object or an array: a JSON string that psycopg has already parsed
    is a ``str`` too (``Reader.json_decoded`` tells the two apart).
    """
    return json.loads(value) if isinstance(value, str) else value


class Reader:
    """Rows from one connection: ``all``, ``one``, ``scalar``, and ``stream`` (chunked, for long curves)."""

    def __init__(self, root: str, raw: sqlite3.Connection | None = None, conn: Any = None) -> None:
        self._root, self._raw, self._conn = root, raw, conn
        if raw is None and conn is not None and conn.dialect.name == "sqlite":
            self._raw = conn.connection.driver_connection  # the same sqlite3 connection, without Row objects
        #: whether JSON columns come back parsed (psycopg parses them; sqlite3 gives their text)
        self.json_decoded = self._raw is None and conn is not None

    def _execute(self, sql: str, params: dict[str, Any]) -> Any:
        try:
            if self._raw is not None:
                return self._raw.execute(sql, params)
            from sqlalchemy import text

            return self._conn.execute(text(sql), params)
        except Exception as e:
            if self._root and is_damage(e):
                raise damaged(self._root, getattr(e, "orig", e)) from None
            raise

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``: the few queries that differ ask."""
        return "sqlite" if self._conn is None else self._conn.dialect.name

    def execute(self, sql: str, **params: Any) -> None:
        """A statement that returns no rows (in the caller's transaction)."""
        self._execute(sql, params)

    def all(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self._execute(sql, params).fetchall()]

    def one(self, sql: str, **params: Any) -> tuple[Any, ...] | None:
        row = self._execute(sql, params).fetchone()
        return None if row is None else tuple(row)

    def scalar(self, sql: str, **params: Any) -> Any:
        row = self.one(sql, **params)
        return None if row is None else row[0]

    def dicts(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        cur = self._execute(sql, params)
        names = [d[0] for d in cur.description] if self._raw is not None else list(cur.keys())
        return [dict(zip(names, r)) for r in cur.fetchall()]

    def stream(self, sql: str, chunk: int = 10_000, **params: Any) -> Iterator[list[tuple[Any, ...]]]:
        """Rows in chunks of ``chunk``, never all in memory (a curve may hold millions of points)."""
        if self._raw is not None:
            cur = self._raw.cursor()
            try:
                cur.execute(sql, params)
                while True:
                    rows = cur.fetchmany(chunk)
                    if not rows:
                        return
                    yield rows
            finally:
                cur.close()
        from sqlalchemy import text

        # per statement: Connection.execution_options() would set it on the connection, and every later one()
        # on it would leave a server-side cursor open
        result = self._conn.execute(text(sql), params, execution_options={"stream_results": True})
        try:  # a server-side cursor on PostgreSQL: closed even when the reader stops early
            for rows in result.partitions(chunk):
                yield [tuple(r) for r in rows]
        finally:
            result.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.rollback()
            self._conn.close()
        elif self._raw is not None:
            self._raw.close()
