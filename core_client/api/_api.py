"""``tracklet.Api``: find runs, projects, artifacts and registered models in a store.

Every question goes through the store interface (``store._interface.Store``): the SQL store of a
folder, which first catches up with the run logs beside it (so a run killed before its records
were ingested still shows everything it acknowledged), or a tracklet server. The stored run is
``ApiRun`` (``api._run``).
"""

from __future__ import annotations


TYPE_CHECKING = False  # typing is not imported at run time: it costs ~4 ms of `import tracklet`
if TYPE_CHECKING:
    from typing import Any

    from ..store import Store

from ._filters import matches, sorted_runs
from ._run import ApiRun
from .._errors import UsageError

__all__ = ["Api", "ApiRun", "Project"]


class Api:
    """Query the local store in ``dir`` (default ``TRACKLET_DIR`` or ``./tracklet-runs``), or a tracklet server.

    The server is ``base_url`` (or wandb's ``overrides={"base_url": ...}``) with ``api_key``, else the
    one remote mode logs to (``TRACKLET_BASE_URL`` and ``TRACKLET_API_KEY``, or ``tracklet login``)
    unless ``dir`` names a local store. Both answer the same questions with the same results.

    Example:
        >>> api = tracklet.Api()
        >>> run = api.run("llm-finetuning/abc123xy")
        >>> [row["train/loss"] for row in run.scan_history(keys=["train/loss"])]
        >>> remote = tracklet.Api(base_url="http://server:8080", api_key=os.environ["TRACKLET_API_KEY"])
    """

    def __init__(
        self,
        dir: str | None = None,
        overrides: dict[str, Any] | None = None,
        timeout: float | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
    ) -> None:
        from .._settings import resolve_settings

        given = dir or (overrides or {}).get("dir")
        base_url = base_url or (overrides or {}).get("base_url")
        settings = resolve_settings({"dir": given, "base_url": base_url, "api_key": api_key})
        self._root = settings.dir  # remote too: the local folder of caches
        if settings.base_url is not None and (base_url is not None or (given is None and settings.mode == "remote")):
            from ..remote._store import RemoteStore

            self._store: Store = RemoteStore(settings.base_url, settings.api_key)
        else:
            from ..store.sql import SqlStore

            self._store = SqlStore(self._root)

    @classmethod
    def _over(cls, store: Store, root: str) -> "Api":
        """An ``Api`` over a store already open (an artifact's server), with ``root`` as its folder of caches."""
        api = cls.__new__(cls)
        api._root, api._store = root, store
        return api

    @property
    def dir(self) -> str:
        return self._root

    @property
    def store(self) -> Store:
        """The store this ``Api`` asks (the SQL store of ``dir``, or a tracklet server's)."""
        return self._store

    # -- traced calls -------------------------------------------------------------------------
    def calls(
        self, project: str, filter: dict[str, Any] | None = None, order: str = "started_at", limit: int | None = None
    ) -> Any:
        """The calls of ``project`` (``entity/project`` too) matching ``filter``, as a ``Calls`` list.

        ``filter`` keys: ``op``, ``trace_id``, ``parent_id``, ``run_id``, ``status``, ``kind``, ``since``,
        ``until`` (Unix seconds or datetimes), ``min_latency_ms``, ``max_latency_ms``, ``min_tokens``,
        ``min_cost``, ``roots`` (True: trace roots only), ``feedback`` (a kind), ``prompt`` (a published prompt's
        ``name:vN`` or ``name:alias``, or ``name`` for any version: the calls that used it, and their parents).
        ``order``: ``started_at``, ``-latency_ms``, ``-total_tokens``, ``-cost``, ``op_name``, ``status``
        (``-``: largest first).

        >>> slowest = api.calls("my-llm-project", {"op": "generate"}, order="-latency_ms", limit=50)
        >>> slowest.to_pandas()
        """
        from ._calls import ApiCall, Calls, call_filters

        entity, _, name = project.rpartition("/")
        filters = call_filters(filter)
        if isinstance(filters.get("prompt"), str):
            filters["prompt"] = self._prompt_version(project, filters["prompt"])
        docs = self._store.calls(name, entity or None, filters, order, limit)
        return Calls(ApiCall(self._store, d) for d in docs)

    def _prompt_version(self, project: str, uri: str) -> str:
        """``name:alias`` as the ``name:vN`` it points at (``name`` and ``name:vN`` as they are)."""
        name, _, version = uri.partition(":")
        if not version or (version[:1] == "v" and version[1:].isdigit()):
            return uri
        return f"{name}:{self.artifact(f'{project}/{uri}').version}"

    def prompt_versions(self, project: str, name: str) -> list[dict[str, Any]]:
        """Compare the versions of prompt ``name`` by what the calls that used them cost and scored.

        One dict per version used, oldest first: ``version`` (``name:vN``); ``traces`` (the traces whose calls
        formatted it, evaluations left out) with ``calls``, ``errors``, ``latency_ms``, ``total_tokens`` and
        ``cost`` (means per trace; cost None without prices); ``evaluations`` run with it, each with its
        ``name``, ``model``, ``scores`` (the summary per scorer), ``latency_ms``, ``total_tokens`` and ``cost``.

        >>> for v in api.prompt_versions("my-llm-project", "qa"):
        ...     print(v["version"], v["traces"]["latency_ms"], [e["scores"] for e in v["evaluations"]])
        """
        from ._calls import compare_prompt_versions

        if not isinstance(name, str) or not name or ":" in name:
            raise UsageError(f"prompt_versions() takes a published prompt's name such as 'qa' (no version), got {name!r}")
        return compare_prompt_versions(name, self.calls(project, {"prompt": name}))

    def call(self, call_id: str) -> Any:
        """One call by id (``.children``, ``.trace()``, ``.feedback``); raises ``UsageError`` if there is none."""
        from ._calls import ApiCall

        doc = self._store.call(call_id)
        if doc is None:
            raise UsageError(f"no call {call_id!r} in {self._store.location}; `tracklet calls PROJECT` lists the calls")
        return ApiCall(self._store, doc)

    def evaluations(self, project: str) -> Any:
        """The evaluations run in ``project`` (their calls; ``output`` holds each scorer's summary), oldest first."""
        return self.calls(project, {"kind": "evaluation"})

    # -- runs --------------------------------------------------------------------------------
    def runs(
        self,
        path: str | None = None,
        filters: dict[str, Any] | None = None,
        order: str = "+created_at",
        per_page: int | None = None,
        include_sweeps: bool = True,
        lazy: bool = True,
    ) -> list["ApiRun"]:
        """Runs of a project (``"project"`` or ``"entity/project"``; None: every project), filtered and sorted.

        Oldest first by default, as in wandb (``order="-created_at"`` for newest first).

        ``filters`` is MongoDB-style as in wandb: ``{"state": "finished"}``,
        ``{"config.lr": {"$lt": 1e-3}}``, ``{"tags": {"$in": ["baseline"]}}``, ``{"$or": [...]}``.
        ``order`` is a field with ``-`` (descending) or ``+``: ``"-summary.val/loss"``.
        """
        entity, project = _split_project(path) if path else (None, None)
        found = [ApiRun(self, doc) for doc in self._store.runs(project, entity)]
        if filters:
            found = [r for r in found if matches(r._doc(), filters)]
        return sorted_runs(found, order)

    def run(self, path: str) -> "ApiRun":
        """One run by ``"project/run_id"``, ``"entity/project/run_id"`` or ``"run_id"``."""
        if not isinstance(path, str) or not path.strip("/"):
            raise UsageError(f"Api.run() takes 'project/run_id'; got {path!r}")
        parts = path.strip("/").split("/")
        if len(parts) > 3:
            raise UsageError(f"Api.run() takes 'project/run_id' or 'entity/project/run_id'; got {path!r}")
        doc = self._store.run(parts[-1])
        if doc is None:
            where = self._store.location
            raise UsageError(f"no run {parts[-1]!r} in {where}; list runs with: tracklet runs --dir {where}")
        run = ApiRun(self, doc)
        if len(parts) >= 2 and parts[-2] != run.project:
            raise UsageError(f"run {run.id!r} belongs to project {run.project!r}, not {parts[-2]!r}")
        return run

    # -- sweeps ---------------------------------------------------------------------------------
    def sweep(self, path: str) -> Any:
        """One sweep by ``"project/sweep_id"``, ``"entity/project/sweep_id"`` or ``"sweep_id"``: its
        ``.config``, ``.state``, ``.runs`` and ``.best_run()``."""
        from ._sweep import Sweep

        return Sweep.find(self, path)

    def sweeps(self, path: str | None = None) -> list[Any]:
        """The sweeps of a project (``"project"`` or ``"entity/project"``; None: every project), oldest first."""
        from ._sweep import Sweep

        entity, project = _split_project(path) if path else (None, None)
        return [Sweep(self, doc) for doc in self._store.sweeps(project, entity)]

    # -- artifacts and the registry ---------------------------------------------------------------
    def artifact(self, name: str, type: str | None = None, default_project: str | None = None) -> Any:
        """One artifact version: ``"project/name:alias"``, ``"project/name:v3"`` or ``"registry/model:production"``.

        Without a project in ``name``, ``TRACKLET_PROJECT`` (or the settings file) supplies it.
        """
        from .._settings import resolve_settings
        from ._artifacts import find_artifact

        project = default_project or resolve_settings({}).project
        return find_artifact(self, name, type, project)

    def artifact_versions(self, name: str, type: str | None = None) -> list[Any]:
        """Every committed version of ``"project/name"``, oldest first."""
        from .._settings import resolve_settings
        from ._artifacts import list_versions

        found = list_versions(self, name, resolve_settings({}).project)
        return [a for a in found if type is None or a.type == type]

    def artifact_collections(self, project: str | None = None, type: str | None = None) -> list[dict[str, Any]]:
        """Artifact names with their type, version count and size (all projects when ``project`` is None)."""
        return self._store.artifact_collections(project, type)

    def registered_model(self, name: str) -> Any:
        """A model registry entry (``"llama3-chat"`` or ``"registry/llama3-chat"``)."""
        from ._artifacts import RegisteredModel

        name = name.split("/")[-1]
        rows = {r["name"]: r for r in self._store.registered_models()}
        if name not in rows:
            raise UsageError(f"no registered model {name!r}; known: {sorted(rows) or 'none yet'}")
        return RegisteredModel(self, name, rows[name])

    def registered_models(self) -> list[Any]:
        from ._artifacts import RegisteredModel

        return [RegisteredModel(self, r["name"], r) for r in self._store.registered_models()]

    def _artifact_runs(self, version_id: int, kind: str, first: bool) -> Any:
        runs = [self.run(i) for i in self._store.artifact_runs(version_id, kind)]
        return (runs[0] if runs else None) if first else runs

    def _problems(self) -> list[dict[str, Any]]:
        """Every run's problems (see ``ApiRun.problems``), with its id, for ``tracklet doctor``."""
        return self._store.problems()

    def projects(self, entity: str | None = None, per_page: int | None = None) -> list["Project"]:
        """Every project in the store (only ``entity``'s when given), by name."""
        return [Project(self, r) for r in self._store.projects(entity)]

    def project(self, name: str, entity: str | None = None) -> "Project":
        """One project by name (``"project"`` or ``"entity/project"``).

        Raises:
            UsageError: no such project in the store.
        """
        if not isinstance(name, str) or not name.strip("/"):
            raise UsageError(f"Api.project() takes a project name; got {name!r}")
        if "/" in name.strip("/"):
            entity, name = _split_project(name)
        found = [p for p in self.projects() if p.name == name and (entity is None or p.entity == entity)]
        if not found:
            known = sorted({p.name for p in self.projects()})
            raise UsageError(f"no project {name!r} in {self._store.location}; known: {', '.join(known) or 'none yet'}")
        return found[0]

    def artifact_exists(self, name: str, type: str | None = None) -> bool:
        """Whether the artifact version ``name`` (``"project/name:alias"``, ``"registry/model:v0"``) exists.

        Raises:
            UsageError: ``name`` is not an artifact path at all.
        """
        from ..artifacts._artifact import parse_artifact_path

        if not (isinstance(name, str) and name.strip("/").split("/", 1)[0] in ("registry", "model-registry")):
            parse_artifact_path(name)  # a malformed name is the caller's error, not a missing artifact
        try:
            self.artifact(name, type=type)
        except UsageError:
            return False
        return True


