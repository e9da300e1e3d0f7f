"""Trackio with its local store: TRACKIO_DIR=<dir>, one SQLite file per project
(<dir>/bench.db), a row per logged step with the metrics as a JSON blob, written
by a background sender thread.

trackio.Api has no history reader; the CLI (`trackio get metric`) and the
dashboard read through trackio.sqlite_storage.SQLiteStorage, which is used here.
"""

import os

from ._disk import sqlite_parts, tree_size

NAME = "trackio"
MODULE = "trackio"
READ_API = "trackio.sqlite_storage.SQLiteStorage.get_logs / get_metric_values (what `trackio get metric` uses)"
STORE_DESC = "SQLite <dir>/<project>.db: one row per step in `metrics`, values as a JSON text blob"

NOTES = (
    "init() writes nothing: the run, its config and the store file appear with the first log(); an empty "
    "run leaves no trace on disk, so its init and empty-run numbers do less work than the others'.",
    "log() queues entries in memory; a background thread writes them in batches; finish() waits for that "
    "thread for at most 30 s, then warns that data may be left buffered.",
    "Each step is one row holding all its metrics as JSON, so reading one metric parses every row.",
    "With psutil installed (tracklet depends on it) Trackio also starts its CPU/system monitor by default.",
)

_trackio = None


def _mod():
    global _trackio
    if _trackio is None:
        import trackio

        _trackio = trackio
    return _trackio


def env(d):
    return {
        "TRACKIO_DIR": d,
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
    }


def empty_run_code(d):
    # TRACKIO_DIR (set in the environment) decides where the store lives.
    return "import trackio\ntrackio.init(project='bench')\ntrackio.finish()\n"


def init(project, d, config):
    return _mod().init(project=project, config=config)


def log_fn(run):
    return run.log


def finish(run):
    _mod().finish()


def run_id(run):
    return run.id


def _storage():
    from trackio.sqlite_storage import SQLiteStorage

    return SQLiteStorage


def count_points(d, project, rid, keys):
    n = 0
    for row in _storage().get_logs(project, run_id=rid):
        for k in keys:
            if k in row:
                n += 1
    return n


def read_metric(d, project, rid, key):
    return len(_storage().get_metric_values(project, None, key, run_id=rid))


def disk(d):
    return dict(sqlite_parts(os.path.join(d, "bench.db")), total=tree_size(d))


def settle(d, timeout=120.0):
    return 0.0  # no background work outlives the process


def teardown():
    pass
