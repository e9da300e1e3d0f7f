"""The ingest worker makes the chart blocks of what it stored, between logs, so a chart reads them at once."""

import math

import pytest

import tracklet
from helpers import wait_until
from tracklet.store.sql._lite import connect_readonly
from tracklet.store.sql._store import SqlStore

pytestmark = pytest.mark.integration


def test_the_worker_makes_the_blocks_between_logs():
    run = tracklet.init(project="charts")
    for step in range(5_000):
        run.log({"loss": math.sin(step), "other": float(step)})
    run.finish()
    root = tracklet.Api().dir

    def made():
        conn = connect_readonly(root)
        if conn is None:
            return False
        try:
            return conn.execute("SELECT COUNT(*) FROM history_dirty").fetchone()[0] == 0 and \
                conn.execute("SELECT COUNT(*) FROM history_blocks").fetchone()[0] > 0
        except Exception:  # the worker is still making the schema
            return False
        finally:
            conn.close()

    wait_until(made, timeout=30)
    assert max(SqlStore(root).curves(run.id, ["other"], points=10)["other"]["max"]) == 4_999.0
