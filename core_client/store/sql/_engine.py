"""Opening a store: the engine, SQLite's pragmas, and the schema check."""

from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from contextlib import contextmanager, nullcontext
from typing import Any, Iterator

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError

from ..._errors import StoreError
from . import _schema as S
from .._layout import DB_FILE
from ._damage import damaged, is_damage
from ._urls import normalize_url, safe_url
from ._versions import check_version, stored_version, upgrade

__all__ = ["DB_FILE", "checkpoint", "close_all", "make_engine", "open_local", "write_transaction"]

# SQLite has one write lock per file. Threads of one process (a server's request threads) take turns
# here first: a waiter then blocks on a lock that hands over at once, instead of holding a pooled
# connection while SQLite's busy handler sleeps and polls (up to 100 ms a nap, so the lock sat free
# between writers), and readers (key checks, positions) no longer queue for a connection behind
# writers. Other processes on the file still meet SQLite's own lock and busy timeout.
_WRITE_LOCKS: "weakref.WeakKeyDictionary[Engine, threading.RLock]" = weakref.WeakKeyDictionary()


def make_engine(url: str) -> Engine:
    """An engine for ``sqlite:///path`` or ``postgresql://...``, with the schema in place.

    A SQLite store is created or upgraded here. A PostgreSQL database must already hold this
    tracklet's schema (``_migrate.migrate(url)``, what ``tracklet server --migrate`` runs); one that
    is empty, older or newer is refused with a ``StoreError`` that says what to run.
    """
    url = normalize_url(url)
    if not url.startswith("sqlite:"):
        engine = create_engine(url, pool_pre_ping=True)
        try:
            _check_server_schema(engine, url)
        except BaseException:
            engine.dispose()
            raise
        return engine
    root = ""  # the store folder of a SQLite file, named in the errors that say it is damaged
    path = url.split("///", 1)[1] if "///" in url else ""
    if path:
        from ._spawn import make_store_dir

        root = os.path.dirname(os.path.abspath(path))
        make_store_dir(root)
    busy_ms = int(os.environ.get("TRACKLET_STORE_BUSY_TIMEOUT_MS", "60000"))
    engine = create_engine(url, connect_args={"timeout": busy_ms / 1000})
    _WRITE_LOCKS[engine] = threading.RLock()  # re-entrant: a nested writer meets SQLite's timeout, as before

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # noqa: ANN001
        dbapi_conn.isolation_level = None  # transactions are begun below, not by pysqlite
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={busy_ms}")
        # 4 MiB a connection: 16 MiB cost the ingest worker 12 MB more at 1M steps x 3 metrics (each pooled
        # connection keeps its own cache) for no difference in ingest or chart reads measured here
        cur.execute("PRAGMA cache_size=-4096")
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

    try:
        _ensure_schema(engine, url)
    except Exception as e:
        engine.dispose()
        if is_damage(e):  # e.g. garbage met while connecting, before any statement
            raise damaged(root, e) from None
        raise
    except BaseException:
        engine.dispose()
        raise
    return engine


@contextmanager
def write_transaction(engine: Engine, lock: str | None = None) -> Iterator[Connection]:
    """``with write_transaction(engine) as conn:``: a transaction that holds the write lock.

    SQLite has one write lock for the whole file. PostgreSQL writers run side by side; those that
    name the same ``lock`` (a run id) take turns, so two ingesters of one run never both read an
    offset and then both write the rows after it.
    """
    with _WRITE_LOCKS.get(engine) or nullcontext(), engine.connect() as conn:
        conn.execution_options(write=True)
        with conn.begin():
            if lock is not None and conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": lock})
            yield conn


def checkpoint(engine: Engine) -> None:
    """Fold SQLite's -wal file into the database and truncate it (it never shrinks by itself)."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _ensure_schema(engine: Engine, url: str) -> None:
    """Create or upgrade a SQLite store. A current one costs one SELECT: Alembic loads only to change it."""
    try:
        with engine.connect() as conn:
            version = stored_version(conn)
            conn.rollback()
        check_version(version, url)
        if version == S.SCHEMA_VERSION:
            return
        for attempt in range(5):
            try:
                with write_transaction(engine) as conn:
                    upgrade(conn, url)  # reads the version again, under the write lock
                return
            except OperationalError:
                if attempt == 4:
                    raise
                time.sleep(0.05 * (attempt + 1))
    except OperationalError as e:
        raise StoreError(f"cannot open the store at {url}: {e.orig}") from None


def _check_server_schema(engine: Engine, url: str) -> None:
    """Refuse a PostgreSQL database whose schema is not this tracklet's; servers never migrate by themselves."""
    try:
        with engine.connect() as conn:
            version = stored_version(conn)
            conn.rollback()
    except OperationalError as e:
        raise StoreError(f"cannot reach the database at {safe_url(url)}: {e.orig}") from None
    check_version(version, url)
    if version is None:
        raise StoreError(
            f"the database at {safe_url(url)} has no tracklet schema yet. Create it with: "
            f"tracklet server --db {safe_url(url)} --migrate"
        )
    if version < S.SCHEMA_VERSION:
        raise StoreError(
            f"the database at {safe_url(url)} has schema version {version}, older than this tracklet's "
            f"({S.SCHEMA_VERSION}). Upgrade it (once, from one server) with: tracklet server --db {safe_url(url)} --migrate"
        )


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
