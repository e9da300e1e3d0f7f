"""A damaged database file: telling it from other errors, checking for it, and rebuilding the store from the logs.

The runs' write-ahead logs are the source of truth, so a damaged ``tracklet.db`` loses nothing a
run recorded: it is moved aside (never deleted) and a new one is made from the logs.
"""

from __future__ import annotations

import os
import sqlite3
import time
from typing import Any, Callable

from ..._errors import StoreDamagedError
from .._layout import DB_FILE, log_path, runs_dir

__all__ = ["check_database", "rebuild"]

def check_database(root: str) -> str | None:
    """SQLite's own check of the store's database file: None when it is sound, else what is wrong."""
    path = os.path.join(root, DB_FILE)
    if not os.path.exists(path):
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            rows = conn.execute("PRAGMA quick_check").fetchall()
        finally:
            conn.close()
    except Exception as e:  # noqa: BLE001 - whatever SQLite says of a bad file is the answer
        return f"{type(e).__name__}: {e}"
    found = [r[0] for r in rows if r[0] != "ok"]
    return "; ".join(found[:3]) + (f" (and {len(found) - 3} more)" if len(found) > 3 else "") if found else None


def rebuild(root: str, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Move the database aside and make it anew from every run log under ``root/runs``.

    Returns what was done: ``moved_to``, ``runs``, ``records``, ``refused`` (logs that could not be read).
    """
    from ..._errors import SyncError
    from ._spawn import worker_running
    from ...wal._logfile import log_exists
    from ...wal._wal import first_run_record
    from ._engine import close_all, open_local
    from ._catchup import mark_crashed
    from ._engine import checkpoint
    from ._ingest import ingest_run

    if worker_running(root):
        raise StoreDamagedError(
            f"a tracklet worker is storing runs into {root} right now; let the runs finish (or stop the "
            "`tracklet.store.sql._worker` process) and run the rebuild again"
        )
    close_all()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    moved_to = None
    for suffix in ("", "-wal", "-shm"):
        path = os.path.join(root, DB_FILE + suffix)
        if os.path.exists(path):
            target = os.path.join(root, f"{DB_FILE}.damaged-{stamp}{suffix}")
            os.replace(path, target)
            moved_to = moved_to or target
    engine = open_local(root)
    runs = runs_dir(root)
    done = {"moved_to": moved_to, "runs": 0, "records": 0, "refused": []}
    for run_id in sorted(os.listdir(runs)) if os.path.isdir(runs) else []:
        wal = log_path(root, run_id)
        if not log_exists(wal):
            continue
        try:
            if first_run_record(wal) is None:
                continue
            done["records"] += ingest_run(engine, wal, run_id)
            done["runs"] += 1
        except (OSError, ValueError, SyncError) as e:
            done["refused"].append((wal, str(e)))
        if progress is not None:
            progress(run_id)
    mark_crashed(engine, root)
    checkpoint(engine)
    return done
