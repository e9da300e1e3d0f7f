"""The sweep controller: reads the sweep from the store, proposes the next point, claims it atomically.

No controller process runs: each agent asks the store for the sweep and its trials, proposes a point
(grid: the first one no live trial holds; random: a fresh draw; bayes: Optuna fed with every trial)
and claims it in one store transaction. Two agents proposing the same grid point at once: one claim
wins, the other reads the sweep again and takes the next point.
"""

from __future__ import annotations

import math
import random
import time

from .._errors import StoreError, UsageError, warn_once
from .._ids import new_run_id
from ..store._liveness import STALE_AFTER, pid_alive
from ._config import SweepConfig, check_config, flatten, nest, point_key

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..store import Store

__all__ = ["Proposal", "metric_value", "next_trial", "propose", "trial_phase"]

_CLAIM_TRIES = 50


def trial_phase(trial: dict[str, Any], now: float | None = None) -> str:
    """Where a trial stands: ``superseded`` (its point went to a later trial), ``pending`` (claimed, run not
    started), ``running``, ``done`` (finished, failed or stopped) or ``dead`` (its run crashed, or went silent
    for ``STALE_AFTER`` seconds, or its agent died before the run started: its point may be handed out again)."""
    if trial["status"] != "active":
        return "superseded"
    state = trial.get("run_state")
    if state is None:
        alive = pid_alive(trial.get("pid"), trial.get("host"))
        if alive or (alive is None and (now or time.time()) - trial["claimed_at"] < STALE_AFTER):
            return "pending"
        return "dead"
    if state == "running":  # a server on a database marks no crashed runs: its silence decides here
        alive = pid_alive(trial.get("run_pid"), trial.get("run_host"))
        if alive is False or (alive is None and (now or time.time()) - (trial.get("heartbeat_at") or trial["claimed_at"]) > STALE_AFTER):
            return "dead"
        return "running"
    if state == "crashed":
        return "dead"
    return "done"


def metric_value(cfg: SweepConfig, trial: dict[str, Any]) -> float | None:
    """The trial's value of the sweep's metric (its run's summary), or None."""
    if cfg.metric is None:
        return None
    value = trial.get("summary", {}).get(cfg.metric)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


class Proposal:
    """A point to claim: ``flat`` (path -> value), ``point`` (a grid key) and the dead trial it ``replaces``."""

    def __init__(self, flat: dict[tuple[str, ...], Any], point: str | None = None, replaces: int | None = None) -> None:
        self.flat, self.point, self.replaces = flat, point, replaces


def propose(cfg: SweepConfig, trials: list[dict[str, Any]], rng: random.Random, now: float | None = None) -> Proposal | None:
    """The next point for ``cfg`` given the sweep's ``trials``; None when a grid has no point left."""
    if cfg.method == "grid":
        holders = {t["point"]: t for t in trials if t["status"] == "active" and t["point"] is not None}
        for flat in cfg.grid():
            key = point_key(flat)
            held = holders.get(key)
            if held is None:
                return Proposal(flat, key)
            if trial_phase(held, now) == "dead":
                return Proposal(flat, key, held["number"])
        return None
    if cfg.method == "random":
        return Proposal({p.path: p.sample(rng) for p in cfg.params})
    from ._bayes import suggest

    history = []
    for t in trials:
        phase = trial_phase(t, now)
        if phase in ("pending", "running"):
            history.append((flatten(t["params"], cfg.params), "running", t))
        elif phase == "done" and t["run_state"] in ("finished", "stopped"):
            history.append((flatten(t["params"], cfg.params), "complete", metric_value(cfg, t)))
        else:
            history.append((flatten(t["params"], cfg.params), "fail", t))
    return Proposal(suggest(cfg, _imputed(cfg, history), seed=rng.randrange(2**31)))


