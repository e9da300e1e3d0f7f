#!/usr/bin/env python3
"""CPU cost of one ``run.log()`` on its fast and slow paths: this checkout against a git revision.

    .venv/bin/python benchmarks/log_hot_path.py                 # against main
    .venv/bin/python benchmarks/log_hot_path.py --base d5dbafa --repeats 20

Both versions run in one fresh process (the base's ``core_client`` is extracted with ``git archive``
and imported as ``tracklet_base``), each with its own store and run, the worker off. Repeats
alternate between them, time is ``time.process_time`` (so other work on a busy machine does not
count), and the best repeat of each is printed in µs per call.
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import time
import timeit
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

CASES = {
    "10 floats, known keys": lambda log: lambda: log(FLOATS),
    "10 ints, known keys": lambda log: lambda: log(INTS),
    "10 floats, step=": lambda log: lambda: log(FLOATS, step=7),
    "OrderedDict of 10 floats": lambda log: lambda: log(ORDERED),
    "nested dict of 10 floats": lambda log: lambda: log(NESTED),
    "9 floats and a string": lambda log: lambda: log(MIXED),
}
FLOATS = {f"train/m{i}": 0.5 + i for i in range(10)}
INTS = {f"train/i{i}": i for i in range(10)}
ORDERED = collections.OrderedDict((f"od{i}", 0.5 + i) for i in range(10))
NESTED = {"val": {f"m{i}": 0.5 + i for i in range(10)}}
MIXED = {**{f"x{i}": 0.5 for i in range(9)}, "text": "hello"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="main", help="git revision to compare with (default: main)")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--number", type=int, default=10000, help="calls per repeat")
    args = parser.parse_args()

    base_dir = tempfile.mkdtemp(prefix="tracklet-base-")
    archive = subprocess.run(["git", "-C", REPO, "archive", args.base, "core_client"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", base_dir], input=archive.stdout, check=True)
    os.rename(os.path.join(base_dir, "core_client"), os.path.join(base_dir, "tracklet_base"))
    sys.path.insert(0, base_dir)
    os.environ.update(TRACKLET_SILENT="1", TRACKLET_WORKER="off", TRACKLET_SYSTEM_INTERVAL="0", TRACKLET_CONSOLE="off")

    import tracklet
    import tracklet_base

    warnings.simplefilter("ignore")  # the "lower step" warning of the step= case
    runs = {}
    for label, package in (("base", tracklet_base), ("this", tracklet)):
        os.environ["TRACKLET_DIR"] = tempfile.mkdtemp(prefix=f"tracklet-{label}-")
        runs[label] = package.init(project="bench")
        for data in (FLOATS, INTS, ORDERED, NESTED, MIXED):
            runs[label].log(data)  # the keys are known from here on
    best: dict[tuple[str, str], float] = {}
    for _ in range(args.repeats):
        for case, make in CASES.items():
            for label, run in runs.items():
                t = timeit.timeit(make(run.log), number=args.number, timer=time.process_time)
                best[case, label] = min(best.get((case, label), float("inf")), t / args.number * 1e6)
    for run in runs.values():
        run.finish()
    print(f"µs per log() call, best of {args.repeats} x {args.number}; base = {args.base}")
    for case in CASES:
        print(f"  {case:26s} base {best[case, 'base']:6.2f}   this {best[case, 'this']:6.2f}")


if __name__ == "__main__":
    main()
