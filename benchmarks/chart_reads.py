"""Chart reads from the store: 100 runs x 1 metric x 100,000 steps at 1,000 points a run, and one 1,000,000-point curve.

The issue's targets: the downsampled chart of 100 runs <= 300 ms, the full 1M-point curve <= 1 s. Each is
timed through the store interface (``SqlStore``: what the server answers a chart with), after one
untimed chart (which makes the chart blocks the worker had not made yet: ``sync`` runs no worker);
median of the repeats. Stores are built once under --dir and reused; ``--fresh`` builds them again.

    .venv/bin/python benchmarks/chart_reads.py [--repeats 5] [--dir /tmp/tracklet-chart-bench] [--fresh]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

BUILD = r"""
import math, os, random, sys
os.environ.update(TRACKLET_DIR=sys.argv[1], TRACKLET_SILENT="1", TRACKLET_SYSTEM_INTERVAL="0", TRACKLET_CONSOLE="off")
import tracklet
from tracklet.cli import main
runs, steps = int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(0)
for r in range(runs):
    run = tracklet.init(project="chart", id=f"r{r:03d}", mode="offline")
    for s in range(steps):
        run.log({"loss": math.exp(-s / steps) + rnd.random() * 0.01})
    run.finish()
main(["sync", sys.argv[1]])
"""


def _build(path: str, runs: int, steps: int) -> None:
    if os.path.isdir(path):
        return
    subprocess.run([sys.executable, "-c", BUILD, path, str(runs), str(steps)], check=True, stdout=subprocess.DEVNULL)


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--dir", default="/tmp/tracklet-chart-bench")
    p.add_argument("--fresh", action="store_true")
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    if args.fresh:
        shutil.rmtree(args.dir, ignore_errors=True)
    many, one = os.path.join(args.dir, "100x100k"), os.path.join(args.dir, "1x1m")
    _build(many, 100, 100_000)
    _build(one, 1, 1_000_000)

    from tracklet.store.sql._engine import close_all
    from tracklet.store.sql._store import SqlStore

    store = SqlStore(many)
    ids = [r["id"] for r in store.runs()]
    check = store.curves_of_runs(ids, ["loss"], points=1000)
    assert all(0 < len(c["loss"]["x"]) <= 1000 for c in check.values())
    warm_many = [_timed(lambda: store.curves_of_runs(ids, ["loss"], points=1000)) for _ in range(args.repeats)]
    store.close()
    close_all()

    single = SqlStore(one)
    rid = single.runs()[0]["id"]
    full = [_timed(lambda: single.curves(rid, ["loss"])) for _ in range(args.repeats)]
    assert len(single.curves(rid, ["loss"])["loss"]["x"]) == 1_000_000
    down = [_timed(lambda: single.curves(rid, ["loss"], points=1000)) for _ in range(args.repeats)]
    out = {
        "chart_100_runs_1000_points_s": statistics.median(warm_many),
        "curve_1m_full_s": statistics.median(full),
        "curve_1m_1000_points_s": statistics.median(down),
        "repeats": args.repeats,
        "load": os.getloadavg()[0],
    }
    if args.json:
        print(json.dumps(out))
    else:
        print("| chart read (SqlStore, SQLite) | median s | target |")
        print("|---|---:|---:|")
        print(f"| 100 runs x 100,000 steps, 1,000 points a run | {out['chart_100_runs_1000_points_s']:.3f} | <= 0.300 |")
        print(f"| one run's 1,000,000-point curve, full | {out['curve_1m_full_s']:.3f} | <= 1.000 |")
        print(f"| one run's 1,000,000-point curve, 1,000 points | {out['curve_1m_1000_points_s']:.3f} | |")
        print(f"(median of {args.repeats}; load average {out['load']:.1f} on {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
