"""How soon the store's worker stores a record: woken through its pipe (what finish() and artifact logs do) or left to its 50 ms poll.

    .venv/bin/python benchmarks/worker_wake.py [--records 50]

Prints the median, 95th percentile and worst latency from the write to the store holding it, both ways,
in one process on one store. This machine is noisy: compare the two columns, not runs of different days.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time


def _latencies(run, root: str, records: int, wake: bool) -> list[float]:
    from tracklet.store.sql._spawn import wake_worker
    from tracklet.store.sql._lite import stored_offset

    out = []
    for i in range(records):
        run.log({"x": float(i)})
        end = run._writer.offset
        t = time.perf_counter()
        if wake:
            wake_worker(root)
        while stored_offset(root, run.id) < end:
            time.sleep(0.0005)
        out.append(time.perf_counter() - t)
        time.sleep(0.01)  # let the worker settle back into its wait
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=50)
    args = parser.parse_args()
    os.environ["TRACKLET_SILENT"] = "true"
    import tracklet
    from tracklet.store.sql._lite import stored_offset

    with tempfile.TemporaryDirectory() as root:
        run = tracklet.init(project="wake", dir=root)
        run.log({"x": 0.0})
        while stored_offset(root, run.id) == 0:  # the worker is up
            time.sleep(0.01)
        print(f"{'':<10} {'median':>9} {'p95':>9} {'worst':>9}   ({args.records} records each)")
        for label, wake in (("woken", True), ("polled", False)):
            lat = sorted(_latencies(run, root, args.records, wake))
            p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))]
            print(f"{label:<10} {statistics.median(lat) * 1000:>7.1f}ms {p95 * 1000:>7.1f}ms {lat[-1] * 1000:>7.1f}ms")
        run.finish()


if __name__ == "__main__":
    main()
