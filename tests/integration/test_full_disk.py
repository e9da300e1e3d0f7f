"""A full disk: training goes on, what could not be written is said at finish() and by `tracklet show` (issue 10, item 7).

RLIMIT_FSIZE makes write(2) fail past a size, as a full disk does: a real failure path, in a child.
"""

from __future__ import annotations

import os
import subprocess
import sys

import tracklet
from helpers import run_python
from tracklet.wal._wal import RecordType, WalReader


def test_disk_full_until_the_end_is_reported_by_finish_and_by_show(tracklet_env):
    out = run_python("""
        import resource, signal, warnings
        warnings.simplefilter("always")
        import tracklet
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        run = tracklet.init(project="full")
        resource.setrlimit(resource.RLIMIT_FSIZE, (16384, 16384))  # the disk fills up during training
        for i in range(2000):
            run.log({"loss": 1.0 / (i + 1)})
        run.finish()
        print("RUN", run.id)
    """, env={"TRACKLET_WORKER": "off"})
    assert out.returncode == 0, out.stderr  # training was never stopped
    run_id = out.stdout.split("RUN ")[1].strip()
    assert "could not be written" in out.stderr and "`tracklet show` will say so" in out.stderr
    got = tracklet.Api().run(run_id)
    assert got.state == "finished"  # it did end; its exit record was among the lost
    (problem,) = got.problems()
    assert problem["kind"] == "lost" and problem["records"] > 1000
    stored = len(list(got.scan_history(keys=["loss"])))
    assert 0 < stored < 2000
    show = subprocess.run([sys.executable, "-m", "tracklet", "show", run_id], capture_output=True, text=True)
    assert f"data lost: {problem['records']} record(s)" in show.stdout, show.stdout


def test_records_dropped_while_the_disk_was_full_are_said_in_the_log_when_it_has_room_again(tracklet_env):
    out = run_python("""
        import resource, signal
        import tracklet
        from tracklet.wal._wal import WalWriter
        WalWriter.MAX_PENDING = 4096  # a small memory queue, so that drops happen in a short test
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        run = tracklet.init(project="full")
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (16384, hard))
        for i in range(2000):
            run.log({"loss": float(i)})
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # space came back
        run.log({"loss": -1.0})
        run.finish()
        print("RUN", run.id, run._writer.dropped)
    """, env={"TRACKLET_WORKER": "off"})
    assert out.returncode == 0, out.stderr
    run_id, dropped = out.stdout.split("RUN ")[1].split()
    wal = os.path.join(str(tracklet_env), "runs", run_id, "run.tlog")
    (loss,) = [r.json() for r in WalReader(wal).records() if r.type == RecordType.LOSS]
    assert loss["records"] == int(dropped) > 0
    got = tracklet.Api().run(run_id)
    assert got.state == "finished"
    values = [r["loss"] for r in got.scan_history(keys=["loss"])]
    assert values[-1] == -1.0
    assert 2001 - int(dropped) <= len(values) < 2001  # a dropped record may be another kind (the environment, say)
    assert values == sorted(values[:-1]) + [-1.0]  # the oldest queued were dropped; the rest kept their order
    (problem,) = got.problems()
    assert problem["kind"] == "lost" and problem["records"] == int(dropped)
