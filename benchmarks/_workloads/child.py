"""One measurement in a fresh process: `python child.py TOOL SCENARIO RESULT.json [options]`.

Started by core_compare.py, with the tool's environment (store location, offline
mode, telemetry off) already set and the current directory inside the store's
temp dir. Writes a JSON object to RESULT.json: {"ok": true, ...numbers...} or
{"ok": false, "error": "..."}. Nothing is written to stdout by this file, so
whatever a tool prints cannot be mistaken for a result.

Scenarios
  init   import the tool (untimed), time init(config of 10 keys), finish
  log    init, then N calls of log(10 floats, step=i), each timed with
         perf_counter_ns; finish timed
  bulk   init, N steps x 3 floats (loop timed as a whole), finish timed, then
         poll the tool's reader until all N*3 points are readable (timed from
         finish returning)
  read   read the full history of one metric written by `bulk` (timed)
  mem    init, N steps x 3 floats, finish (timed), wait for background work to
         settle, report the peak RSS of this process and of its helper processes
"""

import json
import os
import resource
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
# Run as a script, sys.path[0] is _workloads/; replace it by benchmarks/ so that
# `import _workloads` works and nothing in _workloads/ can shadow a tool's module.
if sys.path and os.path.abspath(sys.path[0] or ".") == HERE:
    sys.path[0] = os.path.dirname(HERE)
else:
    sys.path.insert(0, os.path.dirname(HERE))

PROJECT = "bench"
CONFIG = {f"hp_{i}": (i * 0.1 if i % 2 else f"value-{i}") for i in range(10)}


def _opts(argv):
    opts = {}
    for a in argv:
        k, _, v = a.partition("=")
        opts[k.lstrip("-")] = v
    return opts


def _percentile(sorted_vals, q):
    if not sorted_vals:
        return None
    i = min(len(sorted_vals) - 1, max(0, int(round(q * (len(sorted_vals) - 1)))))
    return sorted_vals[i]


def scenario_init(ad, d, o):
    t0 = time.perf_counter()
    run = ad.init(PROJECT, d, dict(CONFIG))
    t1 = time.perf_counter()
    ad.finish(run)
    t2 = time.perf_counter()
    return {"init_s": t1 - t0, "finish_s": t2 - t1, "run_id": ad.run_id(run)}


def scenario_log(ad, d, o):
    n = int(o.get("n", 20000))
    deadline = float(o.get("deadline", 1e9))
    keys = [f"m{k}" for k in range(10)]
    run = ad.init(PROJECT, d, dict(CONFIG))
    log = ad.log_fn(run)
    pc = time.perf_counter_ns
    times = [0] * n
    t_start = time.perf_counter()
    stop_at = t_start + deadline
    done = n
    for i in range(n):
        x = i * 1e-3
        m = {k: x + j for j, k in enumerate(keys)}
        t = pc()
        log(m, step=i)
        times[i] = pc() - t
        if (i & 15) == 15 and time.perf_counter() > stop_at:
            done = i + 1
            break
    loop_s = time.perf_counter() - t_start
    times = sorted(times[:done])
    t = time.perf_counter()
    ad.finish(run)
    finish_s = time.perf_counter() - t
    return {
        "calls": done,
        "calls_requested": n,
        "limited": done < n,
        "median_us": _percentile(times, 0.5) / 1e3,
        "p99_us": _percentile(times, 0.99) / 1e3,
        "p999_us": _percentile(times, 0.999) / 1e3,
        "max_us": times[-1] / 1e3,
        "mean_us": sum(times) / len(times) / 1e3,
        "loop_s": loop_s,
        "finish_s": finish_s,
        "run_id": ad.run_id(run),
    }


def _log_steps(ad, run, n, deadline):
    """n steps of 3 floats; returns (steps done, loop seconds)."""
    log = ad.log_fn(run)
    t_start = time.perf_counter()
    stop_at = t_start + deadline
    done = n
    for i in range(n):
        x = i * 1e-3
        log({"loss": 1.0 / (1.0 + x), "acc": x / (1.0 + x), "lr": 1e-3 - x * 1e-9}, step=i)
        if (i & 63) == 63 and time.perf_counter() > stop_at:
            done = i + 1
            break
    return done, time.perf_counter() - t_start


BULK_KEYS = ("loss", "acc", "lr")


