"""``tracklet.sweep(config)``: check a config and store it as a new sweep; and changing a sweep's state."""

from __future__ import annotations

import sys

from .._errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ..store import Store

__all__ = ["ACTIONS", "change_state", "open_store", "sweep", "split_sweep_path"]

# action -> (the state it sets, the states it applies to)
ACTIONS: dict[str, tuple[str, list[str]]] = {
    "pause": ("paused", ["running"]),
    "resume": ("running", ["paused"]),
    "stop": ("stopped", ["running", "paused"]),
    "cancel": ("cancelled", ["running", "paused", "stopped"]),
}


def open_store(dir: str | None = None) -> Store:
    """The store runs go to with these settings: the folder's SQL store, or the tracklet server of remote mode."""
    from ..api._api import Api

    return Api(dir=dir).store


def sweep(
    sweep: dict[str, Any], entity: str | None = None, project: str | None = None, prior_runs: list[str] | None = None,
    dir: str | None = None,
) -> str:
    """Check ``sweep`` (wandb's sweep config) and store it; returns the sweep id agents take.

    Example:
        >>> sweep_id = tracklet.sweep({"method": "grid", "parameters": {"lr": {"values": [1e-3, 1e-4]}}}, project="p")
        >>> tracklet.agent(sweep_id, function=train, count=2)

    ``prior_runs`` (run ids) join the sweep as finished trials, as in wandb: their configs' values of the swept
    parameters are their points (a grid skips those points; bayes learns from their metric).

    Raises:
        UsageError: the config is wrong (unknown key, impossible range, ...): nothing is stored.
    """
    from .._ids import new_run_id
    from .._settings import resolve_settings
    from ._config import check_config

    cfg = check_config(sweep)
    if prior_runs is not None and (isinstance(prior_runs, str) or not all(isinstance(r, str) for r in prior_runs)):
        raise UsageError(f"prior_runs must be a list of run ids ('run_id' or 'project/run_id'); got {prior_runs!r}")
    if cfg.method == "bayes":
        from ._bayes import _optuna

        _optuna()  # a missing optimiser is said now, not by the first agent
    settings = resolve_settings({"project": project or cfg.raw.get("project"), "entity": entity or cfg.raw.get("entity"), "dir": dir})
    store = open_store(dir)
    priors = _prior_runs(store, cfg, prior_runs or [])
    sweep_id = new_run_id()
    store.create_sweep(sweep_id, settings.project, settings.entity, cfg.raw, cfg.raw.get("name"))
    _add_prior_trials(store, sweep_id, cfg, priors)
    if not settings.silent:
        where = f"{settings.entity}/{settings.project}" if settings.entity else settings.project
        print(f"tracklet: created sweep {sweep_id} ({cfg.method}) in project {where}; "
              f"run agents with: tracklet agent {where}/{sweep_id}", file=sys.stderr)
    return sweep_id


def _prior_runs(store: Store, cfg: Any, paths: list[str]) -> list[dict[str, Any]]:
    """The runs ``prior_runs`` names, read before the sweep is made: an unknown one or one already a trial is refused."""
    runs = []
    for path in dict.fromkeys(paths):
        run_id = path.strip("/").rsplit("/", 1)[-1]
        run = store.run(run_id) if run_id else None
        if run is None:
            raise UsageError(f"prior run {path!r} is not in {store.location}: nothing was created (list runs with `tracklet runs`)")
        held_by = store.sweeps(run_id=run_id)
        if held_by:
            raise UsageError(f"prior run {path!r} is already a trial of sweep {held_by[0]['id']}: nothing was created")
        runs.append(run)
    return runs


def _add_prior_trials(store: Store, sweep_id: str, cfg: Any, runs: list[dict[str, Any]]) -> None:
    """Make each prior run a trial of the new sweep, with the values its config has for the sweep's parameters:
    a grid counts its point as done, bayes learns from its metric, ``run_cap`` counts it."""
    from ._config import flatten, nest, point_key

    for run in runs:
        flat = flatten(run["config"], cfg.params)
        grid_point = next((g for g in cfg.grid() if g == flat), None) if cfg.method == "grid" else None
        point = point_key(grid_point) if grid_point is not None else None  # the grid's values: 16.0 logged is its 16
        trial = {"run_id": run["id"], "params": nest(flat), "point": point, "replaces": None,
                 "agent": "prior_runs", "host": run.get("host"), "pid": run.get("pid")}
        answer = store.claim_trial(sweep_id, trial)
        if not answer["claimed"] and answer["reason"] == "taken":  # an earlier prior run holds that grid point
            answer = store.claim_trial(sweep_id, {**trial, "point": None})
        if not answer["claimed"]:
            raise UsageError(f"sweep {sweep_id} took {runs.index(run)} of the {len(runs)} prior runs: "
                             f"its run_cap ({cfg.raw.get('run_cap')}) is reached; raise it or pass fewer")


def split_sweep_path(path: str, project: str | None = None, entity: str | None = None) -> tuple[str, str | None, str | None]:
    """``"entity/project/id"``, ``"project/id"`` or ``"id"`` -> ``(id, project, entity)``."""
    if not isinstance(path, str) or not path.strip("/") or path.count("/") > 2:
        raise UsageError(f"a sweep is 'sweep_id', 'project/sweep_id' or 'entity/project/sweep_id'; got {path!r}")
    parts = path.strip("/").split("/")
    if len(parts) >= 2:
        project = parts[-2]
    if len(parts) == 3:
        entity = parts[0]
    return parts[-1], project, entity


def find_sweep(store: Store, path: str, project: str | None = None, entity: str | None = None) -> dict[str, Any]:
    """The sweep ``path`` names, checked against ``project``; ``UsageError`` says what exists."""
    sweep_id, project, entity = split_sweep_path(path, project, entity)
    doc = store.sweep(sweep_id)
    if doc is None:
        raise UsageError(f"no sweep {sweep_id!r} in {store.location}; `tracklet sweep ls` lists them")
    if project is not None and doc["project"] != project:
        raise UsageError(f"sweep {sweep_id!r} belongs to project {doc['project']!r}, not {project!r}")
    return doc


def change_state(store: Store, path: str, action: str) -> tuple[str, str]:
    """Apply ``action`` (pause, resume, stop, cancel) to a sweep; returns ``(state before, state after)``."""
    if action not in ACTIONS:
        raise UsageError(f"a sweep action is one of {', '.join(ACTIONS)}; got {action!r}")
    doc = find_sweep(store, path)
    state, allowed = ACTIONS[action]
    if doc["state"] not in allowed:
        raise UsageError(f"sweep {doc['id']} is {doc['state']}: `{action}` applies only to a sweep that is {' or '.join(allowed)}")
    return doc["state"], store.set_sweep_state(doc["id"], state, only_from=allowed)
