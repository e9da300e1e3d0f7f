"""Sweeps (issue 15): how many runs bayes needs against random search, the controller's cost, 8 agents on one store.

1. Quality, on Branin (2-D) and Hartmann-6 (6-D), over ``--seeds`` seeds: per seed, the best of 200 random
   runs (an independent stream) sets the target, "within 5%": ``best + 0.05 * |best|``. Then random search
   (another stream) and bayes each run until a run reaches the target (or ``--budget`` runs): the count is
   "runs needed". This part calls the controller's ``propose()`` directly, with the trials as the store
   hands them to it (finished runs with their summary): the same code an agent runs, without the store
   and a process per run, which would only add minutes of constant cost per run and change no count.
   With ``--wandb-python PY`` (a Python with wandb's sweep engine, ``pip install sweeps``: what
   ``wandb controller --local`` calls), wandb's bayes and random are run the same way, in that Python.
2. The controller's time per suggestion with 200 finished runs, through a real local store (200 runs
   logged with ``tracklet.init``/``log``/``finish``): ``next_trial()`` whole, and its parts (read the
   sweep, propose, claim).
3. 8 agents (8 processes, ``tracklet.agent(function=...)``) on one grid of 96 points, one local store:
   every point once, no lock error, the wall time.

    .venv/bin/python benchmarks/sweeps_quality.py --seeds 20 --budget 300 --write [--wandb-python /path/to/python]

wandb's engine for ``--wandb-python``: ``python3 -m venv /tmp/wsweeps && /tmp/wsweeps/bin/pip install sweeps==0.2.0``.

``--write`` replaces this benchmark's section of benchmarks/RESULTS.md (between its markers).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
START, END = "<!-- sweeps:start -->", "<!-- sweeps:end -->"

# -- test functions ------------------------------------------------------------------------------------
_A6 = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
_P6 = [[0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886], [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
       [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650], [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381]]
_ALPHA = [1.0, 1.2, 3.0, 3.2]


def branin(c: dict) -> float:
    x1, x2 = c["x1"], c["x2"]
    b, cc, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + cc * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


def hartmann6(c: dict) -> float:
    x = [c[f"x{i}"] for i in range(1, 7)]
    return -sum(a * math.exp(-sum(A * (xi - p) ** 2 for A, xi, p in zip(Ai, x, Pi))) for a, Ai, Pi in zip(_ALPHA, _A6, _P6))


_TINY: dict = {}


def tiny_lora(c: dict) -> float:
    """Validation MSE of a tiny real fine-tune: a pretrained 8-32-1 MLP whose first layer gets a LoRA adapter of
    rank ``lora_r``, trained 40 full-batch Adam steps at ``learning_rate`` on a shifted task (CPU, ~15 ms)."""
    import torch

    torch.set_num_threads(1)
    if not _TINY:
        g = torch.Generator().manual_seed(0)
        x, xv = torch.randn(256, 8, generator=g), torch.randn(256, 8, generator=g)
        w1, w2 = torch.randn(8, 32, generator=g), torch.randn(32, 1, generator=g) / 4
        shift = torch.randn(8, 4, generator=g) @ torch.randn(4, 32, generator=g) / 2  # the new task: a rank-4 change
        teacher = lambda inp, w: torch.tanh(inp @ w) @ w2  # noqa: E731
        base = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))
        opt = torch.optim.Adam(base.parameters(), lr=1e-2)
        for _ in range(400):  # pretraining on the old task, once
            loss = torch.nn.functional.mse_loss(base(x), teacher(x, w1))
            opt.zero_grad(), loss.backward(), opt.step()
        _TINY.update(x=x, xv=xv, y=teacher(x, w1 + shift), yv=teacher(xv, w1 + shift), base=base)
    t = _TINY
    r, lr = int(c["lora_r"]), float(c["learning_rate"])
    g = torch.Generator().manual_seed(1)
    a = (torch.randn(8, r, generator=g) / r**0.5).requires_grad_()
    b = torch.zeros(r, 32, requires_grad=True)
    first, second = t["base"][0], t["base"][2]

    def model(inp):
        return second(torch.tanh(first(inp) + inp @ a @ b * (16 / r)))

    opt = torch.optim.Adam([a, b], lr=lr)
    for _ in range(40):
        loss = torch.nn.functional.mse_loss(model(t["x"]), t["y"])
        opt.zero_grad(), loss.backward(), opt.step()
    with torch.no_grad():
        value = torch.nn.functional.mse_loss(model(t["xv"]), t["yv"]).item()
    return value if math.isfinite(value) else 1e6


FUNCTIONS = {
    "Branin": (branin, {"x1": {"min": -5.0, "max": 10.0}, "x2": {"min": 0.0, "max": 15.0}}, 0.397887),
    "Hartmann-6": (hartmann6, {f"x{i}": {"min": 0.0, "max": 1.0} for i in range(1, 7)}, -3.32237),
    "Tiny LoRA fine-tune": (tiny_lora, {"learning_rate": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1.0},
                                        "lora_r": {"values": [1, 2, 4, 8, 16]}}, None),
}
NO_WANDB = {"Tiny LoRA fine-tune"}  # wandb's engine runs in a venv without torch


def _config(method: str, params: dict) -> dict:
    return {"method": method, "metric": {"name": "y", "goal": "minimize"}, "parameters": params}


# -- 1. quality -------------------------------------------------------------------------------------------
def runs_needed(fn, params: dict, method: str, target: float, budget: int, seed: int) -> int | None:
    """Runs until one reaches ``target`` with tracklet's controller (None: not within ``budget``)."""
    from tracklet.sweeps._config import check_config, nest
    from tracklet.sweeps._controller import propose

    cfg = check_config(_config(method, params))
    rng = random.Random(seed)
    trials = []
    for n in range(1, budget + 1):
        flat = propose(cfg, trials, rng).flat
        config = nest(flat)
        y = fn(config)
        trials.append({"number": n, "status": "active", "run_state": "finished", "params": config, "point": None,
                       "summary": {"y": y}, "claimed_at": time.time(), "pid": None, "host": None})
        if y <= target:
            return n
    return None


