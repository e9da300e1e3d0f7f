"""Ingest and chart reads on PostgreSQL: 100 runs x 100,000 steps into a private cluster, then charts at 1,000 points a run.

Uses the logs benchmarks/chart_reads.py builds (run it first) and a throwaway cluster (tests/_postgres.py,
Debian's PostgreSQL binaries). The first chart makes the chart blocks (a database store has no worker);
the timed ones come after it.

    .venv/bin/python benchmarks/chart_reads.py --repeats 1 && .venv/bin/python benchmarks/pg_chart_reads.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", default="/tmp/tracklet-chart-bench/100x100k", help="a store folder chart_reads.py built")
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    from _postgres import PgCluster

    from tracklet.store.sql._engine import make_engine
    from tracklet.store.sql._ingest import ingest_run
    from tracklet.store.sql._migrate import migrate
    from tracklet.store.sql._store import SqlStore

    runs = sorted(os.listdir(os.path.join(args.dir, "runs")))
    with PgCluster() as pg:
        url = pg.create_database()
        migrate(url)
        engine = make_engine(url)
        t = time.perf_counter()
        for rid in runs:
            ingest_run(engine, os.path.join(args.dir, "runs", rid, "run.tlog"), rid)
        ingest_s = time.perf_counter() - t
        store = SqlStore(url=url)
        ids = [r["id"] for r in store.runs()]
        points = sum(1 for _ in store.history(ids[0], keys=["loss"])) * len(ids)
        t = time.perf_counter()
        store.curves_of_runs(ids, ["loss"], points=1000)
        first = time.perf_counter() - t
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            store.curves_of_runs(ids, ["loss"], points=1000)
            times.append(time.perf_counter() - t)
        store.close()
        engine.dispose()
    print(f"| PostgreSQL | figure |\n|---|---:|\n| ingest of {points:,} points ({len(ids)} runs) | {points / ingest_s:,.0f} points/s |")
    print(f"| first chart, making the blocks | {first:.2f} s |\n| chart of {len(ids)} runs at 1,000 points a run, median of {args.repeats} | {statistics.median(times):.3f} s |")
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
