#!/usr/bin/env python3
"""A bounded load on one ``tracklet server``: N concurrent runs logging M metrics a step as fast as they can.

    .venv/bin/python benchmarks/server_load.py [--runs 50] [--seconds 60] [--procs 2] [--batch-steps 2000]
    .venv/bin/python benchmarks/server_load.py --server URL --key K --server-pid PID   # against a running server

Without ``--server`` it starts ``tracklet server`` on a free loopback port over a new store folder (with
an API key: the key check is part of every request) and stops it at the end.

The clients are tracklet's own sender (``LogSender``: whole records, gzip, offsets, the real routes),
not 50 training processes: 50 Python processes logging flat out would spend the 2 cores on 50
interpreters and their imports rather than on the server. Each of ``--procs`` client processes runs
``runs / procs`` threads; each thread is one run that writes its log with the real ``WalWriter`` (a
RUN record, 10 KEY records, one HISTORY record of 10 floats a step, an EXIT record at the end: what
``log()`` writes) and posts it closed-loop: ``--batch-steps`` steps, one POST, the next steps once
the server acknowledged them. So "as fast as they can" is as fast as the server takes them; the
backlog never outgrows one batch a run and everything sent is acknowledged when the time is up.

Reports (and writes with ``--json PATH``): points acknowledged per second over the window, the p50 and
p99 of each POST's latency (send to acknowledgement), the server's peak RSS (VmHWM) and its RSS
before the load, requests and errors. ``verify(...)`` checks every point arrived exactly once.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


# -- one client process -------------------------------------------------------------------------------
def _one_run(url: str, key: str | None, folder: str, run_id: str, metrics: int, batch_steps: int, deadline: float,
             out: dict) -> None:
    from tracklet.remote._http import Client, RemoteError
    from tracklet.remote._sender import LogSender
    from tracklet.wal._wal import RecordType, WalWriter, new_log_id

    path = os.path.join(folder, "runs", run_id, "run.tlog")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    w = WalWriter(path)
    log_id = new_log_id()
    now = time.time()
    w.append_json(RecordType.RUN, {"run_id": run_id, "project": "load", "entity": None, "name": run_id, "tags": [],
                                   "notes": None, "group": None, "job_type": None, "mode": "remote", "created_at": now,
                                   "t": now, "host": "load", "pid": os.getpid(), "resumed": False, "log_id": log_id})
    for k in range(metrics):
        w.append_key(k + 1, f"m{k}")
    client = Client(url, key)
    sender = LogSender(client, path, run_id, log_id, boundary=lambda: w.offset)
    sender.position = 0  # a new run: the server holds nothing of it
    sender.confirmed = True
    latencies: list[float] = []
    errors = 0
    step = 0

    def drain() -> None:
        nonlocal errors
        while sender.position < w.offset:
            t0 = time.perf_counter()
            try:
                sender.send_next()
            except RemoteError as e:
                errors += 1
                if not e.transient or errors > 100:
                    raise
                time.sleep(0.05)
                continue
            latencies.append(time.perf_counter() - t0)

    ids = list(range(1, metrics + 1))
    while time.time() < deadline:
        t = time.time()
        for _ in range(batch_steps):
            pairs = []
            for kid in ids:
                pairs += (kid, step * 1e-3 + kid)
            w.append_history(step, t, pairs, None)
            step += 1
        drain()
    acked_in_window = step
    w.append_json(RecordType.EXIT, {"t": time.time(), "exit_code": 0, "state": "finished", "error": None})
    drain()
    w.close()
    client.close()
    out[run_id] = {"steps": step, "in_window": acked_in_window, "latencies": latencies, "errors": errors,
                   "offset": sender.position, "done": time.time()}


def client_main(url: str, key: str | None, folder: str, run_ids: list[str], metrics: int, batch_steps: int,
                start: float, seconds: float) -> None:
    while time.time() < start:
        time.sleep(0.005)
    out: dict = {}
    threads = [threading.Thread(target=_one_run, args=(url, key, folder, r, metrics, batch_steps, start + seconds, out))
               for r in run_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps(out))


# -- the load ------------------------------------------------------------------------------------------
def rss_kib(pid: int, field: str = "VmRSS") -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith(field + ":")).split()[1])


def run_load(url: str, key: str | None, server_pid: int | None, folder: str, runs: int = 50, seconds: float = 60.0,
             procs: int = 2, metrics: int = 10, batch_steps: int = 2000) -> dict:
    """Drive the load; returns the figures and, under ``"runs"``, each run's id, steps and acknowledged offset."""
    ids = [f"load{i:03d}" for i in range(runs)]
    start = time.time() + 1.0 + 0.3 * procs  # every client imported and waiting before the window opens
    rss_before = rss_kib(server_pid) if server_pid else None
    children = [
        subprocess.Popen([sys.executable, os.path.abspath(__file__), "--client", url, key or "", folder,
                          ",".join(ids[i::procs]), str(metrics), str(batch_steps), repr(start), repr(seconds)],
                         stdout=subprocess.PIPE, text=True)
        for i in range(procs)
    ]
    peak = 0
    while any(c.poll() is None for c in children):
        if server_pid:
            peak = max(peak, rss_kib(server_pid))
        time.sleep(0.2)
    results: dict = {}
    for c in children:
        out, _ = c.communicate()
        if c.returncode != 0:
            raise RuntimeError(f"a client process failed ({c.returncode})")
        results.update(json.loads(out))
    latencies = sorted(x for r in results.values() for x in r["latencies"])
    in_window = sum(r["in_window"] for r in results.values()) * metrics
    end = max(r["done"] for r in results.values())
    total = sum(r["steps"] for r in results.values()) * metrics
    return {
        "runs": runs, "metrics": metrics, "seconds": seconds, "client_processes": procs, "batch_steps": batch_steps,
        "points": total, "points_per_s": in_window / seconds, "points_per_s_with_drain": total / (end - start),
        "posts": len(latencies), "errors": sum(r["errors"] for r in results.values()),
        "post_p50_ms": 1000 * latencies[len(latencies) // 2], "post_p99_ms": 1000 * latencies[int(len(latencies) * 0.99)],
        "post_max_ms": 1000 * latencies[-1],
        "server_rss_before_mib": rss_before / 1024 if rss_before else None,
        "server_rss_peak_mib": (max(peak, rss_kib(server_pid, "VmHWM")) / 1024) if server_pid else None,
        "load_average": os.getloadavg()[0], "cpus": os.cpu_count(),
        "per_run": {i: {"steps": r["steps"], "offset": r["offset"]} for i, r in results.items()},
    }


def verify(client_folder: str, server_folder: str | None, figures: dict, db: str | None = None) -> None:
    """Every point arrived exactly once: each log byte for byte (a folder server), stored whole, each step of a metric once."""
    from tracklet.store.sql._store import SqlStore

    store = SqlStore(url=db) if db else SqlStore(server_folder)
    for run_id, r in figures["per_run"].items():
        mine = os.path.join(client_folder, "runs", run_id, "run.tlog")
        if not db:
            theirs = os.path.join(server_folder, "runs", run_id, "run.tlog")
            with open(mine, "rb") as f, open(theirs, "rb") as g:
                assert f.read() == g.read(), f"{run_id}: the server's log differs from the client's"
        run = store.run(run_id)
        assert run["state"] == "finished" and run["stored_offset"] == r["offset"] == os.path.getsize(mine), run_id
        for key in ("m0", f"m{figures['metrics'] - 1}"):
            steps = [row["_step"] for row in store.history(run_id, [key])]
            assert steps == list(range(r["steps"])), f"{run_id}/{key}: {len(steps)} rows for {r['steps']} steps"
    store.close()


def start_server(folder: str | None, python: tuple[str, ...] = ("-m", "tracklet"), db: str | None = None
                 ) -> tuple[subprocess.Popen, str, str]:
    """``tracklet server`` over a new store folder (or database ``db``) with one write key; returns (process, url, key).

    ``python``: how the interpreter starts the CLI (``("-c", code)`` runs a patched server for an A/B).
    """
    import socket

    store = ["--db", db] if db else ["--dir", folder]
    if db:
        subprocess.run([sys.executable, "-m", "tracklet", "server", *store, "--migrate"], capture_output=True, check=True)
    made = subprocess.run([sys.executable, "-m", "tracklet", "server", *store, "key", "create", "--user", "load",
                           "--project", "*", "--access", "write"], capture_output=True, text=True, check=True).stdout
    key = re.search(r"^\s+(tkl_\S+)$", made, re.M).group(1)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, *python, "server", *store, "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    assert url in proc.stdout.readline()
    import urllib.request

    for _ in range(300):
        try:
            urllib.request.urlopen(f"{url}/api/v1/health", timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    return proc, url, key


def stop_server(proc: subprocess.Popen) -> None:
    import signal

    proc.send_signal(signal.SIGINT)
    try:
        proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        url, key, folder, ids, metrics, batch, start, seconds = sys.argv[2:10]
        client_main(url, key or None, folder, ids.split(","), int(metrics), int(batch), float(start), float(seconds))
        return 0
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--procs", type=int, default=2, help="client processes (the runs are spread over them as threads)")
    p.add_argument("--metrics", type=int, default=10)
    p.add_argument("--batch-steps", type=int, default=2000, help="steps a run writes before it posts them")
    p.add_argument("--server", help="a running server's URL (default: start one)")
    p.add_argument("--key")
    p.add_argument("--server-pid", type=int, help="its process id, for its memory")
    p.add_argument("--no-verify", action="store_true")
    p.add_argument("--json", help="write the figures here too")
    args = p.parse_args()
    work = tempfile.mkdtemp(prefix="tracklet-load-")
    clients, served = os.path.join(work, "clients"), os.path.join(work, "served")
    os.makedirs(served)
    proc = None
    if args.server:
        url, key, pid = args.server, args.key, args.server_pid
    else:
        proc, url, key = start_server(served)
        pid = proc.pid
    try:
        figures = run_load(url, key, pid, clients, args.runs, args.seconds, args.procs, args.metrics, args.batch_steps)
    finally:
        if proc is not None:
            stop_server(proc)
    if proc is not None and not args.no_verify:
        verify(clients, served, figures)
        figures["verified"] = True
    shown = {k: v for k, v in figures.items() if k != "per_run"}
    print(json.dumps(shown, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(shown, f, indent=1)
    import shutil

    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
