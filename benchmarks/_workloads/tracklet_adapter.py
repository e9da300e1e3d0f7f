"""tracklet: local mode (the default), store in <dir>/tracklet.db, WAL in <dir>/runs/."""

import os

from ._disk import sqlite_size, tree_size

NAME = "tracklet"
MODULE = "tracklet"
READ_API = 'tracklet.Api(dir=D).run("bench/<id>").scan_history(keys=[...])'
STORE_DESC = "SQLite store <dir>/tracklet.db (+ -wal) fed from per-run write-ahead logs <dir>/runs/<id>/"

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
    store = sqlite_size(os.path.join(d, "tracklet.db"))
    wal = tree_size(os.path.join(d, "runs"))
    return {"store": store, "wal": wal, "total": tree_size(d)}


def teardown():
    pass
