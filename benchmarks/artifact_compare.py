#!/usr/bin/env python3
"""Side-by-side benchmark of artifact logging: tracklet vs wandb (offline) vs MLflow
(local store) vs Trackio (local store), on one folder of random data.

    bash benchmarks/setup_compare.sh                                          # once
    benchmarks/.venv-compare/bin/python benchmarks/artifact_compare.py          # full run
    benchmarks/.venv-compare/bin/python benchmarks/artifact_compare.py --quick  # 2 repeats

For every tool, in this order, each step a fresh child process
(benchmarks/_workloads/artifacts_child.py) against the same store in a temp dir:

  1. log     log the folder as an artifact in a new run: time until the tool says it is stored
  2. relog   log the same, unchanged folder again in a new run; its time, and the bytes it
             added to the tool's folder (allocated blocks, each inode once)
  3. download  fetch the latest version from the local store into an empty folder

then tracklet's hashing alone (tracklet.artifacts.storage.hash_files, BLAKE3, fresh process) against
its digest's own tool, `b3sum` (BLAKE3 team's CLI, all cores, memory-mapped), and against
coreutils `sha256sum` (what the issue first named) over the same files. Tools are interleaved round-robin (the
starting tool rotates every repetition); every figure is the median over repetitions.
A tool that fails is reported as failed, with its error.

The folder (default 200 files, 200 MiB, os.urandom) is created once; before every
measurement dirty pages are flushed (os.sync(), untimed) and the whole folder is read
once (untimed), so the page cache is warm and no earlier write-back lands inside a
measurement. Nothing reaches the network: wandb runs with WANDB_MODE=offline, MLflow
against sqlite:///<store>/mlflow.db with its artifacts under <store>, Trackio with
TRACKIO_DIR=<store>, telemetry off, HOME inside the store; where `unshare -n` works,
every child runs in an empty network namespace. PYTHONDONTWRITEBYTECODE and the other
PYTHON* variables are removed from the children's environment, and one untimed
warm-up round per tool compiles whatever the timed runs will import.

Writes (or replaces) the "# Artifacts" section of RESULTS.md, leaving the rest of the
file as it is; --json PATH also saves the raw measurements.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shlex
import shutil
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

CHILD = os.path.join(HERE, "_workloads", "artifacts_child.py")
HASH_CONTENDERS = ("b3sum", "tracklet", "sha256sum")  # the first two are the headline pair
DEFAULT_PY = os.path.join(HERE, ".venv-compare", "bin", "python")
SECTION = "# Artifacts"
MiB = 1 << 20

# ------------------------------------------------------------------ arguments


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tools", default=",".join(TOOLS), help="comma-separated subset of %(default)s")
    p.add_argument("--quick", action="store_true", help="2 repetitions instead of 5")
    p.add_argument("--repeats", type=int, help="repetitions of log/relog/download per tool (default 5, --quick 2)")
    p.add_argument("--hash-repeats", type=int, help="samples of each hashing contender (default: --repeats)")
    p.add_argument("--files", type=int, default=200, help="files in the folder (default %(default)s)")
    p.add_argument("--mib", type=int, default=200, help="total size in MiB (default %(default)s)")
    p.add_argument("--out", default=os.path.join(HERE, "RESULTS.md"),
                   help="Markdown file whose '# Artifacts' section is written (default benchmarks/RESULTS.md)")
    p.add_argument("--json", default=None, metavar="PATH", help="also write the raw measurements here")
    p.add_argument("--python", default=None, help="interpreter with the tools installed (default benchmarks/.venv-compare)")
    p.add_argument("--network", choices=("isolate", "auto", "allow"), default="auto",
                   help="isolate: every child in `unshare -n` (needs root), fail if unavailable; "
                        "auto (default): isolate when possible; allow: offline settings only")
    p.add_argument("--child-timeout", type=float, default=300.0, help="hard limit on one child process (default %(default)s s)")
    p.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up round")
    p.add_argument("--keep-tmp", action="store_true", help="keep the temp folder (its path is printed)")
    a = p.parse_args(argv)
    a.tools = [t.strip() for t in a.tools.split(",") if t.strip()]
    for t in a.tools:
        if t not in TOOLS:
            p.error(f"unknown tool {t!r}; known: {', '.join(TOOLS)}")
    if a.repeats is None:
        a.repeats = 2 if a.quick else 5
    if a.hash_repeats is None:
        a.hash_repeats = a.repeats
    a.python = a.python or (DEFAULT_PY if os.path.exists(DEFAULT_PY) else None)
    if not a.python:
        p.error(f"{os.path.relpath(DEFAULT_PY)} missing: run `bash benchmarks/setup_compare.sh` first, or pass --python")
    return a


# ------------------------------------------------------------------ helpers


def alloc_bytes(root):
    """Bytes allocated under root (st_blocks), each inode counted once (hard links)."""
    seen, total = set(), 0
    for parent, _dirs, names in os.walk(root):
        for n in names:
            try:
                st = os.lstat(os.path.join(parent, n))
            except FileNotFoundError:
                continue
            key = (st.st_dev, st.st_ino)
            if key in seen:
                continue
            seen.add(key)
            total += st.st_blocks * 512
    return total


class Runner:
    def __init__(self, a, tmp):
        self.a, self.tmp, self.seq = a, tmp, 0
        self.prefix = []
        self.isolation = "none: offline settings only (--network allow)"
        if a.network != "allow":
            ok = bool(shutil.which("unshare")) and subprocess.run(
                ["unshare", "-n", "true"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
            if ok:
                self.prefix = ["unshare", "-n"]
                self.isolation = "every child ran in `unshare -n` (an empty network namespace): no network at all"
            elif a.network == "isolate":
                raise SystemExit("--network isolate: `unshare -n` is not available here (needs root)")
            else:
                self.isolation = "none available (`unshare -n` needs root): offline settings only"

    def env(self, tool, d):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("WANDB_", "MLFLOW_", "TRACKIO_", "TRACKLET_", "HF_", "PYTHON"))}
        home = os.path.join(d, "home")  # inside the store: whatever a tool writes there is counted
        os.makedirs(home, exist_ok=True)
        env.update(
            HOME=home,
            XDG_CONFIG_HOME=os.path.join(home, ".config"),
            XDG_CACHE_HOME=os.path.join(home, ".cache"),
            XDG_DATA_HOME=os.path.join(home, ".local", "share"),
            HF_HOME=os.path.join(home, "hf"),
            HF_HUB_OFFLINE="1",
            HF_HUB_DISABLE_TELEMETRY="1",
            DO_NOT_TRACK="true",
            MLFLOW_DISABLE_TELEMETRY="true",
            WANDB_MODE="offline",
            WANDB_SILENT="true",
            WANDB_ERROR_REPORTING="false",
            GRADIO_ANALYTICS_ENABLED="False",
            PYTHONNOUSERSITE="1",
        )
        if tool:
            env.update(load(tool).env(d))
        return env

    def spawn(self, cmd, cwd, env, isolate=True):
        self.seq += 1
        log_path = os.path.join(self.tmp, f"child-{self.seq:04d}.log")
        return H.run_logged((self.prefix if isolate else []) + cmd, cwd, env, log_path, self.a.child_timeout, keep_log=False)

    def child(self, tool, op, d, **opts):
        result = os.path.join(self.tmp, f"result-{self.seq + 1:04d}.json")
        cmd = [self.a.python, CHILD, tool, op, result, f"dir={d}"] + [f"{k}={v}" for k, v in opts.items()]
        p = self.spawn(cmd, d, self.env(tool, d))
        return {"process_wall_s": p["wall_s"], "process_cpu_s": p["cpu_s"], **H.child_record(result, p)}


# ------------------------------------------------------------------ the run


class Bench:
    def __init__(self, a):
        self.a = a
        self.tmp = tempfile.mkdtemp(prefix="tracklet-artbench-")
        self.r = Runner(a, self.tmp)
        self.records = []
        self.t0 = time.time()
        self.src = os.path.join(self.tmp, "data")
        self.paths = []

    # data -------------------------------------------------------------
    def make_data(self):
        os.makedirs(self.src)
        per = self.a.mib * MiB // self.a.files
        for i in range(self.a.files):
            p = os.path.join(self.src, f"shard-{i:04d}.bin")
            with open(p, "wb") as f:
                f.write(os.urandom(per))
            self.paths.append(p)
        os.sync()
        self.list_file = os.path.join(self.tmp, "files.txt")
        with open(self.list_file, "w") as f:
            f.write("\n".join(self.paths))
        self.data_bytes = per * self.a.files

    def prepare(self):
        """Untimed, before every measurement: flush dirty pages, then read the folder once."""
        os.sync()
        buf = bytearray(MiB)
        for p in self.paths:
            with open(p, "rb", buffering=0) as f:
                while f.readinto(buf):
                    pass

    def new_dir(self, tool, label):
        d = os.path.join(self.tmp, f"{len(self.records):04d}-{tool}-{label}-{time.monotonic_ns() % 10**6}")
        os.makedirs(d)
        return d

    def settle(self, tool, d):
        try:
            return load(tool).settle(d)
        except Exception:  # noqa: BLE001
            return None

    def drop(self, path):
        if not self.a.keep_tmp:
            shutil.rmtree(path, ignore_errors=True)

    def order(self, rep):
        t = list(self.a.tools)
        k = rep % len(t)
        return t[k:] + t[:k]

    def add(self, tool, scenario, rep, rec):
        rec = dict(rec, tool=tool, scenario=scenario, rep=rep)
        rec.pop("traceback", None) if rec.get("ok") else None
        self.records.append(rec)
        if rec.get("ok"):
            main = {"log": "stored_s", "relog": "stored_s", "download": "total_s", "hash": "hash_s"}[scenario]
            extra = ""
            if scenario in ("log", "relog") and "disk_added" in rec:
                extra = f"  +{rec['disk_added'] / MiB:.2f} MiB on disk"
            if scenario in ("log", "relog") and rec.get("log_return_s") is not None:
                extra += f"  (log_artifact returned after {rec['log_return_s']:.3f} s)"
            print(f"  [{scenario} rep {rep + 1}] {tool:9s} {rec[main]:8.3f} s{extra}", flush=True)
        else:
            print(f"  [{scenario} rep {rep + 1}] {tool:9s} FAILED: {str(rec.get('error', ''))[:200]}", flush=True)
        return rec

    # one tool's series -------------------------------------------------
    def series(self, tool, rep, record=True):
        d = self.new_dir(tool, "store")
        add = self.add if record else (lambda *a: a[-1])
        try:
            base = alloc_bytes(d)
            self.prepare()
            r1 = self.r.child(tool, "log", d, src=self.src)
            self.settle(tool, d)
            disk1 = alloc_bytes(d)
            r1["disk_after"], r1["disk_added"] = disk1, disk1 - base
            add(tool, "log", rep, r1)
            if not r1.get("ok"):
                for sc in ("relog", "download"):
                    add(tool, sc, rep, {"ok": False, "skipped": True, "error": "not run: the first log failed"})
                return
            self.prepare()
            r2 = self.r.child(tool, "log", d, src=self.src)
            self.settle(tool, d)
            disk2 = alloc_bytes(d)
            r2["disk_after"], r2["disk_added"] = disk2, disk2 - disk1
            r2["disk_added_ratio"] = (disk2 - disk1) / (disk1 - base) if disk1 > base else None
            add(tool, "relog", rep, r2)
            prev = [r for r in self.records if r["tool"] == tool and r["scenario"] == "download"
                    and not r.get("ok") and not r.get("skipped")]
            if prev and record:
                # one failure says what there is to say (wandb offline cannot download at all)
                add(tool, "download", rep, {"ok": False, "skipped": True,
                                            "error": f"not repeated: failed in repetition {prev[0]['rep'] + 1}"})
                return
            root = os.path.join(self.tmp, f"download-{tool}-{rep}-{time.monotonic_ns() % 10**6}")
            os.makedirs(root)
            run_id = (r2 if r2.get("ok") else r1).get("run_id", "")
            self.prepare()
            r3 = self.r.child(tool, "download", d, root=root, run_id=run_id)
            self.settle(tool, d)
            if r3.get("ok") and (r3.get("files") != self.a.files or r3.get("bytes") != self.data_bytes):
                r3 = dict(r3, ok=False, error=f"incomplete download: {r3.get('files')} files, {r3.get('bytes')} bytes")
            add(tool, "download", rep, r3)
            self.drop(root)
        finally:
            self.settle(tool, d)
            self.drop(d)

    # hashing -----------------------------------------------------------
    def hash_round(self, rep):
        contenders = list(HASH_CONTENDERS)
        k = rep % 2  # alternate which of the two headline contenders goes first
        for c in contenders[k:2] + contenders[:k] + contenders[2:]:
            self.prepare()
            if c == "tracklet":
                d = self.new_dir("tracklet", "hash")
                rec = self.r.child("tracklet", "hash", d, list=self.list_file)
                self.drop(d)
            else:
                if shutil.which(c) is None:
                    hint = " (apt-get install b3sum, or cargo install b3sum)" if c == "b3sum" else ""
                    self.add(c, "hash", rep, {"ok": False, "error": f"{c} is not installed{hint}"})
                    continue
                p = self.r.spawn([c, "--", *self.paths], self.tmp, dict(os.environ), isolate=False)
                rec = {"ok": p["rc"] == 0, "hash_s": p["wall_s"], "cpu_s": p["cpu_s"]}
                if not rec["ok"]:
                    rec["error"] = f"exited {p['rc']}: {H.last_line(p['out_tail'])}"
            self.add(c, "hash", rep, rec)

    def run(self):
        a = self.a
        print(f"creating {a.files} files, {a.mib} MiB of random data in {self.src}", flush=True)
        self.make_data()
        if not a.no_warmup:
            print("warm-up (untimed, not recorded): one full series per tool", flush=True)
            for tool in a.tools:
                self.series(tool, -1, record=False)
        for rep in range(a.repeats):
            print(f"repetition {rep + 1}/{a.repeats} (order: {', '.join(self.order(rep))}), "
                  f"{(time.time() - self.t0) / 60:.1f} min in", flush=True)
            for tool in self.order(rep):
                self.series(tool, rep)
            if rep < a.hash_repeats:
                self.hash_round(rep)
        for rep in range(a.repeats, a.hash_repeats):
            self.hash_round(rep)


# ------------------------------------------------------------------ summary


def _ok(records, tool, scenario):
    return [r for r in records if r["tool"] == tool and r["scenario"] == scenario and r.get("ok")]


def _fail(records, tool, scenario):
    return [r for r in records if r["tool"] == tool and r["scenario"] == scenario and not r.get("ok")]


def med(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return None
    return {"v": statistics.median(vals), "n": len(vals), "lo": min(vals), "hi": max(vals)}


def summarise(records, tools, data_bytes):
    s = {}
    for t in tools:
        c = {}
        for sc in ("log", "relog"):
            rs = _ok(records, t, sc)
            for key in ("stored_s", "add_s", "log_return_s", "wait_s", "finish_s", "through_finish_s",
                        "log_no_finish_s", "process_wall_s", "numbered_s"):
                c[f"{sc}.{key}"] = med([r.get(key) for r in rs])
            c[f"{sc}.disk_added"] = med([r.get("disk_added") for r in rs])
            c[f"{sc}.fail"] = _fail(records, t, sc)
        c["relog.disk_ratio"] = med([r.get("disk_added_ratio") for r in _ok(records, t, "relog")])
        # relog time as a fraction of the first log, paired within a repetition
        pairs = {}
        for r in _ok(records, t, "log"):
            pairs.setdefault(r["rep"], {})["log"] = r["stored_s"]
        for r in _ok(records, t, "relog"):
            pairs.setdefault(r["rep"], {})["relog"] = r["stored_s"]
        c["relog.time_ratio"] = med([p["relog"] / p["log"] for p in pairs.values() if len(p) == 2 and p["log"]])
        rs = _ok(records, t, "download")
        for key in ("total_s", "resolve_s", "download_s", "process_wall_s"):
            c[f"download.{key}"] = med([r.get(key) for r in rs])
        c["download.fail"] = _fail(records, t, "download")
        s[t] = c
    h = {}
    for c in HASH_CONTENDERS:
        rs = _ok(records, c, "hash")
        h[c] = {"wall": med([r["hash_s"] for r in rs]), "cpu": med([r.get("cpu_s") for r in rs]),
                "fail": _fail(records, c, "hash")}
    return s, h


# ------------------------------------------------------------------ report


def fs(x, unit="s"):
    if x is None:
        return "—"
    v = x["v"] if isinstance(x, dict) else x
    if unit == "s":
        return f"{v:.3f} s" if abs(v) < 10 else f"{v:.1f} s"
    if unit == "MiB":
        return f"{v / MiB:,.1f} MiB" if abs(v) >= MiB / 10 else f"{v / 1024:,.0f} KiB"
    if unit == "%":
        return f"{v * 100:.2f} %" if abs(v) < 0.1 else f"{v * 100:.0f} %"
    return f"{v}"


def fr(x, unit="s"):
    """Median with its range."""
    if x is None:
        return "—"
    if x["n"] > 1 and unit == "s":
        return f"{fs(x)} ({x['lo']:.3f}–{x['hi']:.3f})"
    return fs(x, unit)


def _short(s, n=90):
    s = " ".join(str(s).split())
    return s if len(s) <= n else s[: n - 1] + "…"


def ratio(val, ref):
    if val is None or ref is None or not ref["v"]:
        return "—"
    x = val["v"] / ref["v"]
    return f"×{x:.2f}" if x < 10 else f"×{x:.1f}"


def machine_info(py):
    cpu, mem = H.cpu_and_memory()
    return {"cpu": cpu, "cores": os.cpu_count(), "mem_gib": mem, "os": platform.platform(),
            "tmp": H.temp_filesystem(tempfile.gettempdir()), "load_start": os.getloadavg()}


def versions(py, tools):
    code = ("import importlib.metadata as md, json, sys, sqlite3\n"
            "out = {'python': sys.version.split()[0], 'sqlite': sqlite3.sqlite_version}\n"
            f"for n in {list(tools)!r}:\n"
            "    try: out[n] = md.version(n)\n"
            "    except md.PackageNotFoundError: out[n] = 'NOT INSTALLED'\n"
            "print(json.dumps(out))")
    v = json.loads(subprocess.run([py, "-c", code], capture_output=True, text=True).stdout or "{}")
    for tool in ("b3sum", "sha256sum"):
        try:
            v[tool] = subprocess.run([tool, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
        except Exception:  # noqa: BLE001
            v[tool] = "not installed"
    try:
        head = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        v["tracklet_commit"] = head + (" + uncommitted changes" if dirty else "")
    except Exception:  # noqa: BLE001
        pass
    return v


TIMED = {
    "tracklet": ("`Artifact()` + `add_dir()` + `run.log_artifact()` + `run.finish()`, the same calls as wandb's. "
                 "`log_artifact` returns at once; a background thread copies every file into `<store>/blobs` "
                 "(content-addressed, a kernel copy) and hashes the copy, then appends the version's record "
                 "to the run's log; `finish()` returns once that is done and the log is fsynced. Not in the "
                 "headline: `art.wait()` after `finish()` returns once the store's ingest worker (a separate "
                 "process, started once the version is recorded because the run logs no metric, cold in every "
                 "measurement because every store is new) has "
                 "numbered the version; that time is its own row. Download: "
                 "`Api(dir=STORE).artifact('bench/data:latest').download(ROOT)`."),
    "wandb": ("`wandb.Artifact()` + `add_dir()` + `run.log_artifact()` + `run.finish()`. From the installed wandb's "
              "source: `add_dir` (default policy \"mutable\") copies every file into the staging folder "
              "`<WANDB_DATA_DIR>/artifacts/staging` and computes its MD5, synchronously (8 threads); offline, "
              "`log_artifact` only finalizes and hands the artifact record to wandb-core, which appends it to the "
              "run's `.wandb` log; `art.wait()` raises `ArtifactNotLoggedError` offline, so `finish()` is the call "
              "that guarantees the record is written, and it is included. The files themselves are on disk when "
              "`add_dir` returns (the `Artifact()` + `add_dir()` row). Nothing is versioned or deduplicated offline: that "
              "happens at `wandb sync`. Download: offline runs cannot (`run.use_artifact` raises in offline mode, "
              "`wandb.Api()` needs a server); the attempt is made and its error reported."),
    "mlflow": ("`mlflow.log_artifacts(SRC)` inside an active run (SQLite tracking store, experiment artifact "
               "location `file://<store>/mlartifacts`): a synchronous copy of every file into the run's artifact "
               "folder, no hashing, no versions, no deduplication. Download: "
               "`mlflow.artifacts.download_artifacts(run_id=<second run>, dst_path=ROOT)` (a copy from the "
               "artifact store; MLflow keeps no separate cache)."),
    "trackio": ("`trackio.Artifact()` + `add_dir()` (lists the files) + `trackio.log_artifact()` + `art.wait()` "
                "(a documented no-op). `log_artifact` is synchronous: it reads each file once, computing SHA-256 "
                "while copying it into `<TRACKIO_DIR>/artifacts/bench/blobs/sha256/`, drops the copy when the "
                "blob already exists, then commits the version to SQLite. Download: `trackio.use_artifact("
                "'data:latest').download(ROOT)` after an untimed `trackio.init()` (Trackio has no reader "
                "without a run), a copy out of its content-addressed store."),
}


def render(a, env, s, h, tools, started, elapsed, isolation, data_bytes):
    L = []
    w = L.append
    ref = s.get("tracklet")
    cmd = " ".join(shlex.quote(x) for x in env["argv"])
    w(f"{SECTION}: tracklet vs wandb (offline) vs MLflow (local) vs Trackio (local)")
    w("")
    w("Command (run from the repository root):")
    w("")
    w("```")
    w(cmd)
    w("```")
    w("")
    m = env["machine"]
    w(f"Run {started} on `{m['cpu']}, {m['cores']} cores, {m['mem_gib']:.0f} GiB`; took {elapsed / 60:.1f} min; "
      f"load average at start {m['load_start'][0]:.2f} (a shared, noisy machine: every figure is the median of "
      f"{a.repeats} repetition(s){' (--quick)' if a.quick else ''}, range in brackets). Data: {a.files} files of "
      f"{data_bytes // a.files / MiB:g} MiB, {data_bytes / MiB:g} MiB of `os.urandom` in all, created once; page "
      f"cache warm (before every measurement: `os.sync()` to flush earlier writes, then the folder is read once, "
      f"both untimed). Every log, re-log and download runs in a fresh process; imports and `init()` are untimed "
      f"(core_compare.py measures them).")
    w("")
    w("## Ratios")
    w("")
    w("Each tool's median divided by tracklet's: **×3.0 means 3 times slower (or bigger) than tracklet**; "
      "below ×1 the tool is faster.")
    w("")
    w("| measurement | " + " | ".join(tools) + " |")
    w("|---|" + "---:|" * len(tools))
    rows = [
        ("1. log the folder, until stored (headline)", "log.stored_s", "s"),
        ("2. re-log it unchanged, new run, until stored", "relog.stored_s", "s"),
        ("3. download from the local store into an empty folder", "download.total_s", "s"),
    ]
    for label, key, unit in rows:
        cells = []
        for t in tools:
            v = s[t][key]
            if t == "tracklet":
                cells.append(f"1 ({fs(v)})" if v else _failcell(s[t], key))
            else:
                cells.append(ratio(v, ref[key] if ref else None) if v else _failcell(s[t], key))
        w(f"| {label} | " + " | ".join(cells) + " |")
    cells = []
    for t in tools:
        v, r = s[t]["relog.disk_added"], s[t]["relog.disk_ratio"]
        cells.append(f"{fs(v, 'MiB')} ({fs(r, '%')})" if v is not None and r is not None else _failcell(s[t], "relog.stored_s"))
    w("| 2b. disk added by the unchanged re-log (% of the first log's; absolute, not a ratio) | " + " | ".join(cells) + " |")
    w("")
    w("## Absolute numbers")
    w("")
    w("| measurement | " + " | ".join(tools) + " |")
    w("|---|" + "---:|" * len(tools))

    def row(label, key, unit="s", rng=True):
        cells = [(fr(s[t][key], unit) if rng else fs(s[t][key], unit)) if s[t][key] is not None
                 else _failcell(s[t], key) for t in tools]
        w(f"| {label} | " + " | ".join(cells) + " |")

    row("**1. log, until stored (headline)**", "log.stored_s")
    row("  of which `Artifact()` + `add_dir()`", "log.add_s")
    row("  of which the `log_artifact()` call, until it returns (tracklet: asynchronous, "
        "storing goes on until `finish()`; not the headline)", "log.log_return_s")
    row("  of which `art.wait()` (Trackio: a no-op)", "log.wait_s")
    row("  `finish()` / `end_run()` (tracklet and wandb: part of the headline)", "log.finish_s")
    row("  from the first artifact call to `finish()` returned", "log.through_finish_s")
    row("  whole process, start to exit (with import and init)", "log.process_wall_s")
    row("  disk the first log added to the tool's folder", "log.disk_added", "MiB", rng=False)
    row("  from the first artifact call until the version number is known (tracklet: `art.wait()` after "
        "`finish()`, the store's worker numbering it; Trackio: inside `log_artifact`; wandb offline and "
        "MLflow number nothing)", "log.numbered_s")
    row("**2. re-log unchanged, new run, until stored**", "relog.stored_s")
    row("  of which the `log_artifact()` call, until it returns", "relog.log_return_s")
    row("  re-log time / first-log time (per repetition)", "relog.time_ratio", "%", rng=False)
    row("  disk the re-log added", "relog.disk_added", "MiB", rng=False)
    row("  disk the re-log added / disk of the first log", "relog.disk_ratio", "%", rng=False)
    row("**3. download from the local store, until done**", "download.total_s")
    row("  of which finding the artifact (resolve)", "download.resolve_s")
    row("  of which copying the files", "download.download_s")
    row("  whole process, start to exit", "download.process_wall_s")
    if "wandb" in tools and s["wandb"]["log.add_s"] is not None:
        w("")
        w(f"wandb's files are staged (copied and MD5-hashed into its data folder) when `add_dir` returns: "
          f"{fs(s['wandb']['log.add_s'])} for the first log; `log_artifact` + `finish()` add the rest.")
    if "trackio" in tools and s["trackio"]["log.stored_s"] is not None:
        t = s["trackio"]
        w("")
        w(f"For comparison with the 0.51 s the issue quotes for Trackio: here Trackio's first log took "
          f"{fs(t['log.stored_s'])} (its synchronous `log_artifact` alone {fs(t['log.log_return_s'])}), "
          f"its unchanged re-log {fs(t['relog.stored_s'])} and its download {fs(t['download.total_s'])}.")
    w("")
    w("### 4. Hashing throughput")
    w("")
    w("| contender | wall (median) | MiB/s | CPU time | share of `b3sum`'s throughput |")
    w("|---|---:|---:|---:|---:|")
    base = h.get("b3sum", {}).get("wall")
    labels = {"b3sum": "`b3sum FILES` (BLAKE3's own tool: all cores, memory-mapped reads)",
              "tracklet": "tracklet `hash_files(paths)` (BLAKE3, a thread per core, no digest cache; fresh process, import untimed)",
              "sha256sum": "`sha256sum FILES` (coreutils SHA-256, one process; the issue's first yardstick)"}
    for c in HASH_CONTENDERS:
        x = h.get(c)
        if not x or x["wall"] is None:
            err = x["fail"][0].get("error", "failed") if x and x["fail"] else "not measured"
            w(f"| {labels[c]} | failed: {_short(err)} | | | |")
            continue
        mibs = data_bytes / MiB / x["wall"]["v"]
        share = f"{base['v'] / x['wall']['v'] * 100:.0f} %" if base else "—"
        w(f"| {labels[c]} | {fr(x['wall'])} | {mibs:,.0f} | {fs(x['cpu'])} | {share} |")
    w("")
    # targets
    w("## tracklet against its targets")
    w("")
    for line in targets(s, h, tools):
        w(f"- {line}")
    w("")
    fails = failures(s, h, tools)
    if fails:
        w("## Failures and impossible measurements")
        w("")
        for f in fails:
            w(f"- {f}")
        w("")
    w("## What was timed for each tool")
    w("")
    for t in tools:
        w(f"- **{t}**: {TIMED[t]}")
    w("- **re-log**: a new process and a new run against the same store, logging the same unchanged folder "
      "(same paths, same mtimes) under the same artifact name. Disk is the tool's whole folder (store, "
      "temp dir, HOME), allocated blocks with each inode counted once, measured after background work "
      "settled (tracklet: its ingest worker's `active/` marker gone).")
    w("- **hashing**: tracklet's `hash_files` runs in a fresh process (import untimed) and is timed in-process "
      "(`perf_counter`; CPU time is `time.process_time()` around the call, all threads); `b3sum` and `sha256sum` are timed "
      "as a whole process from spawn to exit (its start-up is about a millisecond), CPU time from the "
      "process's rusage. Page cache warm for both.")
    w("")
    w("## Versions and machine")
    w("")
    v = env["versions"]
    w("| | |")
    w("|---|---|")
    for k in ("tracklet", "tracklet_commit", "wandb", "mlflow", "trackio", "python", "sqlite", "b3sum", "sha256sum"):
        if k in v:
            w(f"| {k} | {v[k]} |")
    w(f"| CPU | {m['cpu']}, {m['cores']} logical cores |")
    w(f"| OS | {m['os']} |")
    w(f"| temp dir (stores, data) | {m['tmp']} |")
    w(f"| network | {isolation} |")
    w("")
    w("Raw measurements: " + (f"`{os.path.relpath(a.json, REPO)}`." if a.json else
                              "not saved (pass `--json PATH`)."))
    w("")
    return "\n".join(L)


def _failcell(c, key):
    sc = key.split(".")[0]
    f = c.get(f"{sc}.fail") or []
    if f:
        return "failed" if not f[0].get("skipped") else "not run"
    return "—"


def targets(s, h, tools):
    out = []
    t = s.get("tracklet")
    if t is None:
        return ["tracklet was not measured."]

    def mark(ok):
        return "**PASS**" if ok else "**MISS**"

    lg = t["log.stored_s"]
    if lg:
        for other, factor in (("wandb", 2.0), ("trackio", 2.0), ("mlflow", 1.0)):
            if other not in tools:
                continue
            o = s[other]["log.stored_s"]
            if o is None:
                out.append(f"(1) vs {other}: {other} failed, no comparison.")
                continue
            speed = o["v"] / lg["v"]
            if factor > 1:
                out.append(f"(1) log ≥ 2× faster than {other}: {mark(speed >= factor)} — tracklet {fs(lg)}, "
                           f"{other} {fs(o)}: tracklet is {speed:.2f}× {'faster' if speed >= 1 else 'as fast (slower)'}.")
            else:
                out.append(f"(1) log no slower than {other}: {mark(speed >= 1)} — tracklet {fs(lg)}, {other} {fs(o)} "
                           f"(tracklet takes ×{1 / speed:.2f} of {other}'s time).")
    else:
        out.append("(1) log: tracklet failed.")
    nb = t["log.numbered_s"]
    if lg and nb:
        beside = ", ".join(f"{o} {fs(s[o]['log.stored_s'])}" for o in tools if o != "tracklet" and s[o]["log.stored_s"])
        out.append(f"(1, stricter, not the target) until the version number is known, a cold store worker "
                   f"included: tracklet {fs(nb)} ({beside}).")
    rr, rd = t["relog.time_ratio"], t["relog.disk_ratio"]
    if rr:
        out.append(f"(2a) unchanged re-log ≤ 10% of the first log's time: {mark(rr['v'] <= 0.10)} — "
                   f"{fs(t['relog.stored_s'])} = {rr['v'] * 100:.0f} % of {fs(lg)} (median of per-repetition ratios).")
    else:
        out.append("(2a) re-log: not measured (failed).")
    if rd is not None:
        out.append(f"(2b) unchanged re-log adds ≤ 1% disk: {mark(rd['v'] <= 0.01)} — "
                   f"{fs(t['relog.disk_added'], 'MiB')} added, {rd['v'] * 100:.3f} % of the first log's "
                   f"{fs(t['log.disk_added'], 'MiB')}.")
    dl = t["download.total_s"]
    if dl:
        out.append(f"(3) download from the local store ≤ 0.5 s: {mark(dl['v'] <= 0.5)} — {fr(dl)}"
                   + (f"; finding the artifact {fs(t['download.resolve_s'])}, copying {fs(t['download.download_s'])}."
                      if t["download.resolve_s"] else "."))
    else:
        out.append("(3) download: tracklet failed.")
    a, b = h.get("tracklet", {}).get("wall"), h.get("b3sum", {}).get("wall")
    if a and b:
        share = b["v"] / a["v"]
        out.append(f"(4) hashing ≥ 80% of the chosen digest's own tool (`b3sum`): {mark(share >= 0.8)} — "
                   f"{share * 100:.0f} % ({fs(a)} vs {fs(b)}).")
    else:
        out.append("(4) hashing against `b3sum`: not measured (tracklet or b3sum failed; see Failures).")
    p = h.get("sha256sum", {}).get("wall")
    if a and p:
        out.append(f"(4, the issue's first yardstick) against coreutils `sha256sum`: {p['v'] / a['v'] * 100:.0f} % "
                   f"({fs(p)}).")
    return out


def failures(s, h, tools):
    out, seen = [], set()
    for t in tools:
        for sc in ("log", "relog", "download"):
            fl = s[t][f"{sc}.fail"]
            for f in fl:
                if f.get("skipped"):
                    continue
                msg = f"**{t}**, {sc}: {_short(f.get('error', 'failed'), 300)}"
                if msg not in seen:
                    seen.add(msg)
                    skipped = sum(1 for x in fl if x.get("skipped"))
                    out.append(msg + (f" (not repeated in the other {skipped} repetition(s))" if skipped else ""))
    for c, x in h.items():
        for f in x["fail"][:1]:
            out.append(f"**{c}**, hashing: {_short(f.get('error', 'failed'), 300)}")
    if "wandb" in tools:
        out.append("**wandb** offline: `art.wait()` raises `ArtifactNotLoggedError` (\"used prior to logging "
                   "artifact or while in offline mode\"), so its headline ends at `run.finish()`.")
    return out


def main(argv=None):
    a = parse_args(argv)
    started = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    env = {"argv": [os.path.relpath(a.python, REPO) if a.python == DEFAULT_PY else a.python,
                    os.path.relpath(os.path.abspath(__file__), REPO)] + list(sys.argv[1:] if argv is None else argv),
           "machine": machine_info(a.python), "versions": versions(a.python, a.tools)}
    b = Bench(a)
    print(f"temp folder {b.tmp}; network: {b.r.isolation}", flush=True)
    try:
        b.run()
    except KeyboardInterrupt:
        print("interrupted: reporting what was measured", flush=True)
    finally:
        if a.keep_tmp:
            print(f"kept {b.tmp}")
        else:
            shutil.rmtree(b.tmp, ignore_errors=True)
    elapsed = time.time() - b.t0
    s, h = summarise(b.records, a.tools, b.data_bytes)
    md = render(a, env, s, h, a.tools, started, elapsed, b.r.isolation, b.data_bytes)
    H.write_section(a.out, md, SECTION)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"env": env, "args": vars(a), "records": b.records}, f, indent=1, default=str)
    print()
    print(md)
    print(f"wrote the '{SECTION}' section of {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
