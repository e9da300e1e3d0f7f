"""A process killed mid-trace: its finished calls are stored whole, the unfinished ones marked crashed. A full disk:
the ops run as untraced and the user is told what was lost."""

import subprocess
import sys

import pytest

from helpers import run_python
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


def test_a_full_disk_changes_nothing_for_the_ops_and_says_what_was_lost(tmp_path):
    store = str(tmp_path / "store")
    out = run_python(f"""
        import resource, signal
        import tracklet
        from tracklet.wal._wal import WalWriter
        WalWriter.MAX_PENDING = 4096  # a small memory queue, so that records are dropped in a short test
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        tracklet.init_tracing("full", dir={store!r})

        @tracklet.op
        def double(x):
            if x < 0:
                raise KeyError(x)
            return 2 * x

        double(0)
        resource.setrlimit(resource.RLIMIT_FSIZE, (16384, 16384))  # the disk fills up
        assert [double(i) for i in range(2000)] == [2 * i for i in range(2000)]
        try:
            double(-1)
        except KeyError as e:
            print("RAISED", e)
        tracklet.tracing.stop_tracing()
    """)
    assert out.returncode == 0, out.stderr
    assert "RAISED -1" in out.stdout
    assert "cannot write calls to" in out.stderr and "ops run as usual" in out.stderr
    assert "call records" in out.stderr and "could not be written" in out.stderr
    calls = SqlStore(store).calls("full")
    assert 0 < len(calls) < 2002 and calls[0]["output"] == 0 and calls[0]["status"] == "ok"
