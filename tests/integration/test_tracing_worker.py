"""While a run is live, its store's ingest worker stores the calls of ops too, with no reader asking."""

import os
import sqlite3
import subprocess
import sys

import pytest

from helpers import wait_until

pytestmark = pytest.mark.integration

SCRIPT = """
import sys, time, tracklet
run = tracklet.init(project="live")

@tracklet.op
def step(i):
    return i

for i in range(50):
    step(i)
print("logged", flush=True)
sys.stdin.readline()  # the test says when to finish
run.finish()
"""


def _stored(db: str) -> int:
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT count(*) FROM calls WHERE status = 'ok'").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_the_worker_stores_calls_while_the_run_lives(tracklet_env):
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "logged"
        wait_until(lambda: _stored(os.path.join(str(tracklet_env), "tracklet.db")) == 50, timeout=30)
    finally:
        proc.communicate("\n", timeout=60)
    assert proc.returncode == 0
