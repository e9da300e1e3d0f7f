"""The store folder's layout: where each run's log, the database, the blobs and the worker's files live.

    <root>/tracklet.db                 the SQL store (SQLite)
    <root>/runs/<run_id>/run.tlog      a run's write-ahead log (run.tlog.gz once compressed)
    <root>/runs/<run_id>/files/        files kept with the run
    <root>/active/<run_id>             a local run the ingest worker should serve
    <root>/traces/<log_id>.tlog        a tracing process's call records (tracing._log)
    <root>/.worker.lock                held by the folder's ingest worker
    <root>/blobs/, <root>/cache/       artifact content and the download cache
    <root>/.deleted/<run_id>.<n>/      a deleted run's folder, moved aside for the moment it is removed
"""

from __future__ import annotations

import os

__all__ = ["ACTIVE", "BLOBS", "CACHE", "DB_FILE", "DELETED", "INGEST_ERROR", "LOCK", "LOG", "RUNS", "db_path", "log_path", "run_dir", "runs_dir", "store_of_log", "trace_log_path", "traces_dir"]

DB_FILE = "tracklet.db"
RUNS = "runs"
LOG = "run.tlog"
ACTIVE = "active"
LOCK = ".worker.lock"
INGEST_ERROR = "ingest-error.txt"  # in a run's folder while the worker cannot store its records
BLOBS = "blobs"
CACHE = "cache"
DELETED = ".deleted"  # beside runs/: catch-up never looks there
TRACES = "traces"
TRACE_LOG_SUFFIX = ".tlog"


def db_path(root: str) -> str:
    return os.path.join(root, DB_FILE)


def runs_dir(root: str) -> str:
    return os.path.join(root, RUNS)


def run_dir(root: str, run_id: str) -> str:
    return os.path.join(root, RUNS, run_id)


def log_path(root: str, run_id: str) -> str:
    """The run's log as written (``run.tlog``; ``wal._logfile`` also finds its compressed form)."""
    return os.path.join(root, RUNS, run_id, LOG)


def store_of_log(path: str) -> str | None:
    """The store folder a run's log sits in (``<root>/runs/<id>/run.tlog``), or None where it sits in none."""
    runs = os.path.dirname(os.path.dirname(os.path.abspath(path)))
    return os.path.dirname(runs) if os.path.basename(runs) == RUNS else None


def traces_dir(root: str) -> str:
    return os.path.join(root, TRACES)


def trace_log_path(root: str, log_id: str) -> str:
    """A tracing process's log of calls."""
    return os.path.join(root, TRACES, log_id + TRACE_LOG_SUFFIX)
