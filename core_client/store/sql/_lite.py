"""A few read-only queries on the embedded SQLite store with the standard library's sqlite3.

Importing SQLAlchemy costs about 0.3 s; a training process that only needs to know whether
the ingest worker has stored something (``artifact.wait()``) should not pay it.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing

from ..._errors import StoreDamagedError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["LiteEngine", "artifact_version", "damaged", "find_artifact", "is_damage", "run_row", "stored_offset", "up_to_date"]

DB_FILE = "tracklet.db"  # the store's database file in its folder (``_store`` uses this name too)


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
        f"it is all in their logs ({os.path.join(root, 'runs', '*', 'run.tlog')}). Rebuild the store from them with: "
        f"tracklet doctor --rebuild --dir {root}  (the damaged file is kept beside it)"
    )


def _connect(root: str) -> sqlite3.Connection | None:
    path = os.path.join(root, DB_FILE)
    if not os.path.exists(path):
        return None
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    return conn


def stored_offset(root: str, run_id: str) -> int:
    """How many bytes of the run's WAL the store holds (0 before its first ingest)."""
    conn = _connect(root)
    if conn is None:
        return 0
    with closing(conn):
        try:
            row = conn.execute("SELECT wal_offset FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        except sqlite3.DatabaseError:  # no schema yet
            return 0
    return row[0] if row else 0


def artifact_version(root: str, project: str, entity: str | None, name: str, digest: str) -> dict[str, Any] | None:
    """The committed version of ``project/name`` with ``digest``: id, index, created_at and aliases."""
    conn = _connect(root)
    if conn is None:
        return None
    with closing(conn):
        try:
            row = conn.execute(
                "SELECT v.id, v.version_index, v.created_at FROM artifact_versions v "
                "JOIN artifact_collections c ON c.id = v.collection_id JOIN projects p ON p.id = c.project_id "
                "WHERE p.name = ? AND p.entity = ? AND c.name = ? AND v.digest = ? AND v.state = 'committed'",
                (project, entity or "", name, digest),
            ).fetchone()
        except sqlite3.DatabaseError:  # the worker is still creating the schema: nothing is stored yet
            return None
        if row is None:
            return None
        aliases = [a for (a,) in conn.execute("SELECT alias FROM artifact_aliases WHERE version_id = ?", (row[0],))]
    return {"id": row[0], "version_index": row[1], "created_at": row[2], "aliases": sorted(aliases)}


def up_to_date(root: str) -> bool:
    """True when the store holds every record of every local run's WAL (so reads need no catch-up)."""
    runs_dir = os.path.join(root, "runs")
    conn = _connect(root)
    if conn is None:
        return False
    with closing(conn):
        try:
            stored = dict(conn.execute("SELECT run_id, wal_offset FROM runs").fetchall())
        except sqlite3.DatabaseError:
            return False
    try:
        entries = os.listdir(runs_dir)
    except FileNotFoundError:
        return True
    from ...wal._logfile import log_size

    for run_id in entries:
        try:
            size = log_size(os.path.join(runs_dir, run_id, "run.tlog"))
        except OSError:
            continue
        if run_id in stored:
            if size is not None and size > stored[run_id]:
                return False
        elif _mode(os.path.join(runs_dir, run_id, "run.tlog")) not in ("offline", "remote"):
            return False  # a local run the store has not seen yet
    return True


def _mode(wal: str) -> str | None:
    from ...wal._wal import first_run_record

    try:
        first = first_run_record(wal)
    except ValueError:
        return None
    return first.get("mode") if first else None


def find_artifact(root: str, project: str, entity: str | None, name: str, alias: str) -> dict[str, Any] | None:
    """A committed version of ``project/name`` by alias or ``vN``, with its manifest and aliases."""
    conn = _connect(root)
    if conn is None:
        return None
    base = (
        "SELECT v.id, v.version_index, v.digest, v.type, v.description, v.metadata, v.manifest, v.created_at, p.entity "
        "FROM artifact_versions v JOIN artifact_collections c ON c.id = v.collection_id "
        "JOIN projects p ON p.id = c.project_id WHERE p.name = ? AND c.name = ? AND v.state = 'committed'"
    )
    args: list[Any] = [project, name]
    if entity is not None:
        base += " AND p.entity = ?"
        args.append(entity)
    if len(alias) > 1 and alias[0] == "v" and alias[1:].isdigit():
        base += " AND v.version_index = ?"
        args.append(int(alias[1:]))
    else:
        base += " AND v.id = (SELECT a.version_id FROM artifact_aliases a WHERE a.collection_id = c.id AND a.alias = ?)"
        args.append(alias)
    with closing(conn):
        try:
            row = conn.execute(base, args).fetchone()
        except sqlite3.DatabaseError:
            return None
        if row is None:
            return None
        aliases = [a for (a,) in conn.execute("SELECT alias FROM artifact_aliases WHERE version_id = ?", (row[0],))]
    import json

    keys = ("id", "version_index", "digest", "type", "description", "metadata", "manifest", "created_at", "entity")
    found = dict(zip(keys, row))
    found["metadata"] = json.loads(found["metadata"]) if found["metadata"] else {}
    found["manifest"] = json.loads(found["manifest"])
    found["aliases"] = aliases
    return found


class _LiteConnection:
    """The part of a SQLAlchemy ``Connection`` that ``ApiRun``'s raw queries use, on sqlite3."""

    def __init__(self, raw: sqlite3.Connection, root: str) -> None:
        self.driver_connection = raw
        self.connection = self  # so ``conn.connection.driver_connection`` works as with SQLAlchemy
        self._root = root

    def exec_driver_sql(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        try:
            return self.driver_connection.execute(sql, params)
        except sqlite3.DatabaseError as e:
            if is_damage(e):
                raise damaged(self._root, e) from None
            raise

    def rollback(self) -> None:
        pass

    def __enter__(self) -> "_LiteConnection":
        return self

    def __exit__(self, *exc: object) -> None:
        self.driver_connection.close()


class LiteEngine:
    """Read-only connections to a store folder's SQLite file, for up-to-date stores."""

    def __init__(self, root: str) -> None:
        self.root = root

    def connect(self) -> _LiteConnection:
        conn = _connect(self.root)
        if conn is None:
            raise FileNotFoundError(os.path.join(self.root, DB_FILE))
        return _LiteConnection(conn, self.root)


_JSON_COLUMNS = ("tags", "config", "summary", "summary_state", "metric_defs", "environment")


def run_row(root: str, run_id: str) -> dict[str, Any] | None:
    """A run's row with its project's name and entity, as ``Api.run`` builds ``ApiRun`` from."""
    import json

    conn = _connect(root)
    if conn is None:
        return None
    with closing(conn):
        conn.row_factory = sqlite3.Row
        try:
            row = conn.execute(
                "SELECT r.*, p.name AS project_name, p.entity AS project_entity FROM runs r "
                "JOIN projects p ON p.id = r.project_id WHERE r.run_id = ?",
                (run_id,),
            ).fetchone()
        except sqlite3.DatabaseError:
            return None  # no schema yet, or a damaged file: the full path says which
    if row is None:
        return None
    out = dict(row)
    for col in _JSON_COLUMNS:
        out[col] = json.loads(out[col]) if out[col] is not None else None
    return out
