"""``method: bayes``: Optuna's ask-and-tell, fed with every trial of the sweep at each suggestion.

The controller keeps no state between suggestions (the store is the state, shared by every agent),
so each suggestion builds an in-memory study from the sweep's trials: finished runs with their
metric as complete, failed and crashed runs (and finished ones that never logged the metric) as
failed, running and just-claimed ones as running. TPE with ``constant_liar`` then treats the running
ones as if they had come out badly, so parallel agents do not all propose the same point.
Optuna is imported only here (``pip install 'tracklet[sweeps]'``).

TPE only, with no config key for another sampler: Optuna's GPSampler needs torch and SciPy (not in the
``sweeps`` extra), and refits its Gaussian process at every suggestion, where TPE keeps a suggestion with
200 finished runs under the 50 ms target and needs 58-85% fewer runs than random search
(benchmarks/RESULTS.md, section ``sweeps``).
"""

from __future__ import annotations

import math
import warnings

from .._errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._config import Param, SweepConfig

__all__ = ["suggest"]


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise UsageError("method 'bayes' needs Optuna: pip install 'tracklet[sweeps]'") from None
    return optuna


def _distributions(optuna: Any, params: list[Param]) -> dict[str, Any]:
    D = optuna.distributions
    out = {}
    for p in params:
        if p.distribution == "constant":
            continue
        if p.distribution == "categorical":
            out[p.name] = D.CategoricalDistribution(list(range(len(p.values))))  # indices: any JSON value may be a choice
        elif p.distribution == "int_uniform":
            out[p.name] = D.IntDistribution(int(p.min), int(p.max))
        else:
            lo, hi, log = p.bounds()
            out[p.name] = D.FloatDistribution(lo, hi, log=log)
    return out


def _internal(p: Param, dist: Any, value: Any) -> Any:
    """A stored value as the optimiser's parameter (a category's index; a number clamped into its range)."""
    if p.distribution == "categorical":
        import json

        keys = [json.dumps(v, sort_keys=True) for v in p.values]
        found = json.dumps(value, sort_keys=True)
        return keys.index(found) if found in keys else None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return None
    value = min(max(value, dist.low), dist.high)
    return int(value) if p.distribution == "int_uniform" else float(value)


def _external(p: Param, value: Any) -> Any:
    if p.distribution == "categorical":
        return p.values[value]
    if p.distribution == "int_uniform":
        return int(value)
    lo, hi, _ = p.bounds()
    return p.quantize(min(max(float(value), lo), hi))


def suggest(
    cfg: SweepConfig, history: list[tuple[dict[tuple[str, ...], Any], str, float | None]],
    seed: int | None = None,
) -> dict[tuple[str, ...], Any]:
    """The next point (path -> value) given ``history``: ``(point, state, value)`` with state
    ``complete``, ``fail`` or ``running``."""
    optuna = _optuna()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists = _distributions(optuna, cfg.params)
    by_name = {p.name: p for p in cfg.params}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        chosen = optuna.samplers.TPESampler(seed=seed, constant_liar=True, multivariate=True, group=True)
        study = optuna.create_study(direction="maximize" if cfg.goal == "maximize" else "minimize", sampler=chosen)
        states = {"complete": optuna.trial.TrialState.COMPLETE, "fail": optuna.trial.TrialState.FAIL,
                  "running": optuna.trial.TrialState.RUNNING}
        trials = []
        for point, state, value in history:
            internal = {}
            for path, v in point.items():
                name = ".".join(path)
                if name in dists:
                    iv = _internal(by_name[name], dists[name], v)
                    if iv is not None:
                        internal[name] = iv
            if set(internal) != set(dists):
                continue  # a trial of an earlier version of the space: nothing to learn from
            if state == "complete" and (value is None or not math.isfinite(value)):
                state = "fail"
            trials.append(optuna.trial.create_trial(
                params=internal, distributions=dists, state=states[state], value=value if state == "complete" else None,
            ))
        if trials:
            study.add_trials(trials)
        asked = study.ask(dists)
    out = {p.path: p.value for p in cfg.params if p.distribution == "constant"}
    for name, value in asked.params.items():
        out[by_name[name].path] = _external(by_name[name], value)
    return {p.path: out[p.path] for p in cfg.params}