def reference(fn, params: dict, seed: int) -> float:
    """The best of 200 random runs (its own stream)."""
    from tracklet.sweeps._config import check_config

    cfg = check_config(_config("random", params))
    rng = random.Random(10_000 + seed)
    return min(fn({p.name: p.sample(rng) for p in cfg.params}) for _ in range(200))


WANDB_SCRIPT = r'''
import json, math, random, sys, warnings
warnings.filterwarnings("ignore")
import numpy as np
import sweeps
spec = json.loads(sys.argv[1])
exec(spec["functions"])
out = []
for job in spec["jobs"]:
    fn = {"Branin": branin, "Hartmann-6": hartmann6}[job["function"]]
    config = {"method": job["method"], "metric": {"name": "y", "goal": "minimize"}, "parameters": job["params"]}
    random.seed(job["seed"]); np.random.seed(job["seed"])
    runs, found = [], None
    for n in range(1, job["budget"] + 1):
        nxt = sweeps.next_run(config, runs, validate=False)
        c = {k: v["value"] for k, v in nxt.config.items()}
        y = fn(c)
        runs.append(sweeps.SweepRun(name=f"r{n}", state=sweeps.RunState.finished, config=nxt.config,
                                    summary_metrics={"y": y}, history=[{"y": y}]))
        if y <= job["target"]:
            found = n
            break
    out.append(found)
    print(f"wandb {job['function']} {job['method']} seed {job['seed']}: {found}", file=sys.stderr, flush=True)
print(json.dumps(out))
'''


def wandb_runs_needed(python: str, jobs: list[dict]) -> list[int | None]:
    import inspect

    functions = "\n".join(inspect.getsource(f) for f in (branin, hartmann6))
    functions = f"_A6 = {_A6}\n_P6 = {_P6}\n_ALPHA = {_ALPHA}\n" + functions
    spec = json.dumps({"functions": functions, "jobs": jobs})
    out = subprocess.run([python, "-c", WANDB_SCRIPT, spec], stdout=subprocess.PIPE, text=True, timeout=3600)
    if out.returncode != 0:
        raise RuntimeError(f"wandb's engine exited with {out.returncode} (its error is above)")
    return json.loads(out.stdout.strip().splitlines()[-1])


def summarise(counts: list[int | None], budget: int) -> dict:
    reached = [c for c in counts if c is not None]
    filled = sorted(c if c is not None else budget + 1 for c in counts)  # not reached: counted as past the budget
    q = statistics.quantiles(filled, n=4) if len(filled) > 1 else [filled[0]] * 3
    return {"median": statistics.median(filled), "q1": q[0], "q3": q[2], "reached": len(reached), "n": len(counts),
            "mean_reached": statistics.mean(reached) if reached else None}


