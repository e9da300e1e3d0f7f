"""The store's own summary of runs that never reached finish(): every define_metric kind (issue 10, items 17 and 18)."""

from __future__ import annotations

import math
import signal

import pytest

import tracklet
from helpers import run_python, wait_until
from tracklet.store.sql._spawn import worker_running

KILLED_RUN = """
    import os, signal, tracklet
    run = tracklet.init(project="agg", id={run_id!r})
    run.define_metric("m/min", summary="min")
    run.define_metric("m/max", summary="max")
    run.define_metric("m/mean", summary="mean")
    run.define_metric("m/first", summary="first")
    run.define_metric("m/last", summary="last")
    run.define_metric("m/best_low", summary="best", goal="minimize")
    run.define_metric("m/best_high", summary="best", goal="maximize")
    run.define_metric("m/all", summary="min,max,mean,first,last")
    run.define_metric("m/none", summary="none")
    run.define_metric("hidden/*", hidden=True)
    for v in map(float, {values!r}):
        run.log({{k: v for k in ("m/min", "m/max", "m/mean", "m/first", "m/last", "m/best_low", "m/best_high",
                                "m/all", "m/none", "hidden/x", "plain")}})
    run.summary["explicit"] = 42
    {wait}
    os.kill(os.getpid(), signal.SIGKILL)  # no finish(): the store alone knows the summary
"""


@pytest.mark.parametrize("values", [[0.2, 0.9, 0.5], [0.9, 0.2, 0.5], [0.5, float("nan"), 0.2, 0.9]])
def test_a_killed_runs_summary_is_aggregated_by_the_store_for_every_kind(tracklet_env, values):
    out = run_python(KILLED_RUN.format(run_id="killed", values=[str(v) for v in values], wait=""), env={"TRACKLET_WORKER": "off"})
    assert out.returncode == -signal.SIGKILL
    run = tracklet.Api().run("killed")
    assert run.state == "crashed"
    numbers = [v for v in values if not math.isnan(v)]
    lo, hi, mean = min(numbers), max(numbers), sum(numbers) / len(numbers)
    first, last = values[0], values[-1]
    expected = {
        "m/min": {"min": lo},
        "m/max": {"max": hi},
        "m/mean": {"mean": pytest.approx(mean)},
        "m/first": {"first": first},
        "m/last": {"last": last},
        "m/best_low": {"best": lo},
        "m/best_high": {"best": hi},
        "m/all": {"min": lo, "max": hi, "mean": pytest.approx(mean), "first": first, "last": last},
        "plain": last,
        "explicit": 42,
    }
    assert run.summary == expected  # m/none and hidden/x are left out


def test_a_killed_run_whose_store_was_up_to_date_reads_back_as_crashed(tracklet_env, monkeypatch):
    # The fast read path (plain sqlite3, no catch-up) must still see that the process is gone.
    monkeypatch.setenv("TRACKLET_WORKER_IDLE", "60")
    proc = run_python(KILLED_RUN.format(
        run_id="fast", values=["1.0", "2.0"],
        wait=(
            "from tracklet.store.sql._lite import up_to_date\n"
            "    import time\n"
            "    deadline = time.monotonic() + 30\n"
            "    while not up_to_date(run.dir.rsplit('/runs/', 1)[0]) and time.monotonic() < deadline:\n"
            "        time.sleep(0.05)\n"
            "    from tracklet.store.sql._spawn import _spawned\n"
            "    for pid in _spawned: os.kill(pid, signal.SIGKILL)  # the worker dies with the job\n"
        ),
    ))
    assert proc.returncode == -signal.SIGKILL
    wait_until(lambda: not worker_running(str(tracklet_env)), timeout=10)
    from tracklet.store.sql._lite import connect_readonly, up_to_date

    assert up_to_date(str(tracklet_env))
    assert connect_readonly(str(tracklet_env)).execute("SELECT state FROM runs WHERE run_id = 'fast'").fetchone() == ("running",)
    assert tracklet.Api().run("fast").state == "crashed"