def scenario_bulk(ad, d, o):
    n = int(o.get("n", 200000))
    deadline = float(o.get("deadline", 1e9))
    read_timeout = float(o.get("read_timeout", 120))
    run = ad.init(PROJECT, d, dict(CONFIG))
    rid = ad.run_id(run)
    done, loop_s = _log_steps(ad, run, n, deadline)
    t = time.perf_counter()
    ad.finish(run)
    t_fin = time.perf_counter()
    finish_s = t_fin - t
    expected = done * len(BULK_KEYS)
    polls, seen, last_read_s, readable_s, read_error = 0, -1, None, None, None
    while True:
        polls += 1
        r0 = time.perf_counter()
        try:
            seen = ad.count_points(d, PROJECT, rid, BULK_KEYS)
            read_error = None
        except Exception as e:  # the store may not exist yet: keep polling
            read_error = f"{type(e).__name__}: {e}"[:500]
        r1 = time.perf_counter()
        last_read_s = r1 - r0
        if seen >= expected:
            readable_s = r1 - t_fin
            break
        if r1 - t_fin > read_timeout:
            break
        time.sleep(0.02)
    out = {
        "steps": done,
        "steps_requested": n,
        "limited": done < n,
        "points_expected": expected,
        "points_seen": seen,
        "loop_s": loop_s,
        "loop_us_per_step": loop_s / max(done, 1) * 1e6,
        "finish_s": finish_s,
        "readable_s": readable_s,
        "read_polls": polls,
        "last_read_s": last_read_s,
        "run_id": rid,
    }
    if readable_s is None:
        out["readable_error"] = (
            f"only {seen:,} of {expected:,} points readable {read_timeout:.0f} s after finish"
            + (f" (last error: {read_error})" if read_error else "")
        )
    return out


def scenario_read(ad, d, o):
    rid = o["run_id"]
    key = o.get("key", "loss")
    t = time.perf_counter()
    n = ad.read_metric(d, PROJECT, rid, key)
    read_s = time.perf_counter() - t
    return {"read_s": read_s, "points": n}


def _descendants(pid):
    """Live descendant pids of pid, from /proc (Linux)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    kids = [int(x) for x in f.read().split()]
            except OSError:
                continue
            out += kids
            todo += kids
    return out


def _peak_rss(pid):
    """VmHWM (peak resident set) of a live process in bytes, and its command line."""
    try:
        with open(f"/proc/{pid}/status") as f:
            hwm = next((int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:")), 0)
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()[:160]
        return hwm, cmd
    except OSError:
        return 0, ""


def scenario_mem(ad, d, o):
    n = int(o.get("n", 0))
    deadline = float(o.get("deadline", 1e9))
    run = ad.init(PROJECT, d, dict(CONFIG))
    done, loop_s = _log_steps(ad, run, n, deadline) if n else (0, 0.0)
    t = time.perf_counter()
    ad.finish(run)
    finish_s = time.perf_counter() - t
    # background work that outlives finish() (tracklet's ingest worker) runs to its end
    # first, so that its peak memory is part of the measurement
    settle_s = ad.settle(d)
    ru_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    ru_reaped = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # largest exited child
    helpers = [(pid,) + _peak_rss(pid) for pid in _descendants(os.getpid())]
    return {
        "steps": done,
        "steps_requested": n,
        "limited": done < n,
        "loop_s": loop_s,
        "finish_s": finish_s,
        "settle_s": settle_s,
        "rss_self_bytes": ru_self,
        "rss_reaped_children_bytes": ru_reaped,
        "helpers": [{"pid": p, "peak_rss_bytes": h, "cmd": c} for p, h, c in helpers],
        # live helpers' peaks added up, plus the largest child that already exited
        "rss_children_bytes": sum(h for _p, h, _c in helpers) + ru_reaped,
    }


SCENARIOS = {
    "init": scenario_init,
    "log": scenario_log,
    "bulk": scenario_bulk,
    "read": scenario_read,
    "mem": scenario_mem,
}


def main():
    tool, scenario, result_path = sys.argv[1:4]
    o = _opts(sys.argv[4:])
    d = o.get("dir") or os.getcwd()
    try:
        from _workloads import load

        ad = load(tool)
        os.environ.update(ad.env(d))
        __import__(ad.MODULE)  # untimed: import cost is measured on its own
        res = SCENARIOS[scenario](ad, d, o)
        res["ok"] = True
    except BaseException as e:  # report everything, including SystemExit from a tool
        res = {
            "ok": False,
            "error": f"{type(e).__name__}: {e}",
            "traceback": traceback.format_exc()[-4000:],
        }
    with open(result_path, "w") as f:
        json.dump(res, f)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