def quality(seeds: int, budget: int, wandb_python: str | None, names: list[str]) -> dict:
    out: dict = {}
    for name in names:
        fn, params, optimum = FUNCTIONS[name]
        row: dict = {"optimum": optimum, "targets": [], "methods": {}}
        counts: dict[str, list] = {"random": [], "bayes": []}
        times: dict[str, float] = {"random": 0.0, "bayes": 0.0}
        jobs = []
        for seed in range(seeds):
            best = reference(fn, params, seed)
            target = best + 0.05 * abs(best)
            row["targets"].append(target)
            for method in ("random", "bayes"):
                t0 = time.perf_counter()
                counts[method].append(runs_needed(fn, params, method, target, budget, seed))
                times[method] += time.perf_counter() - t0
                jobs.append({"function": name, "method": method, "params": params, "target": target, "budget": budget, "seed": seed})
            print(f"{name} seed {seed}: target {target:.4f}; random {counts['random'][-1]}, bayes {counts['bayes'][-1]}",
                  file=sys.stderr, flush=True)
        for method in ("random", "bayes"):
            row["methods"][f"tracklet {method}"] = summarise(counts[method], budget)
        row["bayes_seconds"] = times["bayes"]
        if wandb_python and name not in NO_WANDB:
            t0 = time.perf_counter()
            try:
                found = wandb_runs_needed(wandb_python, jobs)
                for method in ("random", "bayes"):
                    row["methods"][f"wandb {method}"] = summarise(
                        [c for c, j in zip(found, jobs) if j["method"] == method], budget)
            except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
                row["wandb_error"] = str(e)[-500:]
            row["wandb_seconds"] = time.perf_counter() - t0
        out[name] = row
    return out


# -- 2. the controller's time per suggestion ----------------------------------------------------------------
def controller_time(method: str, finished: int = 200, repeats: int = 20) -> dict:
    """``next_trial`` on a real local store whose sweep has ``finished`` runs that finished."""
    import tracklet
    from tracklet.store.sql._store import SqlStore
    from tracklet.sweeps import _controller as C
    from tracklet.sweeps._config import check_config

    with tempfile.TemporaryDirectory() as root:
        os.environ["TRACKLET_DIR"] = root
        os.environ["TRACKLET_SILENT"] = "true"
        params = {"lr": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-2},
                  "r": {"values": [8, 16, 32, 64]}, "dropout": {"min": 0.0, "max": 0.5}, "layers": {"min": 1, "max": 8}}
        if method == "grid":
            params = {"a": {"values": list(range(30))}, "b": {"values": list(range(30))}}
        sweep_id = tracklet.sweep(_config(method, params), project="bench")
        store = SqlStore(root)
        for _ in range(finished):
            trial, _why = C.next_trial(store, sweep_id, "setup")
            os.environ.update({"TRACKLET_SWEEP_ID": sweep_id, "TRACKLET_SWEEP_RUN_ID": trial["run_id"],
                               "TRACKLET_SWEEP_PROJECT": "bench", "TRACKLET_SWEEP_PARAMS": json.dumps(trial["params"])})
            with tracklet.init() as run:
                run.log({"y": random.random()})
        for k in ("TRACKLET_SWEEP_ID", "TRACKLET_SWEEP_RUN_ID", "TRACKLET_SWEEP_PROJECT", "TRACKLET_SWEEP_PARAMS"):
            del os.environ[k]
        assert sum(t["run_state"] == "finished" for t in store.sweep(sweep_id)["trials"]) == finished
        whole, read, propose, claim = [], [], [], []
        rng = random.Random(0)
        for _ in range(repeats):
            t0 = time.perf_counter()
            trial, why = C.next_trial(store, sweep_id, "bench", rng)
            whole.append(time.perf_counter() - t0)
            assert why == "claimed", why
            t0 = time.perf_counter()
            doc = store.sweep(sweep_id)
            t1 = time.perf_counter()
            proposal = C.propose(check_config(doc["config"]), doc["trials"], rng)
            t2 = time.perf_counter()
            store.claim_trial(sweep_id, {"run_id": f"x{rng.randrange(10**9)}", "params": {}, "point": proposal.point,
                                         "replaces": None, "agent": "bench", "host": None, "pid": None})
            t3 = time.perf_counter()
            read.append(t1 - t0), propose.append(t2 - t1), claim.append(t3 - t2)
        del os.environ["TRACKLET_DIR"]
    ms = lambda xs: 1000 * statistics.median(xs)  # noqa: E731
    return {"whole_ms": ms(whole), "p90_ms": 1000 * sorted(whole)[int(0.9 * len(whole))], "read_ms": ms(read),
            "propose_ms": ms(propose), "claim_ms": ms(claim), "finished": finished}


