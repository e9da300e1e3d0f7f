#!/usr/bin/env python3
"""Chart reads at the server over HTTP, side by side with the same reads through SqlStore in process.

    .venv/bin/python benchmarks/server_chart_reads.py [--repeats 5] [--dir /tmp/tracklet-chart-bench] [--fresh]

The stores are benchmarks/chart_reads.py's (100 runs x 100,000 steps of one metric; one run of
1,000,000 steps), built once under --dir and reused. A ``tracklet server`` (with an API key) serves
each; the client is ``RemoteStore`` (what ``Api(base_url=...)`` and the dashboard's data calls use):

  chart   ``curves_of_runs`` of the 100 runs at 1,000 points a run: one ``POST /api/v1/curves``
  full    one run's full 1,000,000-point curve: ``GET /api/v1/runs/{id}/curves?keys=loss``

Targets (issue 11): the chart <= 300 ms, the full curve <= 1 s. Each figure is the median of
--repeats after one untimed read; the in-process SqlStore figures are taken in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from chart_reads import _build, _timed  # noqa: E402
from server_load import start_server, stop_server  # noqa: E402


def _median(fn, repeats: int) -> float:
    fn()
    return statistics.median(_timed(fn) for _ in range(repeats))


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

    from tracklet.remote._store import RemoteStore
    from tracklet.store.sql._store import SqlStore

    out: dict = {}
    for name, folder in (("chart", many), ("full", one)):
        local = SqlStore(folder)
        ids = [r["id"] for r in local.runs()]
        proc, url, key = start_server(folder)
        remote = RemoteStore(url, key)
        try:
            if name == "chart":
                got = remote.curves_of_runs(ids, ["loss"], points=1000)
                assert len(got) == 100 and all(0 < len(c["loss"]["x"]) <= 1000 for c in got.values())
                out["chart_http_s"] = _median(lambda: remote.curves_of_runs(ids, ["loss"], points=1000), args.repeats)
                out["chart_sqlstore_s"] = _median(lambda: local.curves_of_runs(ids, ["loss"], points=1000), args.repeats)
                out["chart_http_per_run_requests_s"] = _median(
                    lambda: [remote.curves(i, ["loss"], points=1000) for i in ids], max(1, args.repeats // 2))
            else:
                rid = ids[0]
                assert len(remote.curves(rid, ["loss"])["loss"]["x"]) == 1_000_000
                out["full_http_s"] = _median(lambda: remote.curves(rid, ["loss"]), args.repeats)
                out["full_sqlstore_s"] = _median(lambda: local.curves(rid, ["loss"]), args.repeats)
                from tracklet.remote._wire import CURVES_TYPE

                r = remote._client.request("GET", f"/runs/{rid}/curves", params={"keys": "loss"}, headers={"Accept": CURVES_TYPE})
                out["full_http_bytes"] = len(r.content)  # what RemoteStore receives: float64 arrays
        finally:
            remote.close()
            stop_server(proc)
            local.close()
    out["repeats"] = args.repeats
    out["load"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps(out))
        return 0
    print("| chart read | HTTP (RemoteStore -> tracklet server) | SqlStore in process | target |")
    print("|---|---:|---:|---:|")
    print(f"| 100 runs x 100,000 steps, 1,000 points a run, one request | {out['chart_http_s']:.3f} s | "
          f"{out['chart_sqlstore_s']:.3f} s | <= 0.300 s |")
    print(f"| the same, one request per run (100 requests) | {out['chart_http_per_run_requests_s']:.3f} s | | |")
    print(f"| one run's 1,000,000-point curve, full ({out['full_http_bytes'] / 2**20:.1f} MiB of float64 arrays) | "
          f"{out['full_http_s']:.3f} s | {out['full_sqlstore_s']:.3f} s | <= 1.000 s |")
    print(f"(median of {args.repeats} after one untimed read; load average {out['load']:.1f} on {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
