#!/usr/bin/env python3
"""Scalar ingest, side by side in one run: tracklet's server into SQLite and into PostgreSQL, tracklet's store
into PostgreSQL without HTTP, and MLflow's tracking server into the same PostgreSQL (``log_batch``).

    .venv/bin/python benchmarks/server_ingest.py [--runs 50] [--seconds 20] [--fast-unsafe] [--compare-venv DIR]

  tracklet server, SQLite   ``tracklet server`` over a store folder, benchmarks/server_load.py's load: RUNS runs
                            of 10 metrics a step, tracklet's sender in 2 client processes, 2,000 steps a POST.
  tracklet server, PostgreSQL  the same load on ``tracklet server --db postgresql://...`` (migrated first).
  tracklet store, PostgreSQL  the same logs (same records, same batches) stored by ``ingest_bytes`` into a
                            PostgreSQL database in process, RUNS threads, one run each: what the server above
                            does with a POST's body, without the HTTP.
  MLflow server, PostgreSQL  ``mlflow server --backend-store-uri postgresql://...`` (2 workers) on the same
                            cluster, RUNS runs logging 10 metrics a step with ``MlflowClient.log_batch`` of
                            1,000 metrics (100 steps; MLflow's limit per call), 2 client processes.

Each writes for --seconds as fast as the store takes it (closed loop: the next batch once the last
is acknowledged) and reports points acknowledged per second, and the p50/p99 of a batch's latency.
The PostgreSQL cluster is private (tests/_postgres.py), durable by default (fsync on);
``--fast-unsafe`` turns fsync, synchronous_commit and full_page_writes off, as the test cluster does.
MLflow needs the compare venv (benchmarks/setup_compare.sh) with psycopg2-binary in it.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

import server_load  # noqa: E402

COMPARE = os.path.join(HERE, ".venv-compare", "bin")  # --compare-venv to use another

MLFLOW_CLIENT = r"""
import json, sys, threading, time
from mlflow import MlflowClient
from mlflow.entities import Metric
url, ids, metrics, per_call, start, seconds = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
client = MlflowClient(tracking_uri=url)
out = {}
def one(run_id):
    lat, step, errors = [], 0, 0
    while time.time() < start + seconds:
        ts = int(time.time() * 1000)
        batch = [Metric(f"m{k}", step + i + k * 1e-3, ts, step + i) for i in range(per_call // metrics) for k in range(metrics)]
        t0 = time.perf_counter()
        try:
            client.log_batch(run_id, metrics=batch, synchronous=True)
        except Exception:
            errors += 1
            continue
        lat.append(time.perf_counter() - t0)
        step += per_call // metrics
    out[run_id] = {"steps": step, "latencies": lat, "errors": errors}
while time.time() < start:
    time.sleep(0.005)
ts = [threading.Thread(target=one, args=(r,)) for r in ids]
[t.start() for t in ts]; [t.join() for t in ts]
print(json.dumps(out))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _figures(results: dict, metrics: int, seconds: float) -> dict:
    lat = sorted(x for r in results.values() for x in r["latencies"])
    return {
        "points_per_s": sum(r["steps"] for r in results.values()) * metrics / seconds,
        "batch_p50_ms": 1000 * lat[len(lat) // 2], "batch_p99_ms": 1000 * lat[int(len(lat) * 0.99)],
        "batches": len(lat), "errors": sum(r.get("errors", 0) for r in results.values()),
    }


def tracklet_sqlite_server(runs: int, seconds: float, metrics: int) -> dict:
    work = tempfile.mkdtemp(prefix="ingest-sqlite-")
    served, clients = os.path.join(work, "served"), os.path.join(work, "clients")
    os.makedirs(served)
    proc, url, key = server_load.start_server(served)
    try:
        f = server_load.run_load(url, key, proc.pid, clients, runs, seconds, 2, metrics)
    finally:
        server_load.stop_server(proc)
    server_load.verify(clients, served, f)
    return {"points_per_s": f["points_per_s"], "batch_p50_ms": f["post_p50_ms"], "batch_p99_ms": f["post_p99_ms"],
            "batches": f["posts"], "errors": f["errors"], "server_rss_peak_mib": f["server_rss_peak_mib"]}


def tracklet_pg_server(url: str, runs: int, seconds: float, metrics: int) -> dict:
    clients = tempfile.mkdtemp(prefix="ingest-pgserver-")
    proc, base, key = server_load.start_server(None, db=url)
    try:
        f = server_load.run_load(base, key, proc.pid, clients, runs, seconds, 2, metrics)
    finally:
        server_load.stop_server(proc)
    server_load.verify(clients, None, f, db=url)
    return {"points_per_s": f["points_per_s"], "batch_p50_ms": f["post_p50_ms"], "batch_p99_ms": f["post_p99_ms"],
            "batches": f["posts"], "errors": f["errors"], "server_rss_peak_mib": f["server_rss_peak_mib"]}


def tracklet_pg_store(url: str, runs: int, seconds: float, metrics: int, batch_steps: int = 2000) -> dict:
    from tracklet.store.sql._engine import make_engine
    from tracklet.store.sql._ingest import ingest_bytes
    from tracklet.store.sql._migrate import migrate
    from tracklet.wal._wal import RecordType, WalWriter, new_log_id

    migrate(url)
    engine = make_engine(url)
    folder = tempfile.mkdtemp(prefix="ingest-pg-")
    deadline = time.time() + seconds
    results: dict = {}

    def one(run_id: str) -> None:
        path = os.path.join(folder, run_id + ".tlog")
        w = WalWriter(path)
        log_id = new_log_id()
        now = time.time()
        w.append_json(RecordType.RUN, {"run_id": run_id, "project": "load", "name": run_id, "mode": "remote",
                                       "created_at": now, "t": now, "host": "load", "pid": os.getpid(), "log_id": log_id})
        for k in range(metrics):
            w.append_key(k + 1, f"m{k}")
        sent, step, lat = 0, 0, []
        with open(path, "rb") as f:
            while time.time() < deadline:
                t = time.time()
                for _ in range(batch_steps):
                    pairs = []
                    for kid in range(1, metrics + 1):
                        pairs += (kid, step * 1e-3 + kid)
                    w.append_history(step, t, pairs, None)
                    step += 1
                data = os.pread(f.fileno(), w.offset - sent, sent)
                t0 = time.perf_counter()
                sent = ingest_bytes(engine, run_id, sent, data, log_id)
                lat.append(time.perf_counter() - t0)
        w.close()
        results[run_id] = {"steps": step, "latencies": lat}

    threads = [threading.Thread(target=one, args=(f"pg{i:03d}",)) for i in range(runs)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.time() - t0  # the window plus each run's last batch
    out = _figures(results, metrics, took)
    with engine.connect() as conn:  # every point stored once
        from sqlalchemy import text

        rows = conn.execute(text("SELECT r.run_id, r.last_step FROM runs r")).all()
        conn.rollback()
    assert {r: s for r, s in rows} == {r: v["steps"] - 1 for r, v in results.items()}
    engine.dispose()
    return out


def mlflow_pg_server(url: str, runs: int, seconds: float, metrics: int, per_call: int = 1000) -> dict:
    port = _free_port()
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    server = subprocess.Popen([os.path.join(COMPARE, "mlflow"), "server", "--backend-store-uri", url, "--host", "127.0.0.1",
                               "--port", str(port), "--workers", "2"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        import urllib.request

        for _ in range(1200):
            try:
                urllib.request.urlopen(f"{base}/health", timeout=1)
                break
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError("mlflow server exited: " + server.stderr.read().decode()[-2000:])
                time.sleep(0.1)
        make = subprocess.run([os.path.join(COMPARE, "python"), "-c", (
            "import sys; from mlflow import MlflowClient; c = MlflowClient(tracking_uri=sys.argv[1]); "
            "e = c.create_experiment('load'); print(','.join(c.create_run(e).info.run_id for _ in range(int(sys.argv[2]))))"),
            base, str(runs)], capture_output=True, text=True, check=True)
        ids = make.stdout.strip().split(",")
        start = time.time() + 8.0  # the clients import mlflow (seconds) before the window opens
        kids = [subprocess.Popen([os.path.join(COMPARE, "python"), "-c", MLFLOW_CLIENT, base, ",".join(ids[i::2]), str(metrics),
                                  str(per_call), repr(start), repr(seconds)], stdout=subprocess.PIPE, text=True)
                for i in range(2)]
        results: dict = {}
        for k in kids:
            out, _ = k.communicate()
            results.update(json.loads(out))
        took = max(seconds, time.time() - start)
        return {**_figures(results, metrics, took), "per_call": per_call}
    finally:
        import signal

        try:
            os.killpg(server.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--metrics", type=int, default=10)
    p.add_argument("--fast-unsafe", action="store_true")
    p.add_argument("--only", help="comma-separated: sqlite,pgserver,pg,mlflow")
    p.add_argument("--json", help="write the figures here too")
    p.add_argument("--compare-venv", help="the venv with MLflow (default benchmarks/.venv-compare)")
    args = p.parse_args()
    if args.compare_venv:
        global COMPARE
        COMPARE = os.path.join(args.compare_venv, "bin")
    from _postgres import PgCluster

    only = set((args.only or "sqlite,pgserver,pg,mlflow").split(","))
    settings = {} if args.fast_unsafe else {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
    out: dict = {"runs": args.runs, "seconds": args.seconds, "metrics": args.metrics, "pg_durable": not args.fast_unsafe}
    with PgCluster(settings=settings) as pg:
        if "sqlite" in only:
            out["tracklet_server_sqlite"] = tracklet_sqlite_server(args.runs, args.seconds, args.metrics)
            print("tracklet server, SQLite:", out["tracklet_server_sqlite"], flush=True)
        if "pgserver" in only:
            out["tracklet_server_postgresql"] = tracklet_pg_server(pg.create_database(), args.runs, args.seconds, args.metrics)
            print("tracklet server, PostgreSQL:", out["tracklet_server_postgresql"], flush=True)
        if "pg" in only:
            out["tracklet_store_postgresql"] = tracklet_pg_store(pg.create_database(), args.runs, args.seconds, args.metrics)
            print("tracklet store, PostgreSQL:", out["tracklet_store_postgresql"], flush=True)
        if "mlflow" in only:
            url = pg.create_database().replace("postgresql+psycopg://", "postgresql+psycopg2://")
            out["mlflow_server_postgresql"] = mlflow_pg_server(url, args.runs, args.seconds, args.metrics)
            print("MLflow server, PostgreSQL:", out["mlflow_server_postgresql"], flush=True)
    out["load_average"] = os.getloadavg()[0]
    print(json.dumps(out, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
