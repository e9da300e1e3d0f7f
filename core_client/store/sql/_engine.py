"""Opening a store: the engine, SQLite's pragmas, and the schema check."""

from __future__ import annotations

import atexit
import os
import time
from contextlib import contextmanager
from typing import Any, Iterator

from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.exc import OperationalError

from ..._errors import StoreError
from . import _schema as S
from .._layout import DB_FILE
from ._damage import damaged, is_damage

__all__ = ["DB_FILE", "checkpoint", "close_all", "make_engine", "open_local", "write_transaction"]


def make_engine(url: str) -> Engine:
    """An engine for ``sqlite:///path`` or ``postgresql://...``, with the schema in place."""
    root = ""  # the store folder of a SQLite file, named in the errors that say it is damaged
    if url.startswith("sqlite:"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path:
            from ._spawn import make_store_dir

            root = os.path.dirname(os.path.abspath(path))
            make_store_dir(root)
        busy_ms = int(os.environ.get("TRACKLET_STORE_BUSY_TIMEOUT_MS", "60000"))
        engine = create_engine(url, connect_args={"timeout": busy_ms / 1000})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):  # noqa: ANN001
            dbapi_conn.isolation_level = None  # transactions are begun below, not by pysqlite
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={busy_ms}")
            cur.execute("PRAGMA cache_size=-16384")  # 16 MiB: enough for appends; the worker stays small
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # A writer takes SQLite's write lock up front, so two processes never both
            # read an offset and then both write the rows after it.
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN")

        @event.listens_for(engine, "handle_error")
        def _on_error(context: Any) -> None:
            if is_damage(context.original_exception):
                raise damaged(root, context.original_exception) from None

    else:
        engine = create_engine(url, pool_pre_ping=True)
    try:
        _ensure_schema(engine, url)
    except Exception as e:
        engine.dispose()
        if url.startswith("sqlite:") and is_damage(e):  # e.g. garbage met while connecting, before any statement
            raise damaged(root, e) from None
        raise
    except BaseException:
        engine.dispose()
        raise
    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """``with write_transaction(engine) as conn:``: a transaction that holds the write lock."""
    with engine.connect() as conn:
        conn.execution_options(write=True)
        with conn.begin():
            yield conn


def checkpoint(engine: Engine) -> None:
    """Fold SQLite's -wal file into the database and truncate it (it never shrinks by itself)."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _migrate(conn: Connection, version: int) -> None:
    """Add the columns that schema versions after ``version`` added to existing tables (in the write lock)."""
    from sqlalchemy import inspect

    for to in sorted(v for v in S.MIGRATIONS if v > version):
        for table, column, sql_type in S.MIGRATIONS[to]:
            if column not in {c["name"] for c in inspect(conn).get_columns(table)}:
                conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}")


def _ensure_schema(engine: Engine, url: str) -> None:
    try:
        with engine.connect() as conn:
            try:
                version = conn.execute(select(S.meta.c.value).where(S.meta.c.key == "schema_version")).scalar()
            except OperationalError:
                version = None
                conn.rollback()
            else:
                conn.rollback()
        if version is not None:
            if int(version) > S.SCHEMA_VERSION:
                raise StoreError(
                    f"the store at {url} has schema version {version}, newer than this tracklet knows "
                    f"({S.SCHEMA_VERSION}). Upgrade tracklet: pip install -U tracklet"
                )
            if int(version) == S.SCHEMA_VERSION:
                return
        for attempt in range(5):
            try:
                with write_transaction(engine) as conn:
                    S.metadata.create_all(conn)
                    exists = conn.execute(select(S.meta.c.value).where(S.meta.c.key == "schema_version")).scalar()
                    if exists is not None:
                        _migrate(conn, int(exists))
                    if exists is None:
                        conn.execute(S.meta.insert().values(key="schema_version", value=str(S.SCHEMA_VERSION)))
                    elif int(exists) < S.SCHEMA_VERSION:
                        conn.execute(
                            S.meta.update().where(S.meta.c.key == "schema_version").values(value=str(S.SCHEMA_VERSION))
                        )
                return
            except OperationalError:
                if attempt == 4:
                    raise
                time.sleep(0.05 * (attempt + 1))
    except OperationalError as e:
        raise StoreError(f"cannot open the store at {url}: {e.orig}") from None


_engines: dict[str, Engine] = {}


def open_local(root: str) -> Engine:
    """The engine of the embedded store in folder ``root`` (``root/tracklet.db``), cached per process."""
    root = os.path.abspath(root)
    engine = _engines.get(root)
    if engine is None:
        engine = _engines[root] = make_engine(f"sqlite:///{os.path.join(root, DB_FILE)}")
    return engine


@atexit.register
def close_all() -> None:
    """Close every cached store connection (at exit, and between tests)."""
    while _engines:
        _, engine = _engines.popitem()
        engine.dispose()
