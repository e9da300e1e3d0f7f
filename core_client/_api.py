"""``tracklet.Api``: read runs, configs, summaries and history back from the store.

Every query first catches the store up with the WALs beside it, so a run that was
killed before its records were ingested still shows everything it acknowledged.
"""

from __future__ import annotations

import heapq
import os
from itertools import chain

TYPE_CHECKING = False  # typing is not imported at run time: it costs ~4 ms of `import tracklet`
if TYPE_CHECKING:
    from typing import Any, Iterator, Sequence

from ._errors import UsageError

__all__ = ["Api", "ApiRun", "Project"]

_NAN = float("nan")


def _nan(v: Any) -> Any:
    return _NAN if v is None else v  # SQLite stores NaN as NULL; nothing else is NULL there


class Api:
    """Query the local store in ``dir`` (default ``TRACKLET_DIR`` or ``./tracklet-runs``).

    Example:
        >>> api = tracklet.Api()
        >>> run = api.run("llm-finetuning/abc123xy")
        >>> [row["train/loss"] for row in run.scan_history(keys=["train/loss"])]
    """

    def __init__(self, dir: str | None = None, overrides: dict[str, Any] | None = None, timeout: float | None = None) -> None:
        from ._settings import resolve_settings

        given = dir or (overrides or {}).get("dir")
        self._root = resolve_settings({"dir": given}).dir
        self._engine: Any = None

    @property
    def dir(self) -> str:
        return self._root

    def _reader(self) -> Any:
        """Something with ``connect()`` for raw reads: plain sqlite3 when the store is up to date
        (no SQLAlchemy import, 0.3 s), else the caught-up SQLAlchemy engine."""
        from ._store_lite import LiteEngine, up_to_date

        if up_to_date(self._root):
            return LiteEngine(self._root)
        return self._db()

    def _db(self) -> Any:
        from ._store import catch_up, open_local

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

        from ._store import _schema as S

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
            found = [r for r in found if _matches(r._doc(), filters)]
        return _sorted(found, order)

    def run(self, path: str) -> "ApiRun":
        """One run by ``"project/run_id"``, ``"entity/project/run_id"`` or ``"run_id"``."""
        if not isinstance(path, str) or not path.strip("/"):
            raise UsageError(f"Api.run() takes 'project/run_id'; got {path!r}")
        parts = path.strip("/").split("/")
        if len(parts) > 3:
            raise UsageError(f"Api.run() takes 'project/run_id' or 'entity/project/run_id'; got {path!r}")
        run_id = parts[-1]
        from ._store_lite import run_row, up_to_date

        lite = run_row(self._root, run_id) if up_to_date(self._root) else None
        if lite is not None and not (lite["state"] == "running" and self._maybe_crashed(lite)):
            return self._checked(ApiRun(self, lite), parts)
        from sqlalchemy import select

        from ._store import _schema as S

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

        from ._local import STALE_AFTER
        from ._resume import pid_alive

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
        from ._settings import resolve_settings

        project = default_project or resolve_settings({}).project
        art = self._artifact_lite(name, type, project)
        if art is not None:
            return art
        from ._api_artifacts import find_artifact

        with self._db().connect() as conn:
            art = find_artifact(self._root, conn, name, type, project)
            conn.rollback()
        return art

    def _artifact_lite(self, name: str, type: str | None, project: str | None) -> Any:
        """The lookup on plain sqlite3 when the store is up to date: no SQLAlchemy import (0.3 s)."""
        from ._artifact import parse_artifact_path
        from ._store_lite import find_artifact, up_to_date

        if name.strip("/").split("/", 1)[0] in ("registry", "model-registry") or not up_to_date(self._root):
            return None
        entity, project, art_name, alias = parse_artifact_path(name, project)
        if project is None:
            return None
        row = find_artifact(self._root, project, entity, art_name, alias)
        if row is None or (type is not None and row["type"] != type):
            return None  # the full path below says what is wrong
        from ._artifact_ops import artifact_from_store

        return artifact_from_store(self._root, row, {"name": art_name}, {"name": project, "entity": row["entity"]}, row["aliases"])

    def artifact_versions(self, name: str, type: str | None = None) -> list[Any]:
        """Every committed version of ``"project/name"``, oldest first."""
        from ._api_artifacts import list_versions
        from ._settings import resolve_settings

        with self._db().connect() as conn:
            found = list_versions(self._root, conn, name, resolve_settings({}).project)
            conn.rollback()
        return [a for a in found if type is None or a.type == type]

    def artifact_collections(self, project: str | None = None, type: str | None = None) -> list[dict[str, Any]]:
        """Artifact names with their type, version count and size (all projects when ``project`` is None)."""
        from ._api_artifacts import list_collections

        with self._db().connect() as conn:
            out = list_collections(conn, project, type)
            conn.rollback()
        return out

    def registered_model(self, name: str) -> Any:
        """A model registry entry (``"llama3-chat"`` or ``"registry/llama3-chat"``)."""
        from ._api_artifacts import RegisteredModel, registered_models

        name = name.split("/")[-1]
        with self._db().connect() as conn:
            rows = {r["name"]: r for r in registered_models(conn)}
            conn.rollback()
        if name not in rows:
            raise UsageError(f"no registered model {name!r}; known: {sorted(rows) or 'none yet'}")
        return RegisteredModel(self, name, rows[name])

    def registered_models(self) -> list[Any]:
        from ._api_artifacts import RegisteredModel, registered_models

        with self._db().connect() as conn:
            rows = registered_models(conn)
            conn.rollback()
        return [RegisteredModel(self, r["name"], r) for r in rows]

    def _artifact_runs(self, version_id: int, kind: str, first: bool) -> Any:
        from ._api_artifacts import runs_of_version

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

        from ._store import _schema as S

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
        from ._artifact import parse_artifact_path

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


