#!/usr/bin/env python3
"""Side-by-side benchmark of the core logging path: tracklet vs wandb (offline)
vs MLflow (local SQLite store) vs Trackio (local store).

    bash benchmarks/setup_compare.sh                      # once: benchmarks/.venv-compare
    benchmarks/.venv-compare/bin/python benchmarks/core_compare.py          # full run
    benchmarks/.venv-compare/bin/python benchmarks/core_compare.py --quick  # 1-2 repeats

On the 2-core development machine (with other work running) the full run took
23 min and --quick 12.5 min; most of it is wandb (its offline reader prints every
record as JSON) and MLflow (milliseconds per log call), each held to a time budget.

Every measurement runs in a fresh child process (benchmarks/_workloads/child.py,
or `python -c` for import and whole-process timings) with its own store in a
temp dir, tools interleaved round-robin (the starting tool rotates every
repetition), repeated and summarised by the median. A tool that fails, or that
runs out of its time budget, is reported as such with its error.

Nothing reaches the network: wandb runs with WANDB_MODE=offline, MLflow against
sqlite:///<tmp>/mlflow.db, Trackio with TRACKIO_DIR=<tmp> and the Hugging Face
hub offline, telemetry is off for every tool, and HOME points into the temp dir
so no tool can find a stored credential. Where `unshare -n` works (root on
Linux), every child also runs in an empty network namespace (see --network).

Writes the "# Core logging path" section of benchmarks/RESULTS.md (ratios
first, then absolute numbers, tracklet's targets, limits and failures, machine,
versions, method), leaving the other benchmarks' sections as they are, and the
raw measurements to benchmarks/RESULTS-core.json (--render-only rewrites the
section from such a file without measuring anything).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from _workloads import TOOLS, load  # noqa: E402
from _workloads import _harness as H  # noqa: E402

CHILD = os.path.join(HERE, "_workloads", "child.py")
# RESULTS.md is shared with the other benchmarks in this folder: each owns one top-level
# section and replaces only that one
SECTION = "# Core logging path"
DEFAULT_PY = os.path.join(HERE, ".venv-compare", "bin", "python")
BULK_POINTS_PER_STEP = 3

# ------------------------------------------------------------------ arguments


def _kv_list(values, conv, what):
    out = {}
    for item in values or []:
        for part in item.split(","):
            if not part:
                continue
            tool, sep, val = part.partition("=")
            if not sep or tool not in TOOLS:
                raise SystemExit(f"bad {what} {part!r}: expected TOOL=VALUE with TOOL in {TOOLS}")
            out[tool] = conv(val)
    return out


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--tools", default=",".join(TOOLS), help="comma-separated subset of %(default)s")
    p.add_argument("--quick", action="store_true", help="2 repeats of the light scenarios, 1 of the heavy ones")
    p.add_argument("--out", default=os.path.join(HERE, "RESULTS.md"),
                   help=f"Markdown file whose '{SECTION}' section is written, the rest left as it is "
                        "(default benchmarks/RESULTS.md); the raw measurements go to <out stem>-core.json")
    p.add_argument("--render-only", metavar="RAW_JSON",
                   help="measure nothing: rewrite the report from raw measurements saved by an earlier run")
    p.add_argument("--repeats", type=int, help="repetitions of init/log (default 5, --quick 2)")
    p.add_argument("--heavy-repeats", type=int, help="repetitions of the 200k-step write/read (default 3, --quick 1)")
    p.add_argument("--mem-repeats", type=int, help="repetitions of the 1M-step memory run (default 1)")
    p.add_argument("--import-repeats", type=int, help="`python -c 'import X'` samples, best taken (default 10, --quick 5)")
    p.add_argument("--log-calls", type=int, default=20_000, help="log() calls timed one by one (default %(default)s)")
    p.add_argument("--bulk-steps", type=int, default=200_000, help="steps x 3 metrics for write/finish/readable/read (default %(default)s)")
    p.add_argument("--mem-steps", type=int, default=1_000_000, help="steps x 3 metrics for the memory run (default %(default)s)")
    p.add_argument("--log-deadline", type=float, default=10.0, help="seconds a tool may spend in the log() loop before it is cut short (default %(default)s)")
    p.add_argument("--bulk-deadline", type=float, default=120.0, help="same for the 200k-step loop (default %(default)s)")
    p.add_argument("--mem-deadline", type=float, default=180.0, help="same for the 1M-step loop (default %(default)s)")
    p.add_argument("--read-timeout", type=float, default=120.0, help="how long to poll for the 200k-step run to become readable (default %(default)s)")
    p.add_argument("--max-steps-for", action="append", metavar="TOOL=N", help="cap the 200k/1M-step runs of TOOL at N steps (repeatable)")
    p.add_argument("--timeout-for", action="append", metavar="TOOL=S", help="loop deadline in seconds for TOOL in every scenario (repeatable)")
    p.add_argument("--child-timeout", type=float, default=600.0, help="hard limit on one child process; it is killed and reported as timed out (default %(default)s)")
    p.add_argument("--scenarios", default="import,init,log,bulk,read,mem", help="subset to run (default %(default)s)")
    p.add_argument("--python", default=None, help=f"interpreter with the tools installed (default {os.path.relpath(DEFAULT_PY, REPO)})")
    p.add_argument("--network", choices=("isolate", "auto", "allow"), default="auto",
                   help="isolate: run every child in `unshare -n` (an empty network namespace; needs root), "
                        "fail if unavailable; auto (default): isolate when possible; allow: rely on the "
                        "offline settings alone")
    p.add_argument("--keep-tmp", action="store_true", help="keep the temp stores (their path is printed)")
    a = p.parse_args(argv)
    a.tools = [t.strip() for t in a.tools.split(",") if t.strip()]
    for t in a.tools:
        if t not in TOOLS:
            p.error(f"unknown tool {t!r}; known: {', '.join(TOOLS)}")
    a.scenarios = {s.strip() for s in a.scenarios.split(",") if s.strip()}
    if a.repeats is None:
        a.repeats = 2 if a.quick else 5
    if a.heavy_repeats is None:
        a.heavy_repeats = 1 if a.quick else min(3, a.repeats)
    if a.mem_repeats is None:
        a.mem_repeats = 1
    if a.import_repeats is None:
        a.import_repeats = 5 if a.quick else 10
    a.max_steps_for = _kv_list(a.max_steps_for, int, "--max-steps-for")
    a.timeout_for = _kv_list(a.timeout_for, float, "--timeout-for")
    a.python = a.python or (DEFAULT_PY if os.path.exists(DEFAULT_PY) else None)
    if not a.python and not a.render_only:
        p.error(f"{os.path.relpath(DEFAULT_PY)} missing: run `bash benchmarks/setup_compare.sh` first, or pass --python")
    return a


# ------------------------------------------------------------------ processes


class Runner:
    def __init__(self, args, tmp_root):
        self.a = args
        self.tmp = tmp_root
        self.home = os.path.join(tmp_root, "home")
        os.makedirs(self.home, exist_ok=True)
        self.seq = 0
        self.prefix = []
        self.isolation = "none: offline settings only (--network allow)"
        if args.network != "allow":
            ok = bool(shutil.which("unshare")) and subprocess.run(
                ["unshare", "-n", "true"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
            if ok:
                self.prefix = ["unshare", "-n"]
                self.isolation = "every child ran in `unshare -n` (an empty network namespace): no network at all"
            elif args.network == "isolate":
                raise SystemExit("--network isolate: `unshare -n` is not available here (needs root)")
            else:
                self.isolation = "none available (`unshare -n` needs root): offline settings only"

    def base_env(self):
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("WANDB_", "MLFLOW_", "TRACKIO_", "TRACKLET_", "HF_", "PYTHON"))
        }
        env.update(
            HOME=self.home,
            XDG_CONFIG_HOME=os.path.join(self.home, ".config"),
            XDG_CACHE_HOME=os.path.join(self.home, ".cache"),
            XDG_DATA_HOME=os.path.join(self.home, ".local", "share"),
            HF_HOME=os.path.join(self.home, "hf"),
            HF_HUB_OFFLINE="1",
            HF_HUB_DISABLE_TELEMETRY="1",
            DO_NOT_TRACK="true",
            MLFLOW_DISABLE_TELEMETRY="true",
            WANDB_MODE="offline",
            WANDB_ERROR_REPORTING="false",
            WANDB_SILENT="true",
            GRADIO_ANALYTICS_ENABLED="False",
            PYTHONNOUSERSITE="1",
        )
        return env

    def new_dir(self, tool, label):
        self.seq += 1
        d = os.path.join(self.tmp, f"{self.seq:04d}-{tool}-{label}")
        os.makedirs(d)
        return d

    def spawn(self, cmd, cwd, env, timeout=None):
        """Run cmd in its own session; returns dict(rc, wall_s, timed_out, timeout_s, out_tail, cpu_s)."""
        log_path = os.path.join(self.tmp, f"child-{self.seq:04d}-{time.monotonic_ns()}.log")
        return H.run_logged(self.prefix + cmd, cwd, env, log_path, timeout or self.a.child_timeout)

    def child(self, tool, scenario, d, timeout=None, **opts):
        ad = load(tool)
        env = self.base_env()
        env.update(ad.env(d))
        result = os.path.join(self.tmp, f"result-{self.seq:04d}-{tool}-{scenario}-{time.monotonic_ns()}.json")
        cmd = [self.a.python, CHILD, tool, scenario, result, f"dir={d}"]
        cmd += [f"{k}={v}" for k, v in opts.items()]
        p = self.spawn(cmd, d, env, timeout)
        return {"wall_s": p["wall_s"], **H.child_record(result, p)}

    def python_c(self, tool, code, d):
        env = self.base_env()
        if tool:
            env.update(load(tool).env(d))
        p = self.spawn([self.a.python, "-c", code], d, env)
        rec = {"wall_s": p["wall_s"], "ok": p["rc"] == 0 and not p["timed_out"]}
        if not rec["ok"]:
            rec["error"] = (
                f"timed out after {p['timeout_s']:.0f} s" if p["timed_out"]
                else f"exited {p['rc']}: {H.last_line(p['out_tail'])}"
            )
            rec["output"] = p["out_tail"][-1500:]
        return rec


class Bench:
    def __init__(self, args):
        self.a = args
        self.tmp = tempfile.mkdtemp(prefix="tracklet-bench-")
        self.r = Runner(args, self.tmp)
        self.records = []  # every measurement: {tool, scenario, variant, rep, ok, ...}
        self.notes = []
        self.bulk_limited = {}  # tool -> record of a bulk run cut short by its deadline
        self.bulk_dirs = {}  # (tool, rep) -> (dir, run_id)
        self.t0 = time.time()

    def order(self, rep):
        tools = list(self.a.tools)
        k = rep % len(tools)
        return tools[k:] + tools[:k]

    def add(self, tool, scenario, variant, rep, rec):
        rec = dict(rec, tool=tool, scenario=scenario, variant=variant, rep=rep)
        self.records.append(rec)
        status = "ok" if rec.get("ok") else f"FAILED: {rec.get('error', '')[:160]}"
        if rec.get("skipped"):
            status = rec.get("error", "skipped")[:160]
        if rec.get("ok") and rec.get("limited"):
            status = "ok (cut short by its deadline)"
        print(f"  [{scenario}/{variant} rep {rep + 1}] {tool:9s} {rec.get('wall_s', 0):8.2f} s  {status}", flush=True)
        return rec

    def settle(self, tool, d):
        """Let background work a tool left running (tracklet's ingest worker) finish, so
        that it neither competes with the next measurement nor is missed by a disk count."""
        try:
            return load(tool).settle(d)
        except Exception:  # noqa: BLE001
            return None

    def discard(self, tool, d):
        if tool:
            self.settle(tool, d)
        if not self.a.keep_tmp:
            shutil.rmtree(d, ignore_errors=True)

    @staticmethod
    def _mark_cap(rec, nominal):
        """A run capped by --max-steps-for counts as cut short against the nominal size."""
        if rec.get("ok") and rec.get("steps_requested", nominal) < nominal:
            rec["capped_at"] = rec["steps_requested"]
            rec["steps_requested"] = nominal
            rec["limited"] = True

    def deadline(self, tool, default):
        return self.a.timeout_for.get(tool, default)

    def steps(self, tool, default):
        return min(default, self.a.max_steps_for.get(tool, default))

    # scenario 1
    def run_import(self):
        n = self.a.import_repeats
        print(f"import: best of {n}, `python -c 'import X'` vs `python -c pass`", flush=True)
        for i in range(n):
            for tool in [None] + self.order(i):
                d = self.r.new_dir(tool or "bare", "import")
                code = f"import {load(tool).MODULE}" if tool else "pass"
                rec = self.r.python_c(tool, code, d)
                self.records.append(dict(rec, tool=tool or "bare", scenario="import", variant="import", rep=i))
                if not rec["ok"]:
                    print(f"  import {tool}: FAILED {rec['error']}", flush=True)
                self.discard(None, d)

    # scenario 2
    def bare(self, rep):
        d = self.r.new_dir("bare", "proc")
        rec = self.r.python_c(None, "pass", d)
        self.records.append(dict(rec, tool="bare", scenario="proc", variant="bare", rep=rep))
        self.discard(None, d)

    def run_init(self, rep):
        for tool in self.order(rep):
            self.bare(rep)  # the baseline is sampled as often as, and next to, the tools
            ad = load(tool)
            d = self.r.new_dir(tool, "proc")
            code = ad.empty_run_code(d)
            self.add(tool, "proc", "fresh", rep, self.r.python_c(tool, code, d))
            self.settle(tool, d)
            self.add(tool, "proc", "existing", rep, self.r.python_c(tool, code, d))
            self.discard(tool, d)
            d2 = self.r.new_dir(tool, "init")
            self.add(tool, "init", "fresh", rep, self.r.child(tool, "init", d2))
            self.settle(tool, d2)
            self.add(tool, "init", "existing", rep, self.r.child(tool, "init", d2))
            self.discard(tool, d2)

    # scenario 3
    def run_log(self, rep):
        for tool in self.order(rep):
            d = self.r.new_dir(tool, "log")
            self.add(tool, "log", "log", rep, self.r.child(
                tool, "log", d, n=self.a.log_calls, deadline=self.deadline(tool, self.a.log_deadline)))
            self.discard(tool, d)

    # scenarios 4, 7
    def run_bulk(self, rep):
        for tool in self.order(rep):
            lim = self.bulk_limited.get(tool)
            if lim is not None and tool not in self.a.max_steps_for:
                # one run that ran out of its budget says what there is to say; the
                # repetitions would only spend the same budget again
                self.add(tool, "bulk", "bulk", rep, {"ok": False, "skipped": True, "error": (
                    f"measured once: its first run was cut short by the {lim['deadline_s']:.0f} s budget "
                    f"({lim['steps']:,} of {lim['steps_requested']:,} steps)")})
                continue
            d = self.r.new_dir(tool, "bulk")
            deadline = self.deadline(tool, self.a.bulk_deadline)
            rec = self.r.child(
                tool, "bulk", d, n=self.steps(tool, self.a.bulk_steps),
                deadline=deadline, read_timeout=self.a.read_timeout)
            rec["deadline_s"] = deadline
            self._mark_cap(rec, self.a.bulk_steps)
            rec["settle_after_exit_s"] = self.settle(tool, d)
            if rec.get("ok"):
                try:
                    rec["disk"] = load(tool).disk(d)
                except Exception as e:  # noqa: BLE001
                    rec["disk_error"] = f"{type(e).__name__}: {e}"
                if rec.get("limited"):
                    self.bulk_limited.setdefault(tool, rec)
                self.bulk_dirs[(tool, rep)] = (d, rec["run_id"])
            else:
                self.discard(tool, d)
            self.add(tool, "bulk", "bulk", rep, rec)

    # scenario 5
    def run_read(self, rep):
        for tool in self.order(rep):
            if (tool, rep) not in self.bulk_dirs:
                prev = [r for r in self.records if r["tool"] == tool and r["scenario"] == "bulk" and r["rep"] == rep]
                if prev and prev[0].get("skipped"):
                    self.add(tool, "read", "read", rep, dict(prev[0]))
                else:
                    self.add(tool, "read", "read", rep, {"ok": False, "error": "no store to read: the write scenario failed"})
                continue
            d, rid = self.bulk_dirs.pop((tool, rep))
            self.add(tool, "read", "read", rep, self.r.child(tool, "read", d, run_id=rid, key="loss"))
            self.discard(tool, d)

    # scenario 6
    def run_mem(self, rep):
        for tool in self.order(rep):
            n = self.steps(tool, self.a.mem_steps)
            deadline = self.deadline(tool, self.a.mem_deadline)
            lim = self.bulk_limited.get(tool)
            if lim is not None and tool not in self.a.max_steps_for:
                rate = lim["loop_s"] / max(lim["steps"], 1)
                if deadline / rate < lim["steps_requested"]:
                    # it would not even reach the 200k steps of the write scenario: nothing to learn
                    msg = (f"skipped: its {lim['steps_requested']:,}-step run was cut short by the deadline "
                           f"({lim['steps']:,} steps in {lim['loop_s']:.0f} s), so {n:,} steps would take "
                           f"about {rate * n / 60:.0f} min of logging alone")
                    self.add(tool, "mem", "steps", rep, {"ok": False, "skipped": True, "error": msg})
                    continue
            d = self.r.new_dir(tool, "mem0")
            self.add(tool, "mem", "empty", rep, self.r.child(tool, "mem", d, n=0))
            self.discard(tool, d)
            d = self.r.new_dir(tool, "mem")
            rec = self.r.child(tool, "mem", d, n=n, deadline=deadline)
            rec["deadline_s"] = deadline
            self._mark_cap(rec, self.a.mem_steps)
            self.settle(tool, d)
            if rec.get("ok"):
                rec["disk"] = load(tool).disk(d)
            self.add(tool, "mem", "steps", rep, rec)
            self.discard(tool, d)

    def run(self):
        a = self.a
        sc = a.scenarios
        if "import" in sc:
            self.run_import()
        reps = max(a.repeats if sc & {"init", "log"} else 0,
                   a.heavy_repeats if sc & {"bulk", "read"} else 0,
                   a.mem_repeats if "mem" in sc else 0)
        for rep in range(reps):
            print(f"repetition {rep + 1}/{reps} (order: {', '.join(self.order(rep))}), "
                  f"{(time.time() - self.t0) / 60:.1f} min in", flush=True)
            if rep < a.repeats:
                if "init" in sc:
                    self.run_init(rep)
                if "log" in sc:
                    self.run_log(rep)
            if rep < a.heavy_repeats and sc & {"bulk", "read"}:
                self.run_bulk(rep)
                if "read" in sc:
                    self.run_read(rep)
                else:
                    for (tool, r), (d, _rid) in list(self.bulk_dirs.items()):
                        self.discard(tool, d)
                        del self.bulk_dirs[(tool, r)]
            if rep < a.mem_repeats and "mem" in sc:
                self.run_mem(rep)


# ------------------------------------------------------------------ summary


def _ok(records, tool, scenario, variant=None):
    return [r for r in records if r["tool"] == tool and r["scenario"] == scenario
            and (variant is None or r["variant"] == variant) and r.get("ok")]


def _failed(records, tool, scenario, variant=None):
    return [r for r in records if r["tool"] == tool and r["scenario"] == scenario
            and (variant is None or r["variant"] == variant) and not r.get("ok")]


class Cell:
    """One summarised number: value (None when unavailable) and how it was had."""

    def __init__(self, value=None, n=0, lo=None, hi=None, note=None, limited=False, failed=None):
        self.value, self.n, self.lo, self.hi = value, n, lo, hi
        self.note, self.limited, self.failed = note, limited, failed


def _med(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return None
    return Cell(statistics.median(vals), len(vals), min(vals), max(vals))


METRICS = [
    # key, label ({B}/{P}/{M}/{L}: sizes from the command line), unit, target for tracklet, normalised
    ("import_ms", "`import` (best, above bare python)", "ms", 50, True),
    ("init_ms", "init() call, 10-key config, existing store", "ms", 20, True),
    ("init_fresh_ms", "init() call, first run in a new store", "ms", None, True),
    ("proc_ms", "empty run, process start to exit, above bare python", "ms", 100, True),
    ("proc_fresh_ms", "empty run, process, first run in a new store", "ms", None, True),
    ("log_median_us", "log() of 10 floats, median per call ({L} calls)", "µs", 10, True),
    ("log_p99_us", "log() of 10 floats, p99 per call", "µs", 50, True),
    ("bulk_us_step", "{B} steps x 3 floats: loop time per step", "µs", None, True),
    ("bulk_loop_s", "{B} steps x 3 floats: logging loop", "s", None, False),
    ("bulk_finish_s", "{B} steps: finish()", "s", None, False),
    ("readable_s", "{P} points readable, counted from finish() returning", "s", 2, False),
    ("read_s", "read the {B}-point history of one metric (fresh process)", "s", 0.5, False),
    ("rss_mb", "peak RSS of the python process, {M} steps x 3 minus empty run", "MB", 50, False),
    ("helper_rss_mb", "peak RSS of helper processes, {M} steps minus empty run", "MB", None, False),
    ("all_rss_mb", "peak RSS, python + helper processes, {M} steps minus empty run", "MB", None, False),
    ("mem_finish_s", "{M} steps: finish()", "s", None, False),
    ("mem_loop_s", "{M} steps x 3 floats: logging loop", "s", None, False),
    ("bytes_point", "store bytes per scalar point (after the {B}-step run)", "B", 40, True),
    ("db_bytes_point", "of which the SQLite database file alone", "B", None, True),
    ("sqlite_wal_bytes_point", "of which its SQLite -wal file", "B", None, True),
    ("wal_bytes_point", "write-ahead-log bytes per point (tracklet's runs/)", "B", None, True),
    ("total_bytes_point", "whole store folder (store, logs, files), bytes per point", "B", 40, True),
]


def _human(n):
    for div, suf in ((1_000_000, "M"), (1_000, "k")):
        if n >= div and n % (div // 10) == 0:
            v = n / div
            return f"{v:g}{suf}"
    return f"{n:,}"


def labels(a):
    sizes = {"B": _human(a.bulk_steps), "P": _human(a.bulk_steps * BULK_POINTS_PER_STEP),
             "M": _human(a.mem_steps), "L": f"{a.log_calls:,}"}
    return {m[0]: m[1].format(**sizes) for m in METRICS}


METRIC = {m[0]: m for m in METRICS}
# below these, a reference value is within measurement noise and no ratio is shown
RATIO_FLOOR = {"rss_mb": 2.0, "all_rss_mb": 2.0, "helper_rss_mb": 2.0, "import_ms": 2.0, "proc_ms": 5.0}


def summarise(records, tools):
    cells = {}
    bare_imp = [r["wall_s"] for r in records if r["tool"] == "bare" and r["scenario"] == "import" and r.get("ok")]
    # every `python -c pass` sample (import phase and next to each empty-run measurement)
    bare_proc = [r["wall_s"] for r in records if r["tool"] == "bare" and r.get("ok")]
    bare_imp_best = min(bare_imp) if bare_imp else None
    bare_proc_med = statistics.median(bare_proc) if bare_proc else None

    def failcell(fails):
        if not fails:
            return Cell()
        f = fails[0]
        return Cell(failed=f.get("error", "failed"), note="skipped" if f.get("skipped") else None)

    for t in tools:
        c = {}
        imp = _ok(records, t, "import")
        if imp and bare_imp_best is not None:
            walls = [r["wall_s"] for r in imp]
            c["import_ms"] = Cell((min(walls) - bare_imp_best) * 1e3, len(walls),
                                  (min(walls) - bare_imp_best) * 1e3, (max(walls) - bare_imp_best) * 1e3)
        else:
            c["import_ms"] = failcell(_failed(records, t, "import"))
        for key, variant in (("init_ms", "existing"), ("init_fresh_ms", "fresh")):
            cell = _med([r["init_s"] * 1e3 for r in _ok(records, t, "init", variant)])
            c[key] = cell or failcell(_failed(records, t, "init", variant))
        for key, variant in (("proc_ms", "existing"), ("proc_fresh_ms", "fresh")):
            rs = _ok(records, t, "proc", variant)
            if rs and bare_proc_med is not None:
                c[key] = _med([(r["wall_s"] - bare_proc_med) * 1e3 for r in rs])
            else:
                c[key] = failcell(_failed(records, t, "proc", variant))
        logs = _ok(records, t, "log")
        for key, field in (("log_median_us", "median_us"), ("log_p99_us", "p99_us")):
            cell = _med([r[field] for r in logs])
            if cell:
                if any(r.get("limited") for r in logs):
                    cell.limited = True
                    cell.note = f"{min(r['calls'] for r in logs):,} calls (time budget)"
            c[key] = cell or failcell(_failed(records, t, "log"))
        bulk_all = _ok(records, t, "bulk")
        bulk_full = [r for r in bulk_all if not r.get("limited")]
        # sizes differ between a complete run and one cut short: the complete runs are the
        # ones reported, unless there is none (then the cut-short figures, marked as such)
        bulk = bulk_full or bulk_all
        limited = bool(bulk_all) and not bulk_full
        lim_note = (f"{min(r['steps'] for r in bulk):,} of {bulk[0]['steps_requested']:,} steps (time budget)"
                    if limited else None)
        left_out = len(bulk_all) - len(bulk_full) if bulk_full else 0
        left_note = f"{left_out} of {len(bulk_all)} runs were cut short by the time budget and are left out" if left_out else None
        for key, field, norm in (("bulk_us_step", "loop_us_per_step", True), ("bulk_loop_s", "loop_s", False),
                                 ("bulk_finish_s", "finish_s", False)):
            cell = _med([r[field] for r in (bulk_all if norm else bulk)])
            if cell and limited and not norm:
                cell.limited, cell.note = True, lim_note
            elif cell and left_note and not norm:
                cell.note = left_note
            c[key] = cell or failcell(_failed(records, t, "bulk"))
        readable = [r for r in bulk if r.get("readable_s") is not None]
        if readable:
            cell = _med([r["readable_s"] for r in readable])
            if limited:
                cell.limited, cell.note = True, lim_note
            elif left_note:
                cell.note = left_note
            if len(readable) < len(bulk):
                cell.note = (cell.note + "; " if cell.note else "") + f"{len(bulk) - len(readable)} run(s) never complete"
            c["readable_s"] = cell
        elif bulk:
            c["readable_s"] = Cell(failed=bulk[0].get("readable_error", "never readable"))
        else:
            c["readable_s"] = failcell(_failed(records, t, "bulk"))
        reads_all = _ok(records, t, "read")
        nominal = bulk_all[0]["steps_requested"] if bulk_all else 0
        reads_full = [r for r in reads_all if r["points"] >= nominal]
        reads = reads_full or reads_all
        cell = _med([r["read_s"] for r in reads])
        if cell:
            pts = min(r["points"] for r in reads)
            if pts < nominal:
                cell.limited, cell.note = True, f"{pts:,} points"
            elif len(reads) < len(reads_all):
                cell.note = f"{len(reads_all) - len(reads)} of {len(reads_all)} reads were of a run cut short and are left out"
        c["read_s"] = cell or failcell(_failed(records, t, "read"))
        disks = [r for r in bulk_all if "disk" in r]  # measured after background ingest settled
        pts = [r["steps"] * BULK_POINTS_PER_STEP for r in disks]
        for key, field in (("bytes_point", "store"), ("db_bytes_point", "store_db_file"),
                           ("sqlite_wal_bytes_point", "store_sqlite_wal"), ("wal_bytes_point", "wal"),
                           ("total_bytes_point", "total")):
            vals = [r["disk"][field] / p for r, p in zip(disks, pts) if field in r["disk"] and p]
            cell = _med(vals)
            optional = key in ("wal_bytes_point", "db_bytes_point", "sqlite_wal_bytes_point")
            c[key] = cell or (Cell() if optional and disks else failcell(_failed(records, t, "bulk")))
        empty = _ok(records, t, "mem", "empty")
        full = _ok(records, t, "mem", "steps")
        if empty and full:
            e = statistics.median(r["rss_self_bytes"] for r in empty)
            eh = statistics.median(r["rss_children_bytes"] for r in empty)
            cell = _med([(r["rss_self_bytes"] - e) / 1e6 for r in full])
            h = _med([(r["rss_children_bytes"] - eh) / 1e6 for r in full])
            both = _med([(r["rss_self_bytes"] + r["rss_children_bytes"] - e - eh) / 1e6 for r in full])
            fin = _med([r["finish_s"] for r in full])
            loop = _med([r["loop_s"] for r in full])
            if any(r.get("limited") for r in full):
                note = f"{min(r['steps'] for r in full):,} of {full[0]['steps_requested']:,} steps"
                for x in (cell, h, both, fin, loop):
                    x.limited, x.note = True, note
            c["rss_mb"], c["helper_rss_mb"], c["all_rss_mb"] = cell, h, both
            c["mem_finish_s"], c["mem_loop_s"] = fin, loop
        else:
            f = failcell(_failed(records, t, "mem", "steps") or _failed(records, t, "mem", "empty"))
            for k in ("rss_mb", "helper_rss_mb", "all_rss_mb", "mem_finish_s", "mem_loop_s"):
                c[k] = f
        cells[t] = c
    return cells, {"bare_import_best_s": bare_imp_best, "bare_proc_median_s": bare_proc_med,
                   "bare_samples": len(bare_proc)}


# ------------------------------------------------------------------ report


def _fmt(v, unit):
    if v is None:
        return "—"
    a = abs(v)
    if unit == "s":
        return f"{v:.3f} s" if a < 10 else f"{v:.1f} s"
    if unit == "B":
        return f"{v:.1f} B" if a < 100 else f"{v:,.0f} B"
    if a >= 100:
        return f"{v:,.0f} {unit}"
    if a >= 10:
        return f"{v:.1f} {unit}"
    return f"{v:.2f} {unit}"


def _short_err(s, n=70):
    s = " ".join(str(s).split())
    return s if len(s) <= n else s[: n - 1] + "…"


def render(a, cells, base, tools, env_info, started, elapsed, footnotes_from_records):
    ref = "tracklet" if "tracklet" in tools else None
    lab = labels(a)
    lines = []
    w = lines.append
    cmd = " ".join(shlex.quote(x) for x in env_info["argv"])
    w(SECTION + ": tracklet vs wandb (offline) vs MLflow (local) vs Trackio (local)")
    w("")
    w(f"Command (run from {env_info['cwd']}):")
    w("")
    w("```")
    w(cmd)
    w("```")
    w("")
    w(f"Run {started} on `{env_info['machine']['host_summary']}`; took {elapsed / 60:.1f} min. "
      f"Repetitions: init/log {a.repeats}, {_human(a.bulk_steps)}-step write/read {a.heavy_repeats}, "
      f"{_human(a.mem_steps)}-step memory {a.mem_repeats}, "
      f"import best of {a.import_repeats}{' (--quick)' if a.quick else ''}. Every number is the median over repetitions "
      f"(import: best), each measured in a fresh process with its own store.")
    w("")
    footnotes = []

    def note_ref(text):
        if text not in footnotes:
            footnotes.append(text)
        return f"[^core-{footnotes.index(text) + 1}]"

    # ratios
    w("## Ratios")
    w("")
    if ref:
        w("Each tool's number divided by tracklet's (lower is better in every row, so **×8.0 means 8 times slower "
          "or bigger than tracklet**). `≥` marks a tool whose run was cut short by its time budget: it stored fewer "
          "points than the others, so its full-size figure would be at least as large.")
    else:
        w("tracklet was not measured; each number is divided by the best tool's number in its row.")
    w("")
    ratio_keys = ["import_ms", "init_ms", "proc_ms", "log_median_us", "log_p99_us", "bulk_us_step",
                  "bulk_finish_s", "readable_s", "read_s", "rss_mb", "all_rss_mb", "mem_finish_s", "bytes_point",
                  "total_bytes_point"]
    w("| metric | " + " | ".join(tools) + " |")
    w("|---|" + "---:|" * len(tools))
    for key in ratio_keys:
        _k, _label, unit, _target, _norm = METRIC[key]
        label = lab[key]
        row = []
        if ref:
            refc = cells[ref][key]
            refv = refc.value
        else:
            vals = [cells[t][key].value for t in tools if cells[t][key].value is not None and cells[t][key].value > 0]
            refv = min(vals) if vals else None
            refc = None
        for t in tools:
            c = cells[t][key]
            if c.value is None:
                row.append("failed" if c.failed and not c.note else (c.note or "—"))
            elif t == ref:
                row.append("1 (" + _fmt(c.value, unit) + ")")
            elif refv is None or (refc is not None and refc.value is None):
                row.append("—")
            elif refv < RATIO_FLOOR.get(key, 0) or refv <= 0:
                # a difference this close to zero makes a ratio meaningless: show the value
                row.append(("≥" if c.limited else "") + _fmt(c.value, unit) + " (tracklet ≈ 0)")
            else:
                r = c.value / refv
                row.append(("≥" if c.limited else "") + (f"×{r:,.0f}" if r >= 100 else f"×{r:.1f}" if r >= 10 else f"×{r:.2f}"))
        w(f"| {label} | " + " | ".join(row) + " |")
    w("")

    # absolute
    w("## Absolute numbers")
    w("")
    w("Median (range over repetitions in brackets when there was more than one). `—` = not applicable.")
    w("")
    w("| metric | " + " | ".join(tools) + " |")
    w("|---|" + "---:|" * len(tools))
    for key, _label, unit, _target, _norm in METRICS:
        label = lab[key]
        if key in ("wal_bytes_point", "db_bytes_point", "sqlite_wal_bytes_point") and all(
                cells[t][key].value is None for t in tools):
            continue
        row = []
        for t in tools:
            c = cells[t][key]
            if c.value is None:
                if c.failed:
                    tag = "skipped" if c.note == "skipped" else "**failed**"
                    row.append(f"{tag}{note_ref(f'{t}: {c.failed}')}")
                else:
                    row.append("—")
                continue
            s = _fmt(c.value, unit)
            if c.n > 1 and c.lo is not None and key not in ("import_ms",):
                s += f" ({_fmt(c.lo, unit).split()[0]}–{_fmt(c.hi, unit)})"
            if c.limited or c.note:
                s += note_ref(f"{t}: {c.note}" if c.note else f"{t}: cut short by its time budget")
            row.append(s)
        w(f"| {label} | " + " | ".join(row) + " |")
    w("")
    b = base
    if b["bare_import_best_s"] is not None:
        w(f"Bare `python -c pass`: best {b['bare_import_best_s'] * 1e3:.1f} ms (subtracted from the import row); median "
          f"{b['bare_proc_median_s'] * 1e3:.1f} ms over {b['bare_samples']} samples (subtracted from the empty-run rows)."
          if b["bare_proc_median_s"] is not None else
          f"Bare `python -c pass`: best {b['bare_import_best_s'] * 1e3:.1f} ms (subtracted from the import row).")
        w("")

    # targets
    if "tracklet" in tools:
        w("## tracklet against its targets")
        w("")
        w("| metric | target | tracklet | |")
        w("|---|---:|---:|---|")
        for key, _label, unit, target, _norm in METRICS:
            label = lab[key]
            if target is None:
                continue
            c = cells["tracklet"][key]
            if c.value is None:
                verdict = "**not measured**" + (f": {_short_err(c.failed, 120)}" if c.failed else "")
                val = "—"
            else:
                val = _fmt(c.value, unit)
                verdict = "meets" if c.value <= target and not c.limited else "**MISSES**"
            w(f"| {label} | ≤ {_fmt(target, unit)} | {val} | {verdict} |")
        w("")

    # failures and limits
    w("## Failures, limits and skipped measurements")
    w("")
    probs = footnotes_from_records
    if probs:
        for p in probs:
            w(f"- {p}")
    else:
        w("None: every measurement of every tool completed.")
    w("")

    # machine and versions
    m = env_info["machine"]
    w("## Machine")
    w("")
    for k, v in m["items"]:
        w(f"- {k}: {v}")
    w("")
    w("## Versions")
    w("")
    w("| package | version |")
    w("|---|---|")
    for k, v in env_info["versions"]:
        w(f"| {k} | {v} |")
    w("")

    # how each tool ran
    w("## How each tool is run, stored and read")
    w("")
    for t in tools:
        ad = load(t)
        w(f"- **{t}**: store: {ad.STORE_DESC}. Read API timed: {ad.READ_API}.")
        for note in getattr(ad, "NOTES", ()):
            w(f"  - {note}")
    w("")
    w("## Method")
    w("")
    w(f"""- **import**: wall time of `python -c "import X"` minus `python -c pass`, best of {a.import_repeats}, interleaved.
- **init**: time of the init call alone, in a process that has already imported the tool, with a 10-key config
  (MLflow: `set_experiment` + `start_run` + `log_params`). "existing store": the second run written to the store
  (what every run after the first sees); "new store": the first run, which creates the store.
- **empty run, process**: wall time of `python -c "import X; init; finish"` until the process has exited, minus the
  median `python -c pass`.
- **log()**: {a.log_calls:,} calls of `log({{10 floats}}, step=i)`, each timed with `perf_counter_ns` (the dict is
  built outside the timed region); median and p99 of the calls. A tool still looping after {a.log_deadline:.0f} s
  is stopped and its statistics are taken over the calls it made.
- **{_human(a.bulk_steps)} steps**: {a.bulk_steps:,} steps of `log({{3 floats}}, step=i)`; the whole loop is timed, then `finish()`,
  then the tool's reader is polled (a fresh reader every poll) until all points are returned; "readable" is the
  time from `finish()` returning to the end of the first complete read. Loop budget {a.bulk_deadline:.0f} s; a tool
  that runs out of it is measured once, not repeated.
- **read**: a fresh process reads the full history of one metric of that run (time of the read call, reader
  construction included, import excluded).
- **memory**: `ru_maxrss` of the child process after a {a.mem_steps:,}-step x 3-metric run minus that of an empty
  run. Helper processes are reported separately: after `finish()` and after any background ingest has settled, the
  peak RSS (`VmHWM`) of every live descendant (wandb-core, tracklet's ingest worker) plus `RUSAGE_CHILDREN` for
  those already exited, again minus the empty run's. Loop budget {a.mem_deadline:.0f} s; skipped for a tool whose
  {_human(a.bulk_steps)}-step run showed that it would not reach even {a.bulk_steps:,} steps in that budget.
- **disk**: the tool's store after the {_human(a.bulk_steps)}-step run, divided by the points written. For SQLite stores
  the database file and its `-wal` file are counted together and also shown apart (SQLite does not shrink a
  `-wal` file after a checkpoint; it reuses it); tracklet's own write-ahead logs under `runs/` are separate;
  "whole run directory" counts every file the run left.
{_preload_note(env_info["machine"].get("preloaded", []))}- Each tool runs with its defaults apart from what keeps it local and quiet (offline mode, store location,
  telemetry and error reporting off). HOME points into the temp dir, so no stored credential is found.""")
    w("")
    if footnotes:
        for i, text in enumerate(footnotes, 1):
            w(f"[^core-{i}]: {_short_err(text, 600)}")
        w("")
    return "\n".join(lines)


def _preload_note(preloaded):
    finders = [m for m in preloaded if m.startswith("__editable__")]
    if not finders:
        return ""
    notable = [m for m in ("pathlib", "re", "fnmatch", "importlib.util", "urllib.parse", "ipaddress", "enum")
               if m in preloaded]
    return (f"- The editable install's import hook (`{finders[0]}`, loaded from a .pth file) runs at the start of\n"
            f"  every interpreter in this venv, bare python included, and imports {', '.join(notable)}. Those\n"
            f"  modules are therefore free for every tool's `import`; in a clean environment they add about\n"
            f"  10-15 ms to whichever import needs them first.\n")


def problems(records, tools):
    out = []
    seen = set()
    for r in records:
        t = r["tool"]
        if t == "bare":
            continue
        key = None
        if not r.get("ok"):
            key = (t, r["scenario"], r.get("error"))
            msg = f"**{t}**, {r['scenario']}/{r['variant']}: {_short_err(r.get('error', 'failed'), 500)}"
        elif r.get("limited"):
            key = (t, r["scenario"], r["variant"], "limited")
            what = "calls" if r["scenario"] == "log" else "steps"
            done = r.get("calls", r.get("steps"))
            req = r.get("calls_requested", r.get("steps_requested"))
            if r.get("capped_at"):
                msg = (f"**{t}**, {r['scenario']}: capped at {r['capped_at']:,} of {req:,} {what} by --max-steps-for"
                       + (f", and cut short by its time budget after {done:,}" if done < r["capped_at"] else ""))
            else:
                msg = (f"**{t}**, {r['scenario']}: cut short by its time budget after {done:,} of {req:,} {what} "
                       f"({r['loop_s']:.0f} s of logging)")
        elif r.get("exit_note"):
            key = (t, r["scenario"], r["variant"], "exit")
            msg = f"**{t}**, {r['scenario']}/{r['variant']}: {_short_err(r['exit_note'], 400)}"
        elif r["scenario"] == "bulk" and r.get("readable_error"):
            key = (t, "bulk", "readable")
            msg = f"**{t}**, readable after finish: {r['readable_error']}"
        if key and key not in seen:
            seen.add(key)
            out.append(msg)
    return out


# ------------------------------------------------------------------ environment


def machine_info(py):
    items = []
    cpu, mem = H.cpu_and_memory()
    ncpu = os.cpu_count()
    items.append(("CPU", f"{cpu}, {ncpu} logical cores (os.cpu_count)"))
    if mem:
        items.append(("memory", f"{mem:.1f} GiB"))
    items.append(("OS", f"{platform.platform()}"))
    try:
        la = os.getloadavg()
        items.append(("load average at start", f"{la[0]:.2f} {la[1]:.2f} {la[2]:.2f}"))
    except OSError:
        pass
    items.append(("temp dir (stores)", H.temp_filesystem(tempfile.gettempdir())))
    pyv = subprocess.run([py, "-c", "import sys, sqlite3; print(sys.version.split()[0], sqlite3.sqlite_version)"],
                         capture_output=True, text=True).stdout.split()
    items.append(("Python", f"{pyv[0] if pyv else '?'} ({py})"))
    summary = f"{cpu}, {ncpu} cores" + (f", {mem:.0f} GiB" if mem else "")
    # what every interpreter of this venv has imported before running any code: an
    # editable install's finder (a .pth hook) pulls in pathlib, re, urllib.parse, ...
    pre = subprocess.run([py, "-c", "import sys, json; print(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True).stdout
    try:
        preloaded = json.loads(pre)
    except ValueError:
        preloaded = []
    return {"items": items, "host_summary": summary, "sqlite": pyv[1] if len(pyv) > 1 else "?",
            "python": pyv[0] if pyv else "?", "preloaded": preloaded}


def versions(py, tools, sqlite_version, python_version):
    code = (
        "import importlib.metadata as m, json\n"
        "out = {}\n"
        "for n in ['tracklet', 'wandb', 'mlflow', 'mlflow-skinny', 'trackio', 'sqlalchemy', 'protobuf', 'orjson', 'psutil']:\n"
        "    try: out[n] = m.version(n)\n"
        "    except m.PackageNotFoundError: out[n] = None\n"
        "print(json.dumps(out))\n"
    )
    res = subprocess.run([py, "-c", code], capture_output=True, text=True)
    try:
        v = json.loads(res.stdout)
    except ValueError:
        v = {}
    rows = []
    for n in ("tracklet", "wandb", "mlflow", "trackio"):
        ver = v.get(n) or "not installed"
        if n == "tracklet" and v.get(n):
            ver += f" (editable, {_git_rev()})"
        if n in tools or n == "tracklet":
            rows.append((n, ver))
    for n in ("mlflow-skinny", "sqlalchemy", "protobuf", "orjson", "psutil"):
        if v.get(n):
            rows.append((n, v[n]))
    rows.append(("python", python_version))
    rows.append(("SQLite (python's sqlite3)", sqlite_version))
    return rows


def _display_path(path):
    rel = os.path.relpath(path, os.getcwd())
    return rel if not rel.startswith("../..") else path


def _display_cwd():
    cwd = os.getcwd()
    if os.path.abspath(cwd) == REPO:
        return "the repository root"
    rel = os.path.relpath(cwd, REPO)
    return f"`{rel}` in the repository" if not rel.startswith("..") else f"`{cwd}`"


def _git_rev():
    try:
        rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
        if rev.returncode != 0:
            return "no commit yet"
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", "core_client", "pyproject.toml"],
                               capture_output=True, text=True).stdout.strip()
        return f"git {rev.stdout.strip()}" + (" + uncommitted changes" if dirty else "")
    except OSError:
        return "git unavailable"


# ------------------------------------------------------------------ main


def raw_path(out):
    return os.path.splitext(out)[0] + "-core.json"


def render_only(a):
    with open(a.render_only) as f:
        saved = json.load(f)
    args = saved.get("args")
    if args is None:  # saved before "args" was recorded: the command line after the script
        args = saved["argv"][2:]
    args = [x for x in args if not x.startswith("--render-only")]
    orig = parse_args(args + ["--python", sys.executable])
    env_info = {"argv": saved["argv"], "cwd": saved.get("cwd", "the repository root"),
                "machine": saved["machine"], "versions": [tuple(v) for v in saved["versions"]]}
    records = saved["records"]
    cells, base = summarise(records, orig.tools)
    probs = problems(records, orig.tools)
    if saved.get("interrupted"):
        probs.insert(0, "**The run was interrupted**: some measurements are missing.")
    md = render(orig, cells, base, orig.tools, env_info, saved["started"], saved["elapsed_s"], probs)
    H.write_section(a.out, md, SECTION)
    print(f"rewrote the '{SECTION}' section of {a.out} from {a.render_only}")
    return 0


def main(argv=None):
    a = parse_args(argv)
    if a.render_only:
        return render_only(a)
    cli_args = list(sys.argv[1:] if argv is None else argv)
    started = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    t0 = time.time()
    machine = machine_info(a.python)
    env_info = {
        "argv": [_display_path(sys.executable), sys.argv[0]] + cli_args,
        "cwd": _display_cwd(),
        "machine": machine,
        "versions": versions(a.python, a.tools, machine["sqlite"], machine["python"]),
    }
    print(f"tools: {', '.join(a.tools)}; python: {a.python}", flush=True)
    for k, v in env_info["versions"]:
        print(f"  {k}: {v}", flush=True)

    def _on_term(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _on_term)
    signal.signal(signal.SIGINT, _on_term)  # also when started in the background, where SIGINT is ignored
    b = Bench(a)
    print(f"stores under {b.tmp}; network isolation: {b.r.isolation}", flush=True)
    machine["items"].append(("network", b.r.isolation))
    interrupted = False
    try:
        b.run()
    except KeyboardInterrupt:
        interrupted = True
        print("interrupted: writing what was measured so far", flush=True)
    finally:
        if not a.keep_tmp:
            shutil.rmtree(b.tmp, ignore_errors=True)
    elapsed = time.time() - t0
    try:
        la = os.getloadavg()
        machine["items"].insert(4, ("load average at end", f"{la[0]:.2f} {la[1]:.2f} {la[2]:.2f}"))
    except OSError:
        pass
    cells, base = summarise(b.records, a.tools)
    probs = problems(b.records, a.tools)
    if interrupted:
        probs.insert(0, "**The run was interrupted**: some measurements are missing.")
    md = render(a, cells, base, a.tools, env_info, started, elapsed, probs)
    H.write_section(a.out, md, SECTION)
    raw = raw_path(a.out)
    with open(raw, "w") as f:
        json.dump({"argv": env_info["argv"], "args": cli_args, "cwd": env_info["cwd"], "started": started,
                   "elapsed_s": elapsed, "interrupted": interrupted, "machine": machine,
                   "versions": env_info["versions"], "baseline": base, "records": b.records},
                  f, indent=1, default=str)
    print(f"wrote the '{SECTION}' section of {a.out}, and {raw} ({elapsed / 60:.1f} min)")
    return 1 if interrupted else 0


if __name__ == "__main__":
    sys.exit(main())
