#!/usr/bin/env python3
"""What remote mode costs the training process, and where its uploader should live.

    .venv/bin/python benchmarks/remote_overhead.py                      # starts the stand-in server
    .venv/bin/python benchmarks/remote_overhead.py --server URL --key K  # against a running `tracklet server`

Each variant runs in a fresh child process that logs STEPS steps of 3 metrics as fast as it can,
timing every ``log()`` call, then ``finish()``:

  local     the local store (its ingest worker process running beside, as by default)
  thread    remote mode as built: the uploader is a thread in the training process
  process   the alternative: the run writes its log only (offline) and a separate uploader
            process (the same LogSender) tails it; finish() waits until that process's
            run.tlog.sent reaches the log's end
  down      remote mode (thread) with no server listening: the training process's peak RSS
            against local mode's, with the backlog on disk

Reports per variant: log() median and p99 (µs), the loop's wall time, finish() (s), the child's
peak RSS and how much its RSS grew over the loop (MiB; the timing array is allocated before); variants interleave round-robin over --repeats, figures are medians.
Without --server it starts tests/contract_server.py (byte-for-byte log routes, no store behind
them): finish() then measures the client's side only; rerun with --server against a real
`tracklet server` for the issue's finish() <= 2 s figure.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

CHILD = r"""
import array, json, os, resource, sys, time, subprocess
variant, steps = sys.argv[1], int(sys.argv[2])
def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
import tracklet
run = tracklet.init(project="bench", mode="offline" if variant == "process" else None)
proc = None
if variant == "process":
    wal = os.path.join(run.dir, "run.tlog")
    proc = subprocess.Popen([sys.executable, "-c", UPLOADER, wal, os.environ["TRACKLET_BASE_URL"], run.id])
log = run.log
clock = time.perf_counter_ns
times = array.array("q", bytes(8 * steps))  # allocated before the first RSS reading: growth is tracklet's
log({"loss": 1.0, "acc": 0.0, "lr": 2e-4})  # keys registered, the uploader thread started
time.sleep(0.5)
rss0 = rss_mib()
t0 = time.perf_counter()
for i in range(steps):
    a = clock()
    log({"loss": 1.0 / (i + 1), "acc": i * 1e-6, "lr": 2e-4})
    times[i] = clock() - a
loop = time.perf_counter() - t0
growth = rss_mib() - rss0
t1 = time.perf_counter()
run.finish()
if proc is not None:
    wal = os.path.join(run.dir, "run.tlog")
    size = os.path.getsize(wal)
    with open(wal + ".done", "w") as f:
        f.write(str(size))
    from tracklet.remote._uploader import read_sent
    while (read_sent(wal) or 0) < size:
        time.sleep(0.002)
finish = time.perf_counter() - t1
if proc is not None:
    proc.wait()
times = sorted(times)
print(json.dumps({
    "median_us": times[len(times) // 2] / 1000, "p99_us": times[int(len(times) * 0.99)] / 1000,
    "loop_s": loop, "finish_s": finish,
    "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "growth_mib": growth,
}))
"""

UPLOADER = r"""
import os, sys, time
wal, url, run_id = sys.argv[1:4]
from tracklet.remote._http import Client
from tracklet.remote._sender import LogSender
sender = LogSender(Client(url, os.environ.get("TRACKLET_API_KEY")), wal, run_id)
sender.sync_position()
while True:
    if sender.send_next():
        continue
    try:
        with open(wal + ".done") as f:
            if sender.position >= int(f.read()):
                break
        continue  # finish() is waiting: no sleep
    except (OSError, ValueError):
        pass
    time.sleep(0.5)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_child(variant: str, steps: int, url: str | None, key: str | None, store: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKLET_", "WANDB_", "PYTHON"))}
    env.update(TRACKLET_DIR=store, TRACKLET_SILENT="true", TRACKLET_SYSTEM_INTERVAL="0", TRACKLET_CONSOLE="off",
               TRACKLET_CONFIG_FILE=os.path.join(store, "none.ini"), XDG_CONFIG_HOME=os.path.join(store, "xdg"))
    if variant == "local":
        env["TRACKLET_MODE"] = "local"
    else:
        env["TRACKLET_BASE_URL"] = url if variant != "down" else f"http://127.0.0.1:{free_port()}"
        env["TRACKLET_FINISH_TIMEOUT"] = "0" if variant == "down" else "60"
        if key:
            env["TRACKLET_API_KEY"] = key
    code = "UPLOADER = " + repr(UPLOADER) + "\n" + CHILD
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code, variant, str(steps)], env=env,
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--server", help="a running tracklet server (default: start the stand-in)")
    p.add_argument("--key", default=os.environ.get("TRACKLET_API_KEY"))
    p.add_argument("--steps", type=int, default=200_000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--variants", default="local,thread,process,down")
    p.add_argument("--json", help="also write the raw figures here")
    args = p.parse_args()
    server = None
    url = args.server
    if url is None:
        port = free_port()
        folder = tempfile.mkdtemp(prefix="tracklet-standin-")
        server = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "contract_server.py"), str(port), folder],
                                  stdout=subprocess.PIPE, text=True)
        url = server.stdout.readline().strip()
    variants = args.variants.split(",")
    results: dict[str, list[dict]] = {v: [] for v in variants}
    try:
        for rep in range(args.repeats):
            order = variants[rep % len(variants):] + variants[: rep % len(variants)]
            for v in order:
                with tempfile.TemporaryDirectory(prefix="tracklet-bench-") as store:
                    results[v].append(run_child(v, args.steps, url, args.key, store))
    finally:
        if server is not None:
            server.terminate()
            server.wait()
    print(f"{args.steps:,} steps x 3 metrics, median of {args.repeats}; server: {args.server or 'stand-in (tests/contract_server.py)'}")
    print(f"{'variant':<9} {'log() median':>13} {'p99':>9} {'loop':>8} {'finish()':>9} {'peak RSS':>9} {'RSS growth in loop':>19}")
    summary = {}
    for v in variants:
        med = {k: statistics.median(r[k] for r in results[v]) for k in results[v][0]}
        summary[v] = med
        print(f"{v:<9} {med['median_us']:>10.2f} µs {med['p99_us']:>6.2f} µs {med['loop_s']:>6.2f} s {med['finish_s']:>7.3f} s "
              f"{med['rss_mib']:>5.0f} MiB {med['growth_mib']:>14.1f} MiB")
    if "local" in summary:
        base = summary["local"]["median_us"]
        for v in variants:
            if v != "local":
                print(f"  {v}: log() median {100 * (summary[v]['median_us'] / base - 1):+.1f}% against local")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"steps": args.steps, "server": args.server, "runs": results, "median": summary}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
