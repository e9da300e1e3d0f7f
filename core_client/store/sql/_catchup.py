"""Bringing a store up to date with the WALs beside it, and telling crashed runs from running ones."""

from __future__ import annotations

import os
import time
from typing import Any, Callable

from sqlalchemy import Engine, select

from ..._errors import SyncError, warn_once
from .._liveness import STALE_AFTER, looks_crashed, pid_alive
from .. import _layout as L
from . import _schema as S
from ._engine import write_transaction
from ...wal._logfile import log_size
from ...wal._wal import first_run_record
from ._ingest import ingest_run, record_loss_report
from ._lite import wait_for_worker

__all__ = ["STALE_AFTER", "catch_up", "mark_crashed", "mark_silent_runs"]



def catch_up(engine: Engine, root: str, include_offline: bool = False, include_remote: bool = True, blob_store: Callable[[], Any] | None = None) -> int:
    """Ingest what local runs under ``root/runs`` wrote but the store lacks; returns records ingested.

    ``blob_store()``: where images logged as pixels get their PNGs (default: the folder's blob store).

    ``include_remote=False`` skips stored runs that arrive over HTTP (mode ``remote``): the server's
    ``append_log`` stores each batch before it answers, so a reader catching them up mid-append only
    ingests the same bytes twice over (measured: ~40 % of a loaded server's request threads' samples).
    """
    runs_dir = L.runs_dir(root)
    try:
        entries = os.listdir(runs_dir)
    except FileNotFoundError:
        return 0
    with engine.connect() as conn:
        known = {r.run_id: r for r in conn.execute(select(S.runs.c.run_id, S.runs.c.wal_offset, S.runs.c.mode))}
        conn.rollback()
    served = _served_by_worker(root)
    total = 0
    for run_id in entries:
        wal = L.log_path(root, run_id)
        try:
            size = log_size(wal)
        except OSError:
            continue
        row = known.get(run_id)
        if row is not None:
            if row.mode == "remote" and not include_remote:
                continue
            if size is None or size <= row.wal_offset:
                continue  # a compressed log was stored whole before it was compressed
        else:
            try:
                first = first_run_record(wal)
            except ValueError:
                continue
            if first is None or (first.get("mode") in ("offline", "remote") and not include_offline):  # a remote run's log is its server's
                continue
        if run_id in served and row is not None and size is not None and wait_for_worker(root, run_id, size):
            continue  # the worker is storing it: waiting costs less than decoding it twice
        try:
            total += ingest_run(engine, wal, run_id, blob_store=blob_store)
        except SyncError as e:
            warn_once(f"catch-up:{wal}", f"tracklet: skipped {wal}: {e}")
    mark_crashed(engine, root)
    return total


def _served_by_worker(root: str) -> set[str]:
    """Runs an ingest worker is storing right now (active markers, and the worker's lock held)."""
    from ._spawn import ACTIVE, worker_running

    try:
        active = set(os.listdir(os.path.join(root, ACTIVE)))
    except FileNotFoundError:
        return set()
    return active if active and worker_running(root) else set()


def mark_crashed(engine: Engine, root: str, is_alive: Callable[[Any, Any], bool | None] = pid_alive) -> int:
    """Mark ``running`` runs whose process is gone (or whose log went silent) as ``crashed``."""
    now = time.time()
    crashed = []
    with engine.connect() as conn:
        rows = conn.execute(
            select(S.runs.c.pk, S.runs.c.run_id, S.runs.c.pid, S.runs.c.host, S.runs.c.heartbeat_at).where(S.runs.c.state == "running")
        ).all()
        conn.rollback()
    for r in rows:
        if looks_crashed(root, r.run_id, r.pid, r.host, r.heartbeat_at, is_alive):
            crashed.append(r.pk)
    if crashed:
        with write_transaction(engine) as conn:
            conn.execute(
                S.runs.update()
                .where(S.runs.c.pk.in_(crashed), S.runs.c.state == "running")
                .values(state="crashed", updated_at=now)
            )
            for r in rows:
                report = record_loss_report(conn, r.pk, L.run_dir(root, r.run_id), now) if r.pk in crashed else None
                if report and report.get("state"):  # it did end, but its last records (the exit among them) were lost
                    conn.execute(S.runs.update().where(S.runs.c.pk == r.pk).values(
                        state=report["state"], exit_code=report.get("exit_code"), finished_at=report.get("t")))
    return len(crashed)


def mark_silent_runs(engine: Engine, now: float | None = None) -> int:
    """Mark the ``running`` runs of a database store that took no batch of their log for ``STALE_AFTER`` as ``crashed``.

    A database store has no log files or processes beside it to look at; the time it last stored a batch of
    a run's log (``updated_at``, this server's clock) tells instead: a live run sends a heartbeat at least
    every 30 s. A batch of recent records that comes later makes the run ``running`` again (ingest).
    """
    now = time.time() if now is None else now
    with write_transaction(engine) as conn:
        done = conn.execute(
            S.runs.update()
            .where(S.runs.c.state == "running", S.runs.c.updated_at < now - STALE_AFTER)
            .values(state="crashed", updated_at=now)
        )
    return done.rowcount or 0
