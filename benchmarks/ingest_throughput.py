"""Points per second of the write path's ingest: run logs (WAL) -> a fresh SQL store.

    .venv/bin/python -m compileall -q core_client   # bytecode first: the shell may not write it
    .venv/bin/python benchmarks/ingest_throughput.py [--shapes 1x600000,20x30000] [--repeats 5]
        [--json out.json] [--profile]

For each shape RUNSxPOINTS (points per run, 3 metrics a step) the logs are written once, by
``tracklet.init(mode="offline")`` and ``run.log()``, then copied into a fresh store folder for
every repeat and ingested run after run in this process (what the ingest worker, ``tracklet
sync`` and a server receiving batches all do). The clock covers ingest only: opening the store
(schema creation) is outside it. Prints a Markdown table (median, min and max of the repeats);
``--json`` also writes every sample. ``--profile`` runs one more repeat of each shape under
cProfile and prints its top functions. This machine is noisy: compare runs made back to back.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

METRICS = ("loss", "acc", "lr")


def _write_logs(folder: str, runs: int, points: int) -> list[str]:
    """Write ``runs`` offline runs of ``points`` points each under ``folder``; returns their ids."""
    import tracklet

    steps = points // len(METRICS)
    ids = []
    for r in range(runs):
        run = tracklet.init(project="ingest-bench", dir=folder, mode="offline", name=f"r{r}")
        log = run.log
        for i in range(steps):
            x = i * 1e-3
            log({"loss": 1.0 / (1.0 + x), "acc": x / (1.0 + x), "lr": 1e-3 - x * 1e-9}, step=i)
        run.finish()
        ids.append(run.id)
    return ids


def _ingest_once(src: str, ids: list[str], profile: bool = False) -> float:
    from tracklet.store.sql._engine import close_all, open_local
    from tracklet.store.sql._ingest import ingest_run

    store = tempfile.mkdtemp(prefix="tracklet-ingest-")
    try:
        for rid in ids:
            os.makedirs(os.path.join(store, "runs", rid))
            shutil.copyfile(os.path.join(src, "runs", rid, "run.tlog"), os.path.join(store, "runs", rid, "run.tlog"))
        engine = open_local(store)
        prof = None
        if profile:
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        t0 = time.perf_counter()
        for rid in ids:
            ingest_run(engine, os.path.join(store, "runs", rid, "run.tlog"), rid)
        elapsed = time.perf_counter() - t0
        if prof is not None:
            import pstats

            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(18)
        close_all()
        return elapsed
    finally:
        shutil.rmtree(store, ignore_errors=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shapes", default="1x600000,20x30000", help="comma-separated RUNSxPOINTS (points per run)")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--json", help="also write the samples to this JSON file")
    p.add_argument("--profile", action="store_true", help="one more repeat per shape under cProfile")
    a = p.parse_args()
    os.environ["TRACKLET_SILENT"] = "true"
    os.environ["TRACKLET_WORKER"] = "off"
    results = []
    with tempfile.TemporaryDirectory(prefix="tracklet-ingest-src-") as src:
        for shape in a.shapes.split(","):
            runs, points = (int(x) for x in shape.lower().split("x"))
            folder = os.path.join(src, shape)
            ids = _write_logs(folder, runs, points)
            total = runs * (points // len(METRICS)) * len(METRICS)
            secs = [_ingest_once(folder, ids) for _ in range(a.repeats)]
            rates = sorted(total / s for s in secs)
            results.append({
                "shape": shape, "runs": runs, "points_per_run": points, "points": total,
                "wal_bytes": sum(os.path.getsize(os.path.join(folder, "runs", i, "run.tlog")) for i in ids),
                "seconds": secs, "median_s": statistics.median(secs),
                "points_per_s_median": statistics.median(rates), "points_per_s_min": rates[0], "points_per_s_max": rates[-1],
            })
            if a.profile:
                print(f"\n## cProfile, {shape}\n", flush=True)
                _ingest_once(folder, ids, profile=True)
    print(f"\n| runs x points | points | median s | points/s median (min-max), {a.repeats} repeats |")
    print("|---|---:|---:|---|")
    for r in results:
        print(f"| {r['shape']} | {r['points']:,} | {r['median_s']:.3f} | "
              f"{r['points_per_s_median']:,.0f} ({r['points_per_s_min']:,.0f}-{r['points_per_s_max']:,.0f}) |")
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump({"python": sys.version.split()[0], "cpus": os.cpu_count(), "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
