"""A process killed mid-trace: its finished calls are stored whole, the unfinished ones marked crashed."""

import subprocess
import sys

import pytest

from tracklet.store.sql._store import SqlStore

pytestmark = pytest.mark.integration

SCRIPT = """
import os, signal, tracklet
tracklet.init_tracing("crashy", dir={store!r})

@tracklet.op
def step(i):
    return i * 10

@tracklet.op
def pipeline():
    step(1)
    step(2)
    os.kill(os.getpid(), signal.SIGKILL)  # mid-trace: pipeline never ends

pipeline()
"""


def test_a_killed_process_leaves_finished_calls_and_marks_the_rest(tmp_path):
    store = str(tmp_path / "store")
    done = subprocess.run([sys.executable, "-c", SCRIPT.format(store=store)], capture_output=True, text=True)
    assert done.returncode == -9
    calls = SqlStore(store).calls("crashy")
    assert [(c["op_name"], c["status"]) for c in calls] == [("pipeline", "crashed"), ("step", "ok"), ("step", "ok")]
    assert [c["output"] for c in calls[1:]] == [10, 20] and calls[0]["ended_at"] is None
