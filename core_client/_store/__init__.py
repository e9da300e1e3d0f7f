"""The store: SQLite (embedded, default) or PostgreSQL, through SQLAlchemy Core.

Importing this package imports SQLAlchemy (about a quarter of a second), so only the
ingest worker, ``Api`` and the CLI do; ``import tracklet`` and the training loop never do.
"""

from __future__ import annotations

import atexit
import os

from sqlalchemy import Engine

from ._catchup import catch_up, mark_crashed
from ._engine import DB_FILE, checkpoint, make_engine, write_transaction
from ._ingest import ingest_run

__all__ = [
    "DB_FILE",
    "catch_up",
    "checkpoint",
    "close_all",
    "ingest_run",
    "make_engine",
    "mark_crashed",
    "open_local",
    "write_transaction",
]

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
