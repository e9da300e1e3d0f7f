"""Benchmark the artifact storage engine on a 200-file, 200 MiB folder of random data.

    python benchmarks/artifact_storage.py [--files 200] [--mib 200] [--repeat 5] [--json]

Measures, best of ``--repeat`` (page cache warm for every contender):
  log           hash + store every file into a fresh local blob store (what log_artifact costs)
  sha256sum     coreutils over the same files (the issue's throughput bar: ours >= 80% of it)
  hash          tracklet's parallel hashing alone
  cp -r         a plain copy, no hashing (MLflow's cost)
  relog         the unchanged folder again, from a new store object (a new run): <= 10% of log
  relog-nocache the same without the digest cache (every file hashed again, nothing copied)
  download      the logged artifact into an empty folder from the local store (the cache): <= 0.5 s
and the disk the second log added (<= 1% of the first).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


from tracklet.artifacts.storage import Manifest, hash_files, open_blob_store


def _disk(folder: str) -> int:
    """Bytes allocated under ``folder`` (blocks, not apparent sizes)."""
    total = 0
    for parent, _, names in os.walk(folder):
        for name in names:
            try:
                total += os.lstat(os.path.join(parent, name)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


def _best(fn, repeat: int, setup=None) -> float:
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--mib", type=int, default=200, help="total size in MiB")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--workdir", default=None, help="where to put the data (default: a temp folder)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="tracklet-artifact-bench-", dir=args.workdir)
    try:
        src = os.path.join(work, "data")
        os.makedirs(src)
        per_file = args.mib * (1 << 20) // args.files
        paths = []
        for i in range(args.files):
            path = os.path.join(src, f"shard-{i:04d}.bin")
            with open(path, "wb") as f:
                f.write(os.urandom(per_file))
            paths.append(path)
        time.sleep(0.2)  # a dataset is written before it is logged, not in the same instant
        pairs = [(p, os.path.relpath(p, src)) for p in paths]
        root = os.path.join(work, "tl")
        out = os.path.join(work, "out")
        copy = os.path.join(work, "copy")
        r: dict[str, float] = {}

        def fresh_store():
            shutil.rmtree(root, ignore_errors=True)

        def log():
            store = open_blob_store(None, root=root)
            return Manifest(store.put_many(pairs)).digest

        r["log"] = _best(log, args.repeat, fresh_store)
        r["sha256sum"] = _best(lambda: subprocess.run(["sha256sum", *paths], check=True, stdout=subprocess.DEVNULL), args.repeat)
        r["hash"] = _best(lambda: hash_files(paths), args.repeat)
        r["cp -r"] = _best(lambda: subprocess.run(["cp", "-r", src, copy], check=True),
                           args.repeat, lambda: shutil.rmtree(copy, ignore_errors=True))

        fresh_store()
        log()
        disk_first = _disk(root)
        r["relog"] = _best(log, args.repeat)
        disk_added = _disk(root) - disk_first

        def relog_nocache():
            store = open_blob_store(None, root=root)
            store.digest_cache = None
            return Manifest(store.put_many(pairs)).digest

        r["relog-nocache"] = _best(relog_nocache, args.repeat)

        store = open_blob_store(None, root=root)
        manifest = Manifest(store.put_many(pairs))
        r["download"] = _best(lambda: manifest.download(out, store), args.repeat, lambda: shutil.rmtree(out, ignore_errors=True))
        r["download-unchanged"] = _best(lambda: manifest.download(out, store), args.repeat)

        mib = args.mib
        ratios = {
            "hash throughput / sha256sum": r["sha256sum"] / r["hash"],
            "log / cp -r": r["log"] / r["cp -r"],
            "relog / log": r["relog"] / r["log"],
            "relog extra disk / first": disk_added / disk_first,
        }
        if args.json:
            print(json.dumps({"seconds": r, "ratios": ratios, "disk_first": disk_first, "disk_added": disk_added}, indent=2))
            return 0
        print(f"{args.files} files, {mib} MiB, best of {args.repeat}, {os.cpu_count()} CPUs, page cache warm")
        for name, seconds in r.items():
            print(f"  {name:<20} {seconds:7.3f} s  {mib / seconds:8.0f} MiB/s")
        print(f"  disk: first log {disk_first / 2**20:.1f} MiB, unchanged relog added {disk_added / 1024:.1f} KiB")
        for name, value in ratios.items():
            print(f"  {name:<30} {value:8.3f}")
        bars = [
            ("hash throughput >= 80% of sha256sum", ratios["hash throughput / sha256sum"] >= 0.8),
            ("unchanged relog <= 10% of first log", ratios["relog / log"] <= 0.10),
            ("unchanged relog adds <= 1% disk", ratios["relog extra disk / first"] <= 0.01),
            ("cached download <= 0.5 s", r["download"] <= 0.5),
        ]
        for name, ok in bars:
            print(f"  [{'ok' if ok else 'MISSED'}] {name}")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