# -- 3. 8 agents on one store ---------------------------------------------------------------------------------
AGENT = """
import sys, tracklet
def train():
    with tracklet.init() as run:
        for i in range(5):
            run.log({"y": run.config["a"] * 100 + run.config["b"] + i})
print("RAN", tracklet.agent(sys.argv[1], function=train), flush=True)
"""


def many_agents(agents: int = 8, points: int = 96) -> dict:
    import tracklet

    with tempfile.TemporaryDirectory() as root:
        env = {**os.environ, "TRACKLET_DIR": root, "TRACKLET_SILENT": "true", "TRACKLET_SYSTEM_INTERVAL": "0"}
        os.environ.update(TRACKLET_DIR=root, TRACKLET_SILENT="true")
        config = {"method": "grid", "metric": {"name": "y"},
                  "parameters": {"a": {"values": list(range(points // 8))}, "b": {"values": list(range(8))}}}
        sweep_id = tracklet.sweep(config, project="bench")
        script = os.path.join(root, "agent.py")
        with open(script, "w") as f:
            f.write(AGENT)
        t0 = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, script, sweep_id], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(agents)]
        outs = [p.communicate(timeout=1800) for p in procs]
        wall = time.perf_counter() - t0
        trials = tracklet.Api(dir=root).sweep(sweep_id).trials()
        del os.environ["TRACKLET_DIR"]
    keys = [(t["params"]["a"], t["params"]["b"]) for t in trials]
    errors = "".join(err for _, err in outs)
    return {
        "agents": agents, "points": points, "trials": len(trials), "distinct": len(set(keys)),
        "finished": sum(t["run_state"] == "finished" for t in trials), "wall_s": wall,
        "per_agent": sorted(int(o.split("RAN")[-1]) for o, _ in outs if "RAN" in o),
        "lock_errors": errors.lower().count("locked"), "tracebacks": errors.count("Traceback"),
        "exit_codes": [p.returncode for p in procs],
    }


# -- the section ------------------------------------------------------------------------------------------------
def _fmt(s: dict) -> str:
    return f"{s['median']:.0f} ({s['q1']:.0f}–{s['q3']:.0f}) | {s['reached']}/{s['n']}"


def section(args: argparse.Namespace, q: dict, ctl: dict, agents: dict, run_at: float) -> str:
    from importlib.metadata import version

    lines = [START, "# Sweeps: bayes against random search, the controller's cost, 8 agents on one store (issue 15)", ""]
    lines += [
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(run_at))} on this project's 2-core machine (shared with other work), "
        f"Optuna {version('optuna')}:",
        "", "```sh", f".venv/bin/python benchmarks/sweeps_quality.py --seeds {args.seeds} --budget {args.budget} --write"
        + (" --wandb-python PY" if args.wandb_python else ""), "```", "",
        "## Runs needed to come within 5% of the best of 200 random runs",
        "",
        f"Per seed ({args.seeds} seeds), the best of 200 random runs (an independent stream) sets the target "
        "`best + 0.05·|best|`; each method then runs until one run reaches it, at most "
        f"{args.budget} runs (a seed that does not reach it counts as {args.budget + 1}). Median runs needed, with the "
        "quartiles, and how many seeds reached the target. The controller's `propose()` is called directly with the "
        "trials as the store hands them over (the agent's own code path, without a process per run). The tiny "
        "fine-tune is real training on the CPU: a pretrained 8-32-1 MLP gets a LoRA adapter of rank `lora_r` "
        "(1, 2, 4, 8, 16) on its first layer, trained 40 full-batch Adam steps at `learning_rate` (log-uniform, "
        "1e-4 to 1) on a shifted task; the value is its validation MSE (about 9 ms a run).",
        "",
        "| function | method | runs needed: median (quartiles) | seeds that reached it |",
        "|---|---|---:|---:|",
    ]
    for name, row in q.items():
        for method, s in row["methods"].items():
            lines.append(f"| {name} | {method} | {_fmt(s)} |")
    lines.append("")
    for name, row in q.items():
        r, b = row["methods"]["tracklet random"]["median"], row["methods"]["tracklet bayes"]["median"]
        lines.append(f"- {name}: bayes needs {100 * (1 - b / r):.0f}% fewer runs than random (median {b:.0f} against {r:.0f}); "
                     f"bayes's {args.seeds} searches took {row['bayes_seconds']:.0f} s in all (suggestions and evaluations)."
                     + (f" wandb's engine could not run: {row['wandb_error'][:200]}" if row.get("wandb_error") else ""))
    lines += [
        "",
        "The claim users are sold is 30–50% fewer runs than random search. `wandb controller --local` needs a W&B server "
        "to hold the sweep (it reads and writes the sweep through the API), so it cannot run offline here; "
        + ("its engine (`sweeps` 0.2.0, what the local controller calls for each suggestion: a Gaussian process for "
           "bayes) ran in its own venv with the same functions, targets, seeds and budget (rows `wandb ...`). Its random "
           "search draws `min + u·(max − min)` from Python's `random` seeded with the same seed, as tracklet's does, so "
           "the two random rows are the same runs, not two samples that agree. The tiny fine-tune needs torch, which "
           "that venv lacks: no wandb rows for it." if args.wandb_python else
           "with `--wandb-python` its engine (the `sweeps` package the local controller calls) runs the same protocol."),
        "",
        "## The controller's time per suggestion, 200 finished runs, local store",
        "",
        "`next_trial()` on a store whose sweep has 200 runs that were logged and finished with `tracklet.init`/`log`/"
        "`finish` (4 parameters: log-uniform, categorical, uniform, int): the whole call, then its parts measured apart. "
        "Median of 20 suggestions (target ≤ 50 ms).",
        "",
        "| method | next_trial, median | p90 | read the sweep | propose | claim (one write transaction) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for method, c in ctl.items():
        lines.append(f"| {method} | {c['whole_ms']:.1f} ms | {c['p90_ms']:.1f} ms | {c['read_ms']:.1f} ms | "
                     f"{c['propose_ms']:.1f} ms | {c['claim_ms']:.1f} ms |")
    a = agents
    lines += [
        "",
        f"## {a['agents']} agents on one sweep, one local store",
        "",
        f"{a['agents']} processes, each `tracklet.agent(sweep_id, function=train)`, on a grid of {a['points']} points "
        f"(each run logs 5 steps): {a['trials']} trials, {a['distinct']} distinct points, {a['finished']} runs finished, "
        f"{a['lock_errors']} lock errors, {a['tracebacks']} tracebacks, exit codes {sorted(set(a['exit_codes']))}; "
        f"{a['wall_s']:.1f} s wall; runs per agent {a['per_agent']}.",
        END,
    ]
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    from _results import write_section as write

    write(text, START, END)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--budget", type=int, default=100, help="at most this many runs per search")
    p.add_argument("--wandb-python", help="a Python with wandb's sweep engine (pip install sweeps) to compare with")
    p.add_argument("--skip", default="", help="comma-separated parts to skip: quality, controller, agents")
    p.add_argument("--write", action="store_true", help="replace this benchmark's section of benchmarks/RESULTS.md")
    p.add_argument("--functions", default=",".join(FUNCTIONS), help=f"which of: {', '.join(FUNCTIONS)}")
    p.add_argument("--from-json", action="append", help="write the section from the JSON earlier runs printed (no "
                   "measuring; repeat to merge runs of different functions)")
    args = p.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    if args.from_json:
        q, ctl, agents, run_at = {}, {}, {}, 0.0
        for path in args.from_json:
            with open(path, encoding="utf-8") as f:
                found = json.load(f)
            q.update(found["quality"])
            ctl, agents = ctl or found["controller"], agents or found["agents"]
            run_at = max(run_at, found.get("run_at", os.path.getmtime(path)))
    else:
        run_at = time.time()
        names = [n.strip() for n in args.functions.split(",") if n.strip()]
        q = quality(args.seeds, args.budget, args.wandb_python, names) if "quality" not in skip else {}
        ctl = {m: controller_time(m) for m in ("bayes", "random", "grid")} if "controller" not in skip else {}
        agents = many_agents() if "agents" not in skip else {}
        print(json.dumps({"quality": q, "controller": ctl, "agents": agents, "run_at": run_at}, indent=1, default=str))
    if args.write:
        write_section(section(args, q, ctl, agents, run_at))


if __name__ == "__main__":
    main()
