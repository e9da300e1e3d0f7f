"""A few read-only queries on the embedded SQLite store with the standard library's sqlite3.

Importing SQLAlchemy costs about 0.3 s; a training process that only needs to know whether
the ingest worker has stored something (``artifact.wait()``) should not pay it.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing

from ..._errors import StoreDamagedError
from .._layout import DB_FILE, log_path, runs_dir

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["artifact_version", "connect_readonly", "damaged", "is_damage", "stored_offset", "up_to_date"]



# SQLite's result codes for a damaged file: SQLITE_CORRUPT, SQLITE_NOTADB
_DAMAGE_CODES = (11, 26)
_DAMAGE_WORDS = ("malformed", "not a database", "corrupt", "disk image")


def is_damage(exc: BaseException) -> bool:
    """Whether ``exc`` (from sqlite3, or SQLAlchemy around it) says the database file is damaged."""
    orig = getattr(exc, "orig", None) or exc
    if isinstance(orig, UnicodeDecodeError):
        return True  # SQLite read garbage where text belongs (seen on a file overwritten with random bytes)
    if not isinstance(orig, sqlite3.DatabaseError) or isinstance(orig, sqlite3.OperationalError) and "locked" in str(orig):
        return False
    code = getattr(orig, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return code & 0xFF in _DAMAGE_CODES
    return any(word in str(orig).lower() for word in _DAMAGE_WORDS)


def damaged(root: str, detail: Any) -> StoreDamagedError:
    """The error that says the store's database is damaged, and how to rebuild it."""
    return StoreDamagedError(
        f"the store database {os.path.join(root, DB_FILE)} is damaged ({detail}). Nothing your runs recorded is lost: "
        f"it is all in their logs ({log_path(root, '*')}). Rebuild the store from them with: "
        f"tracklet doctor --rebuild --dir {root}  (the damaged file is kept beside it)"
    )


def connect_readonly(root: str) -> sqlite3.Connection | None:
    path = os.path.join(root, DB_FILE)
    if not os.path.exists(path):
        return None
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    return conn


def stored_offset(root: str, run_id: str) -> int:
    """How many bytes of the run's WAL the store holds (0 before its first ingest)."""
    conn = connect_readonly(root)
    if conn is None:
        return 0
    with closing(conn):
        try:
            row = conn.execute("SELECT wal_offset FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        except sqlite3.DatabaseError:  # no schema yet
            return 0
    return row[0] if row else 0


def artifact_version(root: str, project: str, entity: str | None, name: str, digest: str) -> dict[str, Any] | None:
    """The committed version of ``project/name`` with ``digest`` as the store holds it now (no catch-up), or None."""
    from ._artifact_reads import version_by_digest
    from ._reader import Reader

    conn = connect_readonly(root)
    if conn is None:
        return None
    q = Reader(root, raw=conn)
    try:
        return version_by_digest(q, project, entity, name, digest)
    except sqlite3.DatabaseError:  # the worker is still creating the schema: nothing is stored yet
        return None
    finally:
        q.close()


def up_to_date(root: str) -> bool:
    """True when the store holds every record of every local run's WAL (so reads need no catch-up)."""
    conn = connect_readonly(root)
    if conn is None:
        return False
    with closing(conn):
        try:
            stored = dict(conn.execute("SELECT run_id, wal_offset FROM runs").fetchall())
        except sqlite3.DatabaseError:
            return False
    try:
        entries = os.listdir(runs_dir(root))
    except FileNotFoundError:
        return True
    from ...wal._logfile import log_size

    for run_id in entries:
        try:
            size = log_size(log_path(root, run_id))
        except OSError:
            continue
        if run_id in stored:
            if size is not None and size > stored[run_id]:
                return False
        elif _mode(log_path(root, run_id)) != "offline":
            return False  # a local run the store has not seen yet
    return True


def _mode(wal: str) -> str | None:
    from ...wal._wal import first_run_record

    try:
        first = first_run_record(wal)
    except ValueError:
        return None
    return first.get("mode") if first else None
