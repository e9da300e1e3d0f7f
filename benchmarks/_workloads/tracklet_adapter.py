"""tracklet: local mode (the default), store in <dir>/tracklet.db, WAL in <dir>/runs/."""

import os
import time

from ._disk import sqlite_parts, tree_size

NAME = "tracklet"
MODULE = "tracklet"
READ_API = 'tracklet.Api(dir=D).run("bench/<id>").scan_history(keys=[...])'
STORE_DESC = (
    "each run appends to its write-ahead log <dir>/runs/<id>/run.tlog; a separate ingest worker "
    "process (`tracklet.store.sql._worker`: started at the run's first metric or artifact version, a second in, "
    "or at finish(); "
    "own process group, niced; exits after 30 s idle) moves the records into the "
    "SQLite store <dir>/tracklet.db, and every reader first catches the store up with the WALs; "
    "the worker compresses a finished run's log once idle"
)

NOTES = (
    "log() appends an encoded record to the run's WAL; nothing else happens in the training process.",
    "The SQLite store is filled by the ingest worker after the fact; disk is counted once the worker has "
    "moved every record in (the `active/` marker of the run is gone) and compressed the finished run's log "
    "(run.tlog -> run.tlog.gz, 10 s after the run ended, with no run active): what a finished run keeps for ever.",
    "The worker's memory is counted under helper processes; it runs in its own process group and outlives the run.",
)

_tracklet = None


def _mod():
    global _tracklet
    if _tracklet is None:
        import tracklet

        _tracklet = tracklet
    return _tracklet


def env(d):
    return {"TRACKLET_DIR": d, "TRACKLET_MODE": "local"}


def empty_run_code(d):
    return (
        "import tracklet\n"
        f"run = tracklet.init(project='bench', dir={d!r})\n"
        "run.finish()\n"
    )


def init(project, d, config):
    return _mod().init(project=project, dir=d, config=config)


def log_fn(run):
    return run.log


def finish(run):
    run.finish()


def run_id(run):
    return run.id


def _api_run(d, project, rid):
    return _mod().Api(dir=d).run(f"{project}/{rid}")


def count_points(d, project, rid, keys):
    n = 0
    for row in _api_run(d, project, rid).scan_history(keys=list(keys)):
        for k in keys:
            if row.get(k) is not None:
                n += 1
    return n


def read_metric(d, project, rid, key):
    n = 0
    for row in _api_run(d, project, rid).scan_history(keys=[key]):
        if row.get(key) is not None:
            n += 1
    return n


def disk(d):
    parts = sqlite_parts(os.path.join(d, "tracklet.db"))
    return dict(parts, wal=tree_size(os.path.join(d, "runs")), total=tree_size(d))


def settle(d, timeout=120.0):
    """Wait until tracklet's ingest worker has moved every finished run into the store, and compressed its log.

    The worker (a separate process, in its own process group) removes <dir>/active/<run id>
    once the run's final record is in the store; once no run is active and a run ended 10 s ago,
    it replaces the run's run.tlog with run.tlog.gz, the form a finished run's log keeps.
    Returns the seconds waited."""
    active = os.path.join(d, "active")
    runs = os.path.join(d, "runs")
    t0 = time.monotonic()

    def busy():
        try:
            if os.listdir(active):
                return True
        except FileNotFoundError:
            pass
        try:
            return any(os.path.exists(os.path.join(runs, r, "run.tlog")) for r in os.listdir(runs))
        except FileNotFoundError:
            return False

    while time.monotonic() - t0 < timeout and busy():
        time.sleep(0.05)
    return time.monotonic() - t0


def teardown():
    pass
