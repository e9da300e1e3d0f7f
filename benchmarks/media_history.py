#!/usr/bin/env python3
"""What media values in the history cost its readers: ``scan_history`` of a run that logged an image every step
against the same run without them.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/media_history.py            # --steps 10000 --repeats 5

Two runs in one local store, ``--steps`` steps each of three scalars (``loss``, ``acc``, ``lr``); the second also
logs a new 16x16 RGB ``tracklet.Image`` every step (the image's size does not change its history row: the row holds
the description, never the pixels). After both are stored and the store has caught up, each read is timed on
each run, best of ``--repeats``, the two runs alternating: ``scan_history(keys=[the scalars])``, ``scan_history()``
(every key: the second run's rows then carry the image descriptions) and ``history()`` (500 rows, a DataFrame).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

START = "<!-- media_history:start -->"
END = "<!-- media_history:end -->"
SCALARS = ["loss", "acc", "lr"]


def log_run(steps: int, images: bool) -> str:
    import numpy as np

    import tracklet

    rng = np.random.default_rng(0)
    run = tracklet.init(project="media-history", name="images" if images else "scalars")
    for i in range(steps):
        values = {"loss": 1.0 / (i + 1), "acc": i / steps, "lr": 1e-3}
        if images:
            values["sample"] = tracklet.Image(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8))
        run.log(values)
    run.finish()
    return run.id


def best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-write", action="store_true", help="print the section without writing RESULTS.md")
    args = ap.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _results import report

    folder = tempfile.mkdtemp(prefix="tracklet-media-history-")
    os.environ["TRACKLET_DIR"] = folder
    os.environ["TRACKLET_SILENT"] = "true"
    try:
        import tracklet

        plain, with_images = log_run(args.steps, False), log_run(args.steps, True)
        api = tracklet.Api()
        runs = {"without images": api.run(plain), "with an image every step": api.run(with_images)}
        reads = {
            "`scan_history(keys=[3 scalars])`": lambda r: sum(1 for _ in r.scan_history(keys=SCALARS)),
            "`scan_history()` (every key)": lambda r: sum(1 for _ in r.scan_history()),
            "`history()` (500 rows, DataFrame)": lambda r: r.history(),
        }
        rows = []
        per_value = 0.0
        for name, read in reads.items():
            for r in runs.values():
                read(r)  # warm: the store's pages in memory for both
            times: dict[str, list[float]] = {label: [] for label in runs}
            for _ in range(args.repeats):
                for label, r in runs.items():
                    times[label].append(best(lambda: read(r), 1))
            a, b = (min(t) for t in times.values())
            rows.append(f"| {name} | {a * 1000:.1f} ms | {b * 1000:.1f} ms | {b / a:.2f}x |")
            per_value = per_value if "(every key)" not in name else (b - a) / args.steps
        (row,) = runs["with an image every step"].scan_history(keys=["sample"], min_step=0, max_step=0)
        cells = len(str(row["sample"]))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    md = (
        f"## Media in the history: a run with an image every step against one without ({args.steps:,} steps)\n\n"
        f"`OMP_NUM_THREADS=1 .venv/bin/python benchmarks/media_history.py --steps {args.steps} --repeats {args.repeats}`"
        f" (best of {args.repeats}, the two runs alternating; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}). "
        f"Three scalars a step in both; the second also logs a 16x16 `Image` a step, whose row carries its description "
        f"(about {cells} characters as text).\n\n"
        "| read | without images | with an image every step | ratio |\n|---|---|---|---|\n" + "\n".join(rows) + "\n\n"
        "The scalars' read never reads the media entries (an index seek per key asks whether it logged media); reading every "
        f"key adds about {per_value * 1e6:.1f} µs per image row (its entry read, its meta parsed, described by "
        "`media_summary`).\n"
    )
    report(md, START, END, write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