class Project:
    """A project in the store, with wandb's attribute names: ``name``, ``entity``, ``path``, ``created_at``."""

    def __init__(self, api: Api, row: dict[str, Any]) -> None:
        self._api = api
        self.name: str = row["name"]
        self.entity: str | None = row["entity"] or None
        self._created_at: float = row["created_at"]
        self.run_count: int = row["runs"]  # tracklet's: how many runs the project holds

    @property
    def path(self) -> list[str]:
        return [p for p in (self.entity, self.name) if p]

    @property
    def id(self) -> str:
        return "/".join(self.path)

    @property
    def created_at(self) -> str:
        from datetime import datetime, timezone

        return datetime.fromtimestamp(self._created_at, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def url(self) -> str:
        return "file://" + self._api.dir

    def runs(self, filters: dict[str, Any] | None = None, order: str = "+created_at") -> list["ApiRun"]:
        """The project's runs (``Api().runs("<project>", ...)``)."""
        return self._api.runs(self.id, filters=filters, order=order)

    def __getitem__(self, key: str) -> Any:
        """``project["name"]``, ``["entity"]``, ``["created_at"]``, ``["runs"]``: the dicts ``projects()`` gave before."""
        values = {"name": self.name, "entity": self.entity or "", "created_at": self._created_at, "runs": self.run_count}
        if key not in values:
            raise KeyError(key)
        return values[key]

    def __repr__(self) -> str:
        return f"<Project {'/'.join(self.path)}>"


def _split_project(path: str) -> tuple[str | None, str]:
    parts = path.strip("/").split("/")
    if len(parts) == 1:
        return None, parts[0]
    if len(parts) == 2:
        return parts[0], parts[1]
    raise UsageError(f"a project path is 'project' or 'entity/project'; got {path!r}")
