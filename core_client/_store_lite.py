"""A few read-only queries on the embedded SQLite store with the standard library's sqlite3.

Importing SQLAlchemy costs about 0.3 s; a training process that only needs to know whether
the ingest worker has stored something (``artifact.wait()``) should not pay it.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from typing import Any

__all__ = ["artifact_version", "stored_offset"]

DB_FILE = "tracklet.db"  # the same name as _store._engine.DB_FILE, which imports SQLAlchemy


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
        except sqlite3.OperationalError:  # no schema yet
            return 0
    return row[0] if row else 0


def artifact_version(root: str, project: str, entity: str | None, name: str, digest: str) -> dict[str, Any] | None:
    """The committed version of ``project/name`` with ``digest``: id, index, created_at and aliases."""
    conn = _connect(root)
    if conn is None:
        return None
    with closing(conn):
        row = conn.execute(
            "SELECT v.id, v.version_index, v.created_at FROM artifact_versions v "
            "JOIN artifact_collections c ON c.id = v.collection_id JOIN projects p ON p.id = c.project_id "
            "WHERE p.name = ? AND p.entity = ? AND c.name = ? AND v.digest = ? AND v.state = 'committed'",
            (project, entity or "", name, digest),
        ).fetchone()
        if row is None:
            return None
        aliases = [a for (a,) in conn.execute("SELECT alias FROM artifact_aliases WHERE version_id = ?", (row[0],))]
    return {"id": row[0], "version_index": row[1], "created_at": row[2], "aliases": sorted(aliases)}
