"""``Api().sweep("project/ID")``: a stored sweep, its runs and its best run."""

from __future__ import annotations

import math

from .._errors import UsageError
from ._run import ApiRun

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._api import Api

__all__ = ["Sweep"]


class Sweep:
    """A sweep as stored: ``id``, ``name``, ``project``, ``entity``, ``config``, ``state``, ``runs``, ``best_run()``."""

    def __init__(self, api: Api, doc: dict[str, Any]) -> None:
        self._api, self._doc = api, doc

    @classmethod
    def find(cls, api: Api, path: str) -> "Sweep":
        if not isinstance(path, str) or not path.strip("/") or path.count("/") > 2:
            raise UsageError(f"Api.sweep() takes 'project/sweep_id' or 'entity/project/sweep_id'; got {path!r}")
        parts = path.strip("/").split("/")
        doc = api.store.sweep(parts[-1])
        if doc is None:
            raise UsageError(f"no sweep {parts[-1]!r} in {api.store.location}; list them with: tracklet sweep ls")
        if len(parts) >= 2 and parts[-2] != doc["project"]:
            raise UsageError(f"sweep {parts[-1]!r} belongs to project {doc['project']!r}, not {parts[-2]!r}")
        return cls(api, doc)

    id = property(lambda self: self._doc["id"])
    name = property(lambda self: self._doc.get("name") or self._doc["id"])
    project = property(lambda self: self._doc["project"])
    entity = property(lambda self: self._doc.get("entity") or None)
    config = property(lambda self: self._doc["config"])

    @property
    def state(self) -> str:
        """``running``, ``paused``, ``finished``, ``stopped`` or ``cancelled``, as stored now."""
        return self._fresh()["state"]

    @property
    def path(self) -> str:
        prefix = f"{self.entity}/" if self.entity else ""
        return f"{prefix}{self.project}/{self.id}"

    def _fresh(self) -> dict[str, Any]:
        doc = self._api.store.sweep(self.id)
        if doc is not None:
            self._doc = doc
        return self._doc

    def trials(self) -> list[dict[str, Any]]:
        """Every trial handed out: ``number``, ``run_id``, ``params``, ``status``, ``run_state``, ``rungs``, ..."""
        return list(self._fresh()["trials"])

    @property
    def runs(self) -> list[ApiRun]:
        """The sweep's runs that have started, in trial order."""
        ids = [t["run_id"] for t in self.trials()]
        by_id = {d["id"]: d for d in self._api.store.runs(self.project, self.entity)}
        return [ApiRun(self._api, by_id[i]) for i in ids if i in by_id]

    def best_run(self, order: str | None = None) -> ApiRun | None:
        """The run with the best value of the sweep's metric (or of ``order``, e.g. ``"-summary.acc"``); None without one."""
        metric = (self.config.get("metric") or {})
        name, maximize = metric.get("name"), metric.get("goal") == "maximize"
        if order:
            maximize, name = order.startswith("-"), order.lstrip("+-").removeprefix("summary.")
        if not name:
            raise UsageError(f"sweep {self.id} has no metric; name one: best_run(order='-summary.accuracy')")
        best, best_value = None, None
        for run in self.runs:
            value = run.summary.get(name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                continue
            if best_value is None or (value > best_value if maximize else value < best_value):
                best, best_value = run, value
        return best

    def __repr__(self) -> str:
        return f"<Sweep {self.path} ({self._doc['state']})>"
