"""``tracklet.Api``: find runs, projects, artifacts and registered models in a store.

Every query first catches the store up with the WALs beside it, so a run that was
killed before its records were ingested still shows everything it acknowledged.
The stored run is ``ApiRun`` (``api._run``); its history rows are put together in ``api._history``.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing is not imported at run time: it costs ~4 ms of `import tracklet`
if TYPE_CHECKING:
    from typing import Any

from ._filters import matches, sorted_runs
from ._run import ApiRun
from .._errors import UsageError

__all__ = ["Api", "ApiRun", "Project"]


class Api:
    """Query the local store in ``dir`` (default ``TRACKLET_DIR`` or ``./tracklet-runs``).

    Example:
        >>> api = tracklet.Api()
        >>> run = api.run("llm-finetuning/abc123xy")
        >>> [row["train/loss"] for row in run.scan_history(keys=["train/loss"])]
    """

    def __init__(self, dir: str | None = None, overrides: dict[str, Any] | None = None, timeout: float | None = None) -> None:
        from .._settings import resolve_settings

        given = dir or (overrides or {}).get("dir")
        self._root = resolve_settings({"dir": given}).dir
        self._engine: Any = None

    @property
    def dir(self) -> str:
        return self._root

    def _reader(self) -> Any:
        """Something with ``connect()`` for raw reads: plain sqlite3 when the store is up to date
        (no SQLAlchemy import, 0.3 s), else the caught-up SQLAlchemy engine."""
        from ..store.sql._lite import LiteEngine, up_to_date

        if up_to_date(self._root):
            return LiteEngine(self._root)
        return self._db()

    def _db(self) -> Any:
        from ..store.sql._catchup import catch_up
        from ..store.sql._engine import open_local

        if self._engine is None:
            if not os.path.isdir(self._root):
                raise UsageError(f"no tracklet store at {self._root}; pass dir= or set TRACKLET_DIR to where your runs are")
            self._engine = open_local(self._root)
        catch_up(self._engine, self._root)
        return self._engine

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
        from sqlalchemy import select

        from ..store.sql import _schema as S

        engine = self._db()
        q = select(S.runs, S.projects.c.name.label("project_name"), S.projects.c.entity.label("project_entity")).join(
            S.projects, S.projects.c.id == S.runs.c.project_id
        )
        if path:
            entity, project = _split_project(path)
            q = q.where(S.projects.c.name == project)
            if entity is not None:
                q = q.where(S.projects.c.entity == entity)
        with engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
            conn.rollback()
        found = [ApiRun(self, dict(r)) for r in rows]
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
        run_id = parts[-1]
        from ..store.sql._lite import run_row, up_to_date

        lite = run_row(self._root, run_id) if up_to_date(self._root) else None
        if lite is not None and not (lite["state"] == "running" and self._maybe_crashed(lite)):
            return self._checked(ApiRun(self, lite), parts)
        from sqlalchemy import select

        from ..store.sql import _schema as S

        engine = self._db()
        q = (
            select(S.runs, S.projects.c.name.label("project_name"), S.projects.c.entity.label("project_entity"))
            .join(S.projects, S.projects.c.id == S.runs.c.project_id)
            .where(S.runs.c.run_id == run_id)
        )
        with engine.connect() as conn:
            row = conn.execute(q).mappings().first()
            conn.rollback()
        if row is None:
            raise UsageError(f"no run {run_id!r} in {self._root}; list runs with: tracklet runs --dir {self._root}")
        return self._checked(ApiRun(self, dict(row)), parts)

    def _maybe_crashed(self, row: dict[str, Any]) -> bool:
        """A 'running' run whose process is gone, or whose log went silent: the full path decides."""
        import time

        from ..tracking._local import STALE_AFTER
        from ..tracking._resume import pid_alive

        if pid_alive(row["pid"], row["host"]) is False:
            return True
        try:
            silent = time.time() - os.path.getmtime(os.path.join(self._root, "runs", row["run_id"], "run.tlog"))
        except OSError:
            return True
        return silent > STALE_AFTER

    @staticmethod
    def _checked(run: "ApiRun", parts: list[str]) -> "ApiRun":
        if len(parts) >= 2 and parts[-2] != run.project:
            raise UsageError(f"run {run.id!r} belongs to project {run.project!r}, not {parts[-2]!r}")
        return run

    # -- artifacts and the registry ---------------------------------------------------------------
    def artifact(self, name: str, type: str | None = None, default_project: str | None = None) -> Any:
        """One artifact version: ``"project/name:alias"``, ``"project/name:v3"`` or ``"registry/model:production"``.

        Without a project in ``name``, ``TRACKLET_PROJECT`` (or the settings file) supplies it.
        """
        from .._settings import resolve_settings

        project = default_project or resolve_settings({}).project
        art = self._artifact_lite(name, type, project)
        if art is not None:
            return art
        from ._artifacts import find_artifact

        with self._db().connect() as conn:
            art = find_artifact(self._root, conn, name, type, project)
            conn.rollback()
        return art

    def _artifact_lite(self, name: str, type: str | None, project: str | None) -> Any:
        """The lookup on plain sqlite3 when the store is up to date: no SQLAlchemy import (0.3 s)."""
        from ..artifacts._artifact import parse_artifact_path
        from ..store.sql._lite import find_artifact, up_to_date

        if name.strip("/").split("/", 1)[0] in ("registry", "model-registry") or not up_to_date(self._root):
            return None
        entity, project, art_name, alias = parse_artifact_path(name, project)
        if project is None:
            return None
        row = find_artifact(self._root, project, entity, art_name, alias)
        if row is None or (type is not None and row["type"] != type):
            return None  # the full path below says what is wrong
        from ..artifacts._ops import artifact_from_store

        return artifact_from_store(self._root, row, {"name": art_name}, {"name": project, "entity": row["entity"]}, row["aliases"])

    def artifact_versions(self, name: str, type: str | None = None) -> list[Any]:
        """Every committed version of ``"project/name"``, oldest first."""
        from ._artifacts import list_versions
        from .._settings import resolve_settings

        with self._db().connect() as conn:
            found = list_versions(self._root, conn, name, resolve_settings({}).project)
            conn.rollback()
        return [a for a in found if type is None or a.type == type]

    def artifact_collections(self, project: str | None = None, type: str | None = None) -> list[dict[str, Any]]:
        """Artifact names with their type, version count and size (all projects when ``project`` is None)."""
        from ._artifacts import list_collections

        with self._db().connect() as conn:
            out = list_collections(conn, project, type)
            conn.rollback()
        return out

    def registered_model(self, name: str) -> Any:
        """A model registry entry (``"llama3-chat"`` or ``"registry/llama3-chat"``)."""
        from ._artifacts import RegisteredModel, registered_models

        name = name.split("/")[-1]
        with self._db().connect() as conn:
            rows = {r["name"]: r for r in registered_models(conn)}
            conn.rollback()
        if name not in rows:
            raise UsageError(f"no registered model {name!r}; known: {sorted(rows) or 'none yet'}")
        return RegisteredModel(self, name, rows[name])

    def registered_models(self) -> list[Any]:
        from ._artifacts import RegisteredModel, registered_models

        with self._db().connect() as conn:
            rows = registered_models(conn)
            conn.rollback()
        return [RegisteredModel(self, r["name"], r) for r in rows]

    def _artifact_runs(self, version_id: int, kind: str, first: bool) -> Any:
        from ._artifacts import runs_of_version

        with self._db().connect() as conn:
            ids = runs_of_version(conn, version_id, kind)
            conn.rollback()
        runs = [self.run(i) for i in ids]
        return (runs[0] if runs else None) if first else runs

    def _problems(self) -> list[dict[str, Any]]:
        """Every run's problems (see ``ApiRun.problems``), with its id, for ``tracklet doctor``."""
        with self._reader().connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT r.run_id, p.kind, p.at_offset, p.size, p.records, p.detail FROM run_problems p "
                "JOIN runs r ON r.pk = p.run_pk ORDER BY r.run_id, p.at_offset"
            ).fetchall()
            conn.rollback()
        return [{"run_id": i, "kind": k, "offset": o, "bytes": b, "records": n, "detail": d} for i, k, o, b, n, d in rows]

    def projects(self, entity: str | None = None, per_page: int | None = None) -> list["Project"]:
        """Every project in the store (only ``entity``'s when given), by name."""
        from sqlalchemy import func, select

        from ..store.sql import _schema as S

        engine = self._db()
        q = (
            select(S.projects.c.entity, S.projects.c.name, S.projects.c.created_at, func.count(S.runs.c.pk).label("runs"))
            .select_from(S.projects.outerjoin(S.runs, S.runs.c.project_id == S.projects.c.id))
            .group_by(S.projects.c.id)
            .order_by(S.projects.c.name)
        )
        if entity is not None:
            q = q.where(S.projects.c.entity == entity)
        with engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(q).mappings()]
            conn.rollback()
        return [Project(self, r) for r in rows]

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
            raise UsageError(f"no project {name!r} in {self._root}; known: {', '.join(known) or 'none yet'}")
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
