"""Deleting a run: its rows, and in a folder store its log folder, so neither catch-up nor a rebuild brings it back.

What stays: the artifact versions it logged (a version outlives the run that made it: its ``run_pk``
becomes NULL), its calls (traces name their run by id), the registry's audit trail and sweep trials.
The blobs of its media values are removed after, by ``artifacts._collect``, where nothing else lists them.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid

from sqlalchemy import Connection, Engine, select

from ..._errors import UsageError
from .. import _layout as L
from .._liveness import STALE_AFTER
from . import _schema as S
from ._engine import write_transaction

__all__ = ["delete_from_database", "delete_from_folder", "delete_run_rows"]

#: every table keyed by a run's pk whose rows are the run's alone
_RUN_TABLES = (
    S.run_keys, S.history, S.history_values, S.history_blocks, S.history_dirty, S.system_metrics, S.run_logs,
    S.run_media, S.run_problems, S.artifact_usage,
)


def delete_run_rows(conn: Connection, pk: int) -> None:
    """Delete run ``pk``'s rows in the open write transaction ``conn``."""
    for table in _RUN_TABLES:
        conn.execute(table.delete().where(table.c.run_pk == pk))
    conn.execute(S.artifact_versions.update().where(S.artifact_versions.c.run_pk == pk).values(run_pk=None))
    conn.execute(S.runs.delete().where(S.runs.c.pk == pk))


def delete_from_folder(engine: Engine, root: str, run_id: str, pk: int) -> None:
    """Delete run ``run_id`` (stored as ``pk``) of folder store ``root``, its log held so it cannot be running.

    The run's folder is moved aside first (one rename), then its rows go, then the folder: a delete cut
    short leaves either the whole run or none of it for catch-up to see.
    """
    from ...wal._edits import ended_log
    from ...wal._logfile import log_exists

    trash = None
    if log_exists(L.log_path(root, run_id)):
        with ended_log(root, run_id, "delete"):
            trash = os.path.join(root, L.DELETED, f"{run_id}.{uuid.uuid4().hex[:8]}")
            os.makedirs(os.path.dirname(trash), exist_ok=True)
            os.rename(L.run_dir(root, run_id), trash)
            with write_transaction(engine) as conn:
                delete_run_rows(conn, pk)
    else:  # no log (a delete cut short after its rename): the rows are all there is
        with write_transaction(engine) as conn:
            delete_run_rows(conn, pk)
    try:
        os.remove(os.path.join(root, L.ACTIVE, run_id))
    except FileNotFoundError:
        pass
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)


def delete_from_database(engine: Engine, run_id: str, pk: int) -> None:
    """Delete run ``run_id`` of a database store (no log files: its rows are the run); refused while it heartbeats."""
    with write_transaction(engine, lock=run_id) as conn:
        row = conn.execute(select(S.runs.c.state, S.runs.c.heartbeat_at).where(S.runs.c.pk == pk)).first()
        if row is None:
            return
        if row.state == "running" and time.time() - (row.heartbeat_at or 0.0) <= STALE_AFTER:
            raise UsageError(f"run {run_id} is still running; delete it after it ends (or after its process is stopped)")
        delete_run_rows(conn, pk)
