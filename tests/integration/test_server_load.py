"""A bounded load on a real ``tracklet server``: 50 concurrent runs, 10 metrics a step, as fast as they can, 60 s.

The workload is benchmarks/server_load.py's (tracklet's own sender in 2 client processes of 25 run
threads each, each run writing its log with the real WalWriter and posting it closed-loop; its
docstring says why threads and not 50 training processes on 2 cores). Only correctness is asserted:
every point arrives exactly once and every run ends finished. The figures (sustained points/s, p99 of
a POST's latency, the server's peak RSS) are printed and written to ``server_load.json`` in the test's
tmp dir; they belong to benchmarks/RESULTS.md, never to an assertion. ``TRACKLET_LOAD_SECONDS`` shortens it.
"""

from __future__ import annotations

import json
import os
import sys

import pytest

from server_client import earlier_garbage_collected  # noqa: F401 (a fixture)
from server_process import ServerProcess

pytestmark = pytest.mark.integration

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "benchmarks"))
import server_load  # noqa: E402


def test_fifty_runs_for_a_minute_every_point_once(tmp_path):
    served, clients = str(tmp_path / "served"), str(tmp_path / "clients")
    os.makedirs(served)
    seconds = float(os.environ.get("TRACKLET_LOAD_SECONDS", "60"))
    with ServerProcess(served, key=True) as srv:
        figures = server_load.run_load(srv.url, srv.key, srv.pid, clients, runs=50, seconds=seconds, procs=2, metrics=10)
    assert figures["runs"] == 50 and len(figures["per_run"]) == 50
    assert all(r["steps"] > 0 for r in figures["per_run"].values())
    server_load.verify(clients, served, figures)  # each log byte for byte, stored whole, each step of m0 and m9 once
    shown = {k: v for k, v in figures.items() if k != "per_run"}
    (tmp_path / "server_load.json").write_text(json.dumps(shown, indent=1))
    print(f"\nserver load ({tmp_path / 'server_load.json'}): {shown['points_per_s']:,.0f} points/s sustained, "
          f"POST p99 {shown['post_p99_ms']:,.0f} ms, server RSS peak {shown['server_rss_peak_mib']:.0f} MiB, "
          f"load average {shown['load_average']:.1f}")
