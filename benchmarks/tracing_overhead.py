"""What tracing costs: the overhead of ``@tracklet.op`` on a trivial call against the undecorated call and
MLflow's ``@mlflow.trace``, and 100,000 calls in 10,000 traces of depth 3-5: time until they are in the
store, the slowest 50 calls of an op listed, one trace's tree read.

Each tool runs in its own subprocess (tracklet from this checkout's venv, MLflow from the comparison venv),
rounds alternating between them; each measures its own undecorated baseline in the same process.
Overhead per call = median over batches of 1,000 calls (100 for MLflow) (ns per call), traced minus undecorated. Two shapes:
``root`` (every call is a trace of its own) and ``child`` (calls inside one open parent call).

Weave's ``@weave.op`` is not measured: ``weave.init`` needs a W&B account and server. Checked again with
weave 0.54.0, the newest release (2026-12-05): it has no local or offline store; ``init`` asks for a W&B API
key, then fails with "Weave is not available on the server: Connection error" when its trace server's
``/server_info`` cannot be reached, and nothing outside this machine can be reached here.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/tracing_overhead.py \\
        --compare-python /work/main/benchmarks/.venv-compare/bin/python --write

``--write`` replaces this benchmark's section of benchmarks/RESULTS.md (between its markers).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
START, END = "<!-- tracing-overhead:start -->", "<!-- tracing-overhead:end -->"

# One tool's measurement, run as ``python -c`` in a fresh process: prints a JSON object.
OVERHEAD = r'''
import json, os, statistics, sys, tempfile, time
tool, batches, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
work = tempfile.mkdtemp(prefix="trace-bench-")

def trivial(x, y=1):
    return x + y

if tool == "tracklet":
    import tracklet
    tracklet.init_tracing("bench", dir=os.path.join(work, "store"))
    traced = tracklet.op(trivial)
    parent = tracklet.op(lambda f: f())
elif tool == "mlflow":
    import logging, warnings
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    import mlflow
    mlflow.set_tracking_uri("sqlite:///" + os.path.join(work, "mlflow.db"))
    mlflow.set_experiment("bench")
    traced = mlflow.trace(trivial)
    parent = mlflow.trace(lambda f: f())
perf = time.perf_counter_ns

def batch(fn):
    t = perf()
    for i in range(per):
        fn(i)
    return (perf() - t) / per

def measure(fn, shape):
    out = []
    for _ in range(batches):
        if shape == "root":
            out.append(batch(fn))
        else:
            box = []
            parent(lambda: box.append(batch(fn)))
            out.append(box[0])
    return out

for f in (trivial, traced):  # warm-up: first calls compile, import and open files
    measure(f, "root")[:1]
result = {}
for shape in ("root", "child"):
    base = measure(trivial, shape)
    t = measure(traced, shape)
    result[shape] = {"base_ns": statistics.median(base), "traced_ns": statistics.median(t)}
print(json.dumps(result))
'''

# 100,000 calls in 10,000 traces of depth 3-5, then the store's reads; tracklet only.
SCALE = r'''
import json, os, sys, tempfile, time
import tracklet
from tracklet.store.sql._store import SqlStore
from tracklet.cli._calls import tree_lines
traces = int(sys.argv[1])
store_dir = os.path.join(tempfile.mkdtemp(prefix="trace-scale-"), "store")
tracklet.init_tracing("scale", dir=store_dir)

@tracklet.op
def leaf(i):
    return i

@tracklet.op
def mid(i, depth):
    return mid(i, depth - 1) if depth else leaf(i)

@tracklet.op
def pipeline(i):  # 10 calls, depth 3 to 5: pipeline > mid > leaf, > mid > mid > leaf, > mid > mid > mid > leaf
    return [mid(i, d) for d in range(3)]

t0 = time.perf_counter()
for i in range(traces):
    pipeline(i)
made = time.perf_counter() - t0
last = tracklet.get_current_call()
t1 = time.perf_counter()
store = SqlStore(store_dir)
roots = store.calls("scale", filters={"roots": True}, order="-started_at", limit=1)
in_store = time.perf_counter() - t1
total = len(store.calls("scale", filters={"op": "pipeline"}))
t2 = time.perf_counter()
slowest = store.calls("scale", filters={"op": "leaf"}, order="-latency_ms", limit=50)
slow_s = time.perf_counter() - t2
t3 = time.perf_counter()
lines = tree_lines(store.calls("scale", filters={"trace_id": roots[0]["trace_id"]}))
tree_s = time.perf_counter() - t3
print(json.dumps({"calls": traces * 10, "traces": total, "made_s": made, "in_store_s": in_store, "slowest_s": slow_s,
                  "slowest_n": len(slowest), "tree_s": tree_s, "tree_calls": len(lines)}))
'''


def run(python: str, code: str, *args: object) -> dict:
    env = {**os.environ, "TRACKLET_SILENT": "true", "OMP_NUM_THREADS": "1"}
    out = subprocess.run([python, "-c", code, *map(str, args)], capture_output=True, text=True, env=env, cwd=tempfile.gettempdir())
    if out.returncode != 0:
        raise SystemExit(f"{python} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--compare-python", help="a python with mlflow installed (benchmarks/.venv-compare of the main checkout)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--batches", type=int, default=30)
    p.add_argument("--per", type=int, default=1000)
    p.add_argument("--slow-batches", type=int, default=5, help="batches for MLflow (~0.3 ms a call: a round of 30,000 calls takes minutes)")
    p.add_argument("--slow-per", type=int, default=100)
    p.add_argument("--traces", type=int, default=10_000)
    p.add_argument("--write", action="store_true")
    args = p.parse_args()
    tools = [("tracklet", sys.executable)] + ([("mlflow", args.compare_python)] if args.compare_python else [])
    got: dict[str, list[dict]] = {t: [] for t, _ in tools}
    args.load = [os.getloadavg()[0]]
    for r in range(args.rounds):
        for tool, python in (tools if r % 2 == 0 else tools[::-1]):
            sizes = (args.batches, args.per) if tool == "tracklet" else (args.slow_batches, args.slow_per)
            got[tool].append(run(python, OVERHEAD, tool, *sizes))
            print(tool, got[tool][-1], file=sys.stderr)
    scale = run(sys.executable, SCALE, args.traces)
    print(scale, file=sys.stderr)
    args.load.append(os.getloadavg()[0])
    text = render(got, scale, args)
    print(text)
    if args.write:
        write_section(text)


def render(got: dict[str, list[dict]], scale: dict, args: argparse.Namespace) -> str:
    def med(tool: str, shape: str, key: str) -> float:
        return statistics.median(g[shape][key] for g in got[tool])

    lines = [
        START,
        "# Tracing overhead (issue 13)",
        "",
        f"`benchmarks/tracing_overhead.py` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, Python {platform.python_version()}, "
        f"this 2-core machine shared with other work, load average {args.load[0]:.1f} at the start and {args.load[1]:.1f} at the end; "
        f"medians of {args.rounds} rounds of {args.batches} batches of {args.per} calls, "
        f"MLflow {args.slow_batches} batches of {args.slow_per}: it is slow). "
        "Overhead = traced minus undecorated, per call, in the same process.",
        "",
        "| tool | shape | undecorated | traced | overhead per call |",
        "|---|---|---|---|---|",
    ]
    for tool in got:
        for shape in ("root", "child"):
            b, t = med(tool, shape, "base_ns"), med(tool, shape, "traced_ns")
            lines.append(f"| {tool} | {shape} | {b / 1000:.2f} µs | {t / 1000:.2f} µs | **{(t - b) / 1000:.2f} µs** |")
    if "mlflow" in got:
        ratio = (med("mlflow", "root", "traced_ns") - med("mlflow", "root", "base_ns")) / max(1.0, med("tracklet", "root", "traced_ns") - med("tracklet", "root", "base_ns"))
        lines += ["", f"MLflow's `@mlflow.trace` (sqlite store) costs {ratio:.0f}x tracklet's `@tracklet.op` per root call."]
    lines += [
        "", "Weave's `@weave.op` is not measured: weave 0.54.0 (the newest release, checked 2026-12-05) has no local or offline "
        "store; `weave.init` asks for a W&B API key and then needs its trace server (`/server_info`), none reachable here.",
        "",
        f"{scale['calls']:,} calls in {scale['traces']:,} traces of depth 3-5 (tracklet): made in {scale['made_s']:.2f} s; "
        f"**in the store {scale['in_store_s']:.2f} s** after the last call (target <= 5 s); "
        f"the slowest {scale['slowest_n']} calls of an op listed in **{scale['slowest_s'] * 1000:.1f} ms** (target <= 200 ms); "
        f"one trace's tree ({scale['tree_calls']} calls) in **{scale['tree_s'] * 1000:.1f} ms** (target <= 50 ms).",
        "",
        "```",
        "OMP_NUM_THREADS=1 .venv/bin/python benchmarks/tracing_overhead.py --compare-python /work/main/benchmarks/.venv-compare/bin/python --write",
        "```",
        END,
    ]
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    from _results import write_section as write

    write(text, START, END)


if __name__ == "__main__":
    main()