def _imputed(cfg: SweepConfig, history: list[tuple[Any, str, Any]]) -> list[tuple[Any, str, float | None]]:
    """``history`` with the values wandb's ``metric.impute`` (failed, crashed and killed runs) and
    ``impute_while_running`` (runs going on) ask for: ``latest`` (the run's last logged value), ``best`` or
    ``worst`` (of the finished runs). Without them, or with nothing to take the value from, a failed run is a
    failure to the optimiser and a running one pending."""
    metric = (cfg.raw.get("metric") or {})
    how = {"fail": metric.get("impute"), "running": metric.get("impute_while_running", "false")}
    done = [v for _, state, v in history if state == "complete" and v is not None]
    ranked = sorted(done, reverse=cfg.goal == "maximize")  # best first
    out = []
    for point, state, v in history:
        if state == "complete":
            out.append((point, state, v))
            continue
        rule, value = how[state], None
        if rule == "latest":
            value = metric_value(cfg, v)
        elif rule in ("best", "worst") and ranked:
            value = ranked[0] if rule == "best" else ranked[-1]
        out.append((point, "complete", value) if value is not None else (point, state, None))
    return out


def next_trial(store: Store, sweep_id: str, agent: str, rng: random.Random | None = None) -> tuple[dict[str, Any] | None, str]:
    """Claim the sweep's next trial for ``agent``: ``(trial, "claimed")``, or ``(None, why)`` where why is
    the sweep's state (``paused``, ``stopped``, ...), ``finished`` (grid done, target met) or ``run_cap``."""
    import os

    from .._ids import hostname

    rng = rng or random.Random()
    for _ in range(_CLAIM_TRIES):
        sweep = store.sweep(sweep_id)
        if sweep is None:
            raise UsageError(f"no sweep {sweep_id!r} in {store.location}; `tracklet sweep ls` lists them")
        if sweep["state"] != "running":
            return None, sweep["state"]
        cfg = check_config(sweep["config"])
        trials = sweep["trials"]
        if _target_met(cfg, trials):
            return None, store.set_sweep_state(sweep_id, "finished", only_from=["running"])
        proposal = propose(cfg, trials, rng)
        if proposal is None:
            if not any(trial_phase(t) in ("pending", "running") for t in trials):
                store.set_sweep_state(sweep_id, "finished", only_from=["running"])
            return None, "finished"
        run_id = new_run_id()
        answer = store.claim_trial(sweep_id, {
            "run_id": run_id, "params": nest(proposal.flat), "point": proposal.point, "replaces": proposal.replaces,
            "agent": agent, "host": hostname(), "pid": os.getpid(),
        })
        if answer["claimed"]:
            flat = {".".join(k): v for k, v in proposal.flat.items()}
            return {"sweep": sweep, "config": cfg, "number": answer["number"], "run_id": run_id,
                    "params": nest(proposal.flat), "flat": flat}, "claimed"
        if answer["reason"] == "run_cap":
            store.set_sweep_state(sweep_id, "finished", only_from=["running"])
            return None, "run_cap"
        if answer["reason"] == "state":
            return None, answer.get("state", "stopped")
        time.sleep(rng.uniform(0.0, 0.02))  # "taken": another agent claimed that point first
    raise StoreError(f"sweep {sweep_id}: no trial could be claimed in {_CLAIM_TRIES} tries; other agents keep taking them")


def _target_met(cfg: SweepConfig, trials: list[dict[str, Any]]) -> bool:
    if cfg.target is None:
        return False
    for t in trials:
        value = metric_value(cfg, t)
        if value is not None and t.get("run_state") == "finished" and (value == cfg.target or cfg.better(value, cfg.target)):
            return True
    return False


def check_metric_logged(cfg: SweepConfig, sweep_id: str, run: dict[str, Any] | None) -> None:
    """Say once, after a finished run, that the sweep's metric was never logged (bayes and hyperband need it)."""
    if cfg.metric is None or run is None or run.get("state") != "finished" or cfg.metric in (run.get("summary") or {}):
        return
    logged = ", ".join(sorted(run.get("summary") or {})[:8]) or "nothing"
    warn_once(
        f"sweep-metric:{sweep_id}",
        f"tracklet: sweep {sweep_id}'s metric {cfg.metric!r} was never logged by run {run['id']} (it logged: {logged}); "
        f"the sweep cannot rank the run (best run, bayes, hyperband). Log it: run.log({{{cfg.metric!r}: value}})",
    )
