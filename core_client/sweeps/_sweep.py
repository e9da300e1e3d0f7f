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

    Raises:
        UsageError: the config is wrong (unknown key, impossible range, ...): nothing is stored.
    """
    from .._ids import new_run_id
    from .._settings import resolve_settings
    from ._config import check_config

    cfg = check_config(sweep)
    if prior_runs:
        raise UsageError("tracklet.sweep(prior_runs=...) is not supported: start the sweep without them")
    if cfg.method == "bayes":
        from ._bayes import _optuna

        _optuna()  # a missing optimiser is said now, not by the first agent
    settings = resolve_settings({"project": project or cfg.raw.get("project"), "entity": entity or cfg.raw.get("entity"), "dir": dir})
    store = open_store(dir)
    sweep_id = new_run_id()
    store.create_sweep(sweep_id, settings.project, settings.entity, cfg.raw, cfg.raw.get("name"))
    if not settings.silent:
        where = f"{settings.entity}/{settings.project}" if settings.entity else settings.project
        print(f"tracklet: created sweep {sweep_id} ({cfg.method}) in project {where}; "
              f"run agents with: tracklet agent {where}/{sweep_id}", file=sys.stderr)
    return sweep_id


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