class ApiRun:
    """A stored run: its attributes, config, summary, and history."""

    def __init__(self, api: Api, row: dict[str, Any]) -> None:
        self._api = api
        self._load(row)

    def _load(self, row: dict[str, Any]) -> None:
        self._row = row
        # what update() persists: plain values, changed in place as in wandb (run.tags.append(...); run.update())
        self._tags = list(row["tags"] or [])
        self._config = dict(row["config"] or {})
        self._summary = RunSummary(self, row["summary"] or {})

    # -- attributes ----------------------------------------------------------------------------
    id = property(lambda self: self._row["run_id"])
    project = property(lambda self: self._row["project_name"])
    entity = property(lambda self: self._row["project_entity"] or None)
    state = property(lambda self: self._row["state"])
    config = property(lambda self: self._config, doc="The run's config; change it, then call update().")
    summary = property(lambda self: self._summary, doc="The run's summary; change it, then call update().")
    summary_metrics = summary
    metadata = property(lambda self: self._row["environment"])
    start_time = property(lambda self: self._row["created_at"])
    heartbeat_at = property(lambda self: self._row["heartbeat_at"])
    exit_code = property(lambda self: self._row["exit_code"])
    error = property(lambda self: self._row["error"])
    last_step = property(lambda self: self._row["last_step"])
    lastHistoryStep = last_step  # noqa: N815 - wandb's name

    @property
    def name(self) -> str:
        return self._row["name"]

    @name.setter
    def name(self, value: str) -> None:
        self._row["name"] = _text("name", value)

    display_name = name

    @property
    def tags(self) -> list[str]:
        return self._tags

    @tags.setter
    def tags(self, value: Any) -> None:
        from ._settings import _as_tags

        self._tags = list(_as_tags(value))

    @property
    def notes(self) -> str | None:
        return self._row["notes"]

    @notes.setter
    def notes(self, value: str | None) -> None:
        self._row["notes"] = None if value is None else _text("notes", value)

    @property
    def group(self) -> str | None:
        return self._row["group_name"]

    @group.setter
    def group(self, value: str | None) -> None:
        self._row["group_name"] = None if value is None else _text("group", value)

    @property
    def job_type(self) -> str | None:
        return self._row["job_type"]

    @job_type.setter
    def job_type(self, value: str | None) -> None:
        self._row["job_type"] = None if value is None else _text("job_type", value)

    def update(self) -> None:
        """Keep what was changed on this object (name, tags, notes, group, job_type, config, summary) in the store.

        The change is written to the run's log after its last record, as the run itself would
        write it, and read back at once.

        Example:
            >>> run = tracklet.Api().run("llm-finetuning/abc123xy")
            >>> run.tags.append("baseline"); run.config["note"] = "rerun"; run.summary["best"] = 0.91
            >>> run.update()

        Raises:
            UsageError: the run is still running (change it from the run: ``run.tags = ...``).
            StoreError: its log is missing or damaged.
        """
        from ._jsonable import to_jsonable
        from ._run_edits import append_edits
        from ._wal import RecordType

        stored = self._api.run(self.id)._row
        records: list[tuple[int, dict[str, Any]]] = []
        changed = {
            attr: self._row[col]
            for attr, col in (("name", "name"), ("notes", "notes"), ("group", "group_name"), ("job_type", "job_type"))
            if self._row[col] != stored[col]
        }
        if self._tags != list(stored["tags"] or []):
            changed["tags"] = [_text("tag", t) for t in self._tags]
        if changed:
            records.append((RecordType.UPDATE, changed))
        if self._config != (stored["config"] or {}):
            records.append((RecordType.CONFIG, {"replace": to_jsonable(self._config, "config")}))
        if dict(self._summary) != (stored["summary"] or {}):
            records.append((RecordType.SUMMARY, {"replace": to_jsonable(dict(self._summary), "summary")}))
        if records:
            append_edits(self._api.dir, self.id, records)
        self._load(self._api.run(self.id)._row)

    save = update  # wandb's other name for it

    def files(self, names: Sequence[str] | None = None, pattern: str | None = None, per_page: int | None = None) -> list[Any]:
        """The files kept with the run (``run.save()``), by name; only ``names`` when given.

        ``pattern`` is SQL LIKE as in wandb (``"%.json"``).
        """
        from ._run_files import list_files

        found = list_files(self.dir)
        if names:
            return [f for f in found if f.name in set(names)]
        if pattern:
            import fnmatch

            glob = pattern.replace("%", "*").replace("_", "?")
            return [f for f in found if fnmatch.fnmatchcase(f.name, glob)]
        return found

    def file(self, name: str) -> Any:
        """One file kept with the run, by name (``run.file("model.pt").download()``).

        Raises:
            UsageError: the run kept no file of that name.
        """
        found = self.files(names=[name])
        if not found:
            known = [f.name for f in self.files()]
            raise UsageError(f"run {self.id} kept no file {name!r}; it has: {', '.join(known) or 'none (save them with run.save())'}")
        return found[0]

    @property
    def path(self) -> list[str]:
        return [p for p in (self.entity, self.project, self.id) if p]

    @property
    def created_at(self) -> str:
        from datetime import datetime, timezone

        return datetime.fromtimestamp(self._row["created_at"], tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def runtime(self) -> float:
        end = self._row["finished_at"] or self._row["heartbeat_at"] or self._row["created_at"]
        return max(0.0, end - self._row["created_at"])

    @property
    def dir(self) -> str:
        return os.path.join(self._api.dir, "runs", self.id)

    def logged_artifacts(self) -> list[Any]:
        """The artifact versions this run logged (its outputs)."""
        return self._artifacts("output")

    def used_artifacts(self) -> list[Any]:
        """The artifact versions this run used (its inputs)."""
        return self._artifacts("input")

    def _artifacts(self, kind: str) -> list[Any]:
        from ._api_artifacts import run_artifacts

        with self._api._db().connect() as conn:
            out = run_artifacts(self._api.dir, conn, self._row["pk"], kind)
            conn.rollback()
        return out

    def problems(self) -> list[dict[str, Any]]:
        """What went wrong with this run's records: bytes of its log skipped as damaged (``kind="damaged"``),
        records dropped because the disk was full (``kind="lost"``). Empty for a healthy run."""
        with self._api._reader().connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT kind, at_offset, size, records, detail FROM run_problems WHERE run_pk = ? ORDER BY at_offset, kind",
                (self._row["pk"],),
            ).fetchall()
            conn.rollback()
        return [{"kind": k, "offset": o, "bytes": b, "records": n, "detail": d} for k, o, b, n, d in rows]

    def metric_definitions(self) -> list[dict[str, Any]]:
        return list(self._row["metric_defs"] or [])

    def _doc(self) -> dict[str, Any]:
        r = self._row
        return {
            "id": r["run_id"],
            "name": r["name"],
            "display_name": r["name"],
            "state": r["state"],
            "group": r["group_name"],
            "job_type": r["job_type"],
            "tags": r["tags"] or [],
            "notes": r["notes"],
            "created_at": r["created_at"],
            "config": r["config"] or {},
            "summary": r["summary"] or {},
            "summary_metrics": r["summary"] or {},
        }

    def __repr__(self) -> str:
        return f"<ApiRun {'/'.join(self.path)} ({self.state})>"

    # -- history -------------------------------------------------------------------------------
    def _keys(self, conn: Any) -> dict[str, int]:
        return {
            name: kid
            for kid, name in conn.exec_driver_sql("SELECT key_id, name FROM run_keys WHERE run_pk = ?", (self._row["pk"],))
        }

    def keys(self) -> list[str]:
        """Every metric name this run logged (history and system)."""
        with self._api._reader().connect() as conn:
            names = sorted(self._keys(conn))
            conn.rollback()
        return names

    def scan_history(
        self,
        keys: Sequence[str] | None = None,
        page_size: int | None = None,
        min_step: int | None = None,
        max_step: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Every history row, unsampled, in step order, with ``_step``, ``_timestamp`` and ``_runtime``.

        With ``keys``, only the steps that have all of them (as in wandb).
        """
        if isinstance(keys, str):
            raise UsageError(f"keys must be a list of metric names; got the string {keys!r} (write keys=[{keys!r}])")
        engine = self._api._reader()
        pk, created = self._row["pk"], self._row["created_at"]
        lo = -(2**63) if min_step is None else int(min_step)
        hi = 2**63 - 1 if max_step is None else int(max_step)
        with engine.connect() as conn:
            known = self._keys(conn)
            if keys is None:
                wanted = {n: k for n, k in known.items() if not n.startswith("system/")}
            else:
                if any(k not in known for k in keys):
                    conn.rollback()
                    return
                wanted = {k: known[k] for k in keys}
            if len(wanted) == 1 and keys is not None:
                (name, kid), = wanted.items()
                has_text = conn.exec_driver_sql(
                    "SELECT 1 FROM history_values WHERE run_pk = ? AND key_id = ? LIMIT 1", (pk, kid)
                ).fetchone()
                if has_text is None:
                    # one numeric curve: one range scan on the raw DBAPI cursor, no per-row Row objects
                    cur = conn.connection.driver_connection.cursor()
                    try:
                        cur.execute(
                            "SELECT step, ts, value FROM history WHERE run_pk = ? AND key_id = ? AND step >= ? AND step <= ? ORDER BY step",
                            (pk, kid, lo, hi),
                        )
                        nan = _NAN
                        while True:
                            chunk = cur.fetchmany(10_000)
                            if not chunk:
                                break
                            for step, ts, value in chunk:
                                r = ts / 1000.0
                                yield {"_step": step, "_timestamp": created + r, "_runtime": r, name: nan if value is None else value}
                    finally:
                        cur.close()
                    conn.rollback()
                    return
            need = len(wanted) if keys is not None else 1
            marks = ", ".join("?" * len(wanted))
            has_text = conn.exec_driver_sql(
                f"SELECT 1 FROM history_values WHERE run_pk = ? AND key_id IN ({marks}) LIMIT 1", (pk, *wanted.values())
            ).fetchone()
            if has_text is None and len(wanted) > 1:
                yield from _numeric_rows(conn.connection.driver_connection, pk, wanted, lo, hi, created, need)
                conn.rollback()
                return
            streams = []
            for name, kid in wanted.items():
                for table, fix in (("history", _nan), ("history_values", _json_value)):
                    cur = conn.exec_driver_sql(
                        f"SELECT step, ts, value FROM {table} WHERE run_pk = ? AND key_id = ? AND step >= ? AND step <= ? ORDER BY step",
                        (pk, kid, lo, hi),
                    )
                    streams.append(_tagged(name, fix, cur))
            yield from _merged_rows(streams, need, created)
            conn.rollback()

    def history(
        self,
        samples: int = 500,
        keys: Sequence[str] | None = None,
        x_axis: str = "_step",
        pandas: bool = True,
        stream: str = "default",
    ) -> Any:
        """Up to ``samples`` rows spread evenly over the run (first and last kept).

        A pandas DataFrame when pandas is installed and ``pandas=True``, else a list of dicts.
        ``stream="system"`` gives the system metrics instead, by time.
        """
        if stream == "system":
            rows = self._system_rows(keys)
        elif stream == "default":
            rows = list(self.scan_history(keys=keys))
        else:
            raise UsageError(f"stream must be 'default' or 'system'; got {stream!r}")
        if x_axis != "_step" and rows:
            rows = [r for r in rows if x_axis in r]
        if samples and len(rows) > samples:
            if samples == 1:
                rows = rows[-1:]
            else:
                last = len(rows) - 1
                rows = [rows[round(i * last / (samples - 1))] for i in range(samples)]
        if pandas:
            try:
                import pandas as pd
            except ImportError:
                return rows
            return pd.DataFrame(rows)
        return rows

    def _system_rows(self, keys: Sequence[str] | None) -> list[dict[str, Any]]:
        engine = self._api._reader()
        pk, created = self._row["pk"], self._row["created_at"]
        with engine.connect() as conn:
            known = {n: k for n, k in self._keys(conn).items() if n.startswith("system/")}
            if keys is not None:
                known = {n: k for n, k in known.items() if n in keys}
            names = {k: n for n, k in known.items()}
            by_ts: dict[int, dict[str, Any]] = {}
            if names:
                marks = ",".join("?" * len(names))
                for kid, ts, value in conn.exec_driver_sql(
                    f"SELECT key_id, ts, value FROM system_metrics WHERE run_pk = ? AND key_id IN ({marks}) ORDER BY ts",
                    (pk, *names),
                ):
                    by_ts.setdefault(ts, {})[names[kid]] = _nan(value)
            conn.rollback()
        return [{"_timestamp": created + ts / 1000.0, "_runtime": ts / 1000.0, **v} for ts, v in sorted(by_ts.items())]

    def logs(self) -> list[dict[str, Any]]:
        """The console output the run printed, as ``{"t", "stream", "text"}`` records in order."""
        engine = self._api._reader()
        with engine.connect() as conn:
            out = [
                {"t": t, "stream": s, "text": x}
                for t, s, x in conn.exec_driver_sql(
                    "SELECT ts, stream, text FROM run_logs WHERE run_pk = ? ORDER BY seq", (self._row["pk"],)
                )
            ]
            conn.rollback()
        return out

    def output(self) -> str:
        """The console output as one text."""
        return "".join(r["text"] for r in self.logs())


def _text(what: str, value: Any) -> str:
    if not isinstance(value, str):
        raise UsageError(f"{what} must be a string; got {value!r} of type {type(value).__name__}")
    return value


class RunSummary(dict):
    """A stored run's summary: a dict whose ``update()`` also keeps the change in the store, as wandb's does."""

    def __init__(self, run: ApiRun, values: dict[str, Any]) -> None:
        super().__init__(values)
        self._run = run

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """``summary.update({"best": 0.9})`` sets and keeps; ``summary.update()`` keeps what was set."""
        super().update(*args, **kwargs)
        self._run.update()


def _tagged(name: str, fix: Any, rows: Any) -> Iterator[tuple[int, int, str, Any]]:
    for step, ts, value in rows:
        yield step, ts, name, fix(value)


def _merged_rows(streams: list[Iterator[tuple[int, int, str, Any]]], need: int, created: float) -> Iterator[dict[str, Any]]:
    """One row a step from curves sorted by step; rows with fewer than ``need`` of the curves are left out."""
    row: dict[str, Any] | None = None
    count = 0
    last_ts = 0
    for step, ts, name, value in heapq.merge(*streams, key=lambda e: e[0]):
        if row is None or step != row["_step"]:
            if row is not None and count >= need:
                yield _finish_row(row, last_ts, created)
            row, count, last_ts = {"_step": step}, 0, ts
        row[name] = value
        count += 1
        last_ts = max(last_ts, ts)
    if row is not None and count >= need:
        yield _finish_row(row, last_ts, created)


_CHUNK = 10_000


def _numeric_rows(raw: Any, pk: int, wanted: dict[str, int], lo: int, hi: int, created: float, need: int) -> Iterator[dict[str, Any]]:
    """Rows of several numeric curves. While the curves have the same steps, chunk by chunk (metrics
    logged together), they are zipped: about half the time of a step-by-step merge. From the first
    chunk where they differ, the rest is merged."""
    names = list(wanted)
    cursors = []
    try:
        for kid in wanted.values():
            cur = raw.cursor()
            cur.execute(
                "SELECT step, ts, value FROM history WHERE run_pk = ? AND key_id = ? AND step >= ? AND step <= ? ORDER BY step",
                (pk, kid, lo, hi),
            )
            cursors.append(cur)
        nan = _NAN
        while True:
            chunks = [cur.fetchmany(_CHUNK) for cur in cursors]
            steps = [[r[0] for r in chunk] for chunk in chunks]
            if any(s != steps[0] for s in steps[1:]):
                streams = [_tagged(name, _nan, chain(chunk, cur)) for name, chunk, cur in zip(names, chunks, cursors)]
                yield from _merged_rows(streams, need, created)
                return
            if not steps[0]:
                return
            for rows in zip(*chunks):
                ts = max(r[1] for r in rows) / 1000.0
                row = {"_step": rows[0][0]}
                for name, r in zip(names, rows):
                    row[name] = nan if r[2] is None else r[2]
                row["_timestamp"], row["_runtime"] = created + ts, ts
                yield row
    finally:
        for cur in cursors:
            cur.close()


def _finish_row(row: dict[str, Any], ts: int, created: float) -> dict[str, Any]:
    row["_timestamp"] = created + ts / 1000.0
    row["_runtime"] = ts / 1000.0
    return row


def _json_value(v: Any) -> Any:
    import json

    return json.loads(v) if isinstance(v, str) else v


# -- filters and ordering -----------------------------------------------------------------------------
def _lookup(doc: dict[str, Any], field: str) -> Any:
    if field.startswith(("config.", "summary.", "summary_metrics.")):
        section, rest = field.split(".", 1)
        value: Any = doc[section]
        if rest in value:  # keys may contain dots or slashes themselves
            value = value[rest]
        else:
            for part in rest.split("."):
                if isinstance(value, dict) and part in value:
                    value = value[part]
                else:
                    return _MISSING
        if isinstance(value, dict) and set(value) == {"value"}:  # wandb's config.x.value form
            value = value["value"]
        return value
    if field.endswith(".value") and field.startswith("config."):
        return _lookup(doc, field[: -len(".value")])
    return doc.get(field, _MISSING)


_MISSING = object()


def _compare(value: Any, cond: Any) -> bool:
    if not isinstance(cond, dict) or not any(str(k).startswith("$") for k in cond):
        if isinstance(value, list) and not isinstance(cond, list):
            return cond in value
        return value == cond
    for op, arg in cond.items():
        try:
            if op == "$eq":
                ok = value == arg or (isinstance(value, list) and arg in value)
            elif op == "$ne":
                ok = value != arg
            elif op == "$gt":
                ok = value is not _MISSING and value is not None and value > arg
            elif op == "$gte":
                ok = value is not _MISSING and value is not None and value >= arg
            elif op == "$lt":
                ok = value is not _MISSING and value is not None and value < arg
            elif op == "$lte":
                ok = value is not _MISSING and value is not None and value <= arg
            elif op == "$in":
                ok = any(v in arg for v in value) if isinstance(value, list) else value in arg
            elif op == "$nin":
                ok = not (any(v in arg for v in value) if isinstance(value, list) else value in arg)
            elif op == "$exists":
                ok = (value is not _MISSING) == bool(arg)
            elif op == "$regex":
                import re

                ok = isinstance(value, str) and re.search(arg, value) is not None
            else:
                raise UsageError(f"unknown filter operator {op!r}; use $eq $ne $gt $gte $lt $lte $in $nin $exists $regex")
        except TypeError:
            ok = False
        if not ok:
            return False
    return True


def _matches(doc: dict[str, Any], filters: dict[str, Any]) -> bool:
    for field, cond in filters.items():
        if field == "$and":
            if not all(_matches(doc, f) for f in cond):
                return False
        elif field == "$or":
            if not any(_matches(doc, f) for f in cond):
                return False
        elif field == "$not":
            if _matches(doc, cond):
                return False
        elif not _compare(_lookup(doc, field), cond):
            return False
    return True


def _sorted(found: list[ApiRun], order: str | None) -> list[ApiRun]:
    if not order:
        return found
    desc = order.startswith("-")
    field = order.lstrip("+-")
    present = [(r, _lookup(r._doc(), field)) for r in found]
    with_value = [(r, v) for r, v in present if v is not _MISSING and v is not None]
    without = [r for r, v in present if v is _MISSING or v is None]
    try:
        with_value.sort(key=lambda rv: rv[1], reverse=desc)
    except TypeError:
        with_value.sort(key=lambda rv: str(rv[1]), reverse=desc)
    return [r for r, _ in with_value] + without
