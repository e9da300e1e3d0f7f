"""A few read-only queries on the embedded SQLite store with the standard library's sqlite3.

Importing SQLAlchemy costs about 0.3 s; a training process that only needs to know whether
the ingest worker has stored something (``artifact.wait()``) should not pay it.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing

from .._layout import ACTIVE, DB_FILE, log_path, runs_dir

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["artifact_version", "behind", "caught_up_by_worker", "connect_readonly", "stored_offset", "up_to_date", "wait_for_worker"]



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


def wait_for_worker(root: str, run_id: str, offset: int, stall: float = 2.0) -> bool:
    """Wait while the folder's ingest worker stores run ``run_id``'s log up to ``offset``.

    True once the store holds it; False when the worker stops moving for ``stall`` seconds (the
    caller then ingests it itself). Polls with sqlite3: a reader that waits never imports SQLAlchemy.
    """
    import time

    last, since = -1, time.monotonic()
    while True:
        held = stored_offset(root, run_id)
        if held >= offset:
            return True
        if held != last:
            last, since = held, time.monotonic()
        elif time.monotonic() - since > stall:
            return False
        time.sleep(0.002)  # the worker was woken when the record was written: a few ms (a poll costs ~0.2 ms)


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
    return behind(root) == {}


def behind(root: str, include_remote: bool = True) -> dict[str, int] | None:
    """Local runs whose log holds more than the store: run id -> the log's size. None without a database.

    ``include_remote=False`` leaves out stored runs that arrive over HTTP (mode ``remote``, in a
    server's folder): the request that appends to such a log stores it before it answers.
    A stored run that ended and has no marker in ``active/`` is not looked at: only its own process
    (which registers again when it resumes) or an edit (which stores itself) makes its log grow.
    """
    conn = connect_readonly(root)
    if conn is None:
        return None
    with closing(conn):
        try:
            rows = conn.execute("SELECT run_id, wal_offset, mode, state FROM runs").fetchall()
        except sqlite3.DatabaseError:
            return None
    stored = {r: o for r, o, mode, _ in rows if include_remote or mode != "remote"}
    remote = set() if include_remote else {r for r, _, mode, _ in rows if mode == "remote"}
    try:
        entries = os.listdir(runs_dir(root))
    except FileNotFoundError:
        return {}
    try:
        active = set(os.listdir(os.path.join(root, ACTIVE)))
    except FileNotFoundError:
        active = set()
    ended = {r for r, _, mode, state in rows if state != "running" and r not in active}
    from ...wal._logfile import log_size

    out = {}
    for run_id in entries:
        if run_id in ended or run_id in remote:
            continue
        try:
            size = log_size(log_path(root, run_id))
        except OSError:
            continue
        if run_id in remote:
            continue
        if run_id in stored:
            if size is not None and size > stored[run_id]:
                out[run_id] = size
        elif size is not None and _mode(log_path(root, run_id)) not in ("offline", "remote"):
            out[run_id] = size  # a local run the store has not seen yet
    return out


def caught_up_by_worker(root: str, include_remote: bool = True) -> bool:
    """True once the store is up to date, waiting for the folder's ingest worker where it serves the runs behind.

    After ``finish()`` the worker stores the last records within milliseconds; a reader that waits
    for it reads with sqlite3 instead of importing SQLAlchemy (0.2 s) to ingest them itself.
    """
    late = behind(root, include_remote)
    if late is None:
        return False
    if not late:
        return True
    from ._spawn import worker_running

    try:
        served = set(os.listdir(os.path.join(root, ACTIVE)))
    except FileNotFoundError:
        served = set()
    if not set(late) <= served or not worker_running(root):
        return False
    return all(wait_for_worker(root, run_id, size) for run_id, size in late.items())


def _mode(wal: str) -> str | None:
    from ...wal._wal import first_run_record

    try:
        first = first_run_record(wal)
    except ValueError:
        return None
    return first.get("mode") if first else None
