"""``SqlStore``: the store interface on the SQL store of a folder (SQLite) or a database URL.

Reads of a folder store first catch the database up with the run logs beside it, so what
``log()`` returned is what a reader sees; an up-to-date folder store is read with plain
``sqlite3`` (``_reader``). Importing this module imports no SQLAlchemy.
"""

from __future__ import annotations

import math
import os
import time
from contextlib import contextmanager

from ..._errors import UsageError
from .._interface import RUN_FIELDS, Store, run_fields
from ._reader import Reader, from_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator, Sequence

__all__ = ["SqlStore"]

_RUN_COLUMNS = (
    "r.run_id, p.name, p.entity, r.name, r.state, r.group_name, r.job_type, r.tags, r.notes, r.config, r.summary, "
    "r.metric_defs, r.environment, r.created_at, r.heartbeat_at, r.finished_at, r.exit_code, r.error, r.last_step, "
    "r.host, r.pid, r.log_id, r.wal_offset, r.pk"
)
SILENCE_CHECK_EVERY = 15.0  # seconds between two looks for silent runs in a database store (each is one UPDATE)
_RUNS_FROM = f"SELECT {_RUN_COLUMNS} FROM runs r JOIN projects p ON p.id = r.project_id"
_JSON_FIELDS = {"tags": list, "config": dict, "summary": dict, "metric_defs": list, "environment": None}


def _run_doc(row: tuple[Any, ...], fields: tuple[str, ...] | None = None) -> tuple[dict[str, Any], int]:
    """A run's row as the interface's dict (only ``fields`` when given: the JSON of the others is never decoded)."""
    doc = dict(zip(RUN_FIELDS, row))
    for k, empty in _JSON_FIELDS.items():
        if fields is None or k in fields:
            doc[k] = from_json(doc[k])
            if empty is not None:
                doc[k] = doc[k] or empty()
    return (doc if fields is None else {k: doc[k] for k in fields}), row[-1]


class SqlStore(Store):
    """The SQL store of folder ``root`` (``root/tracklet.db`` beside ``root/runs``), or of a database ``url``.

    A database store (``SqlStore(url="postgresql://...")``, what a team server serves) has no run
    logs beside it: its runs arrive through ``append_log``, so reads need no catch-up.
    """

    def __init__(self, root: str | None = None, *, url: str | None = None, blobs: Any = None) -> None:
        if (root is None) == (url is None):
            raise TypeError("SqlStore needs a store folder or a database url, not both")
        self._engine: Any = None
        self._blob_store = blobs  # a BlobStore (what `tracklet server --blobs` names); None: the folder's own
        self._pks: dict[str, int] = {}
        self._next_silence_check = 0.0
        # Runs that arrive over HTTP (a server's folder) are caught up from their logs by this store's
        # first read only (a tail a killed server wrote but had not stored); after that each append stores its own.
        self._remote_caught_up = False
        self.url = url
        if url is not None:
            from ._urls import safe_url

            self.root = ""
            self.location = safe_url(url)
        else:
            self.root = self.location = os.path.abspath(root)

    # -- connections ------------------------------------------------------------------------------
    def engine(self) -> Any:
        """The SQLAlchemy engine, the database caught up with every local run's log."""
        if self.url is not None:
            if self._engine is None:
                from ._engine import make_engine

                self._engine = make_engine(self.url)
            if time.monotonic() >= self._next_silence_check:  # no logs to catch up: silent runs are the news
                from ._catchup import mark_silent_runs

                self._next_silence_check = time.monotonic() + SILENCE_CHECK_EVERY
                mark_silent_runs(self._engine)
            return self._engine
        from ._catchup import catch_up
        from ._engine import open_local

        if self._engine is None:
            if not os.path.isdir(self.root):
                raise UsageError(f"no tracklet store at {self.root}; pass dir= or set TRACKLET_DIR to where your runs are")
            self._engine = open_local(self.root)
        catch_up(self._engine, self.root, include_remote=not self._remote_caught_up, blob_store=self._blobs)
        self._remote_caught_up = True
        return self._engine

    @contextmanager
    def reader(self, fresh: bool = False) -> Iterator[Reader]:
        """A read connection to an up-to-date store: plain sqlite3 when nothing needs catching up."""
        from ._lite import caught_up_by_worker, connect_readonly

        if self.url is None and not fresh and caught_up_by_worker(self.root, include_remote=not self._remote_caught_up):
            self._remote_caught_up = True
            raw = connect_readonly(self.root)
            if raw is not None:
                r = Reader(self.root, raw=raw)
                try:
                    yield r
                finally:
                    r.close()
                return
        r = Reader(self.root, conn=self.engine().connect())
        try:
            yield r
        finally:
            r.close()

    def _pk(self, q: Reader, run_id: str) -> int:
        pk = self._pks.get(run_id)
        if pk is None:
            pk = q.scalar("SELECT pk FROM runs WHERE run_id = :run_id", run_id=run_id)
            if pk is None:
                raise self._no_run(run_id)
            self._pks[run_id] = pk
        return pk

    # -- projects and runs ------------------------------------------------------------------------
    def projects(self, entity: str | None = None) -> list[dict[str, Any]]:
        sql = (
            # a project is made when its first record is stored, which can be long after its runs began (a run
            # synced later, a store that caught up): it began with its first run
            "SELECT p.entity, p.name, CASE WHEN MIN(r.created_at) < p.created_at THEN MIN(r.created_at) ELSE p.created_at END, "
            "COUNT(r.pk), "
            "MAX(COALESCE(r.finished_at, r.heartbeat_at, r.created_at)), SUM(CASE WHEN r.state = 'running' THEN 1 ELSE 0 END) "
            "FROM projects p LEFT JOIN runs r ON r.project_id = p.id"
            + (" WHERE p.entity = :entity" if entity is not None else "")
            + " GROUP BY p.id, p.entity, p.name, p.created_at ORDER BY p.name"
        )
        with self.reader(fresh=True) as q:
            rows = q.all(sql, entity=entity)
        return [{"entity": e, "name": n, "created_at": c, "runs": k, "last_activity": a if a is not None else c,
                 "running": int(live or 0)} for e, n, c, k, a, live in rows]

    def runs(self, project: str | None = None, entity: str | None = None,
             fields: Sequence[str] | None = None) -> list[dict[str, Any]]:
        wanted = run_fields(fields)
        sql = _RUNS_FROM + " WHERE 1 = 1"
        if project is not None:
            sql += " AND p.name = :project"
        if entity is not None:
            sql += " AND p.entity = :entity"
        with self.reader(fresh=True) as q:
            rows = q.all(sql + " ORDER BY r.created_at, r.pk", project=project, entity=entity)
        out = []
        for row in rows:
            doc, self._pks[row[0]] = _run_doc(row, wanted)
            out.append(doc)
        return out

    def run(self, run_id: str) -> dict[str, Any] | None:
        with self.reader() as q:
            row = q.one(_RUNS_FROM + " WHERE r.run_id = :run_id", run_id=run_id)
        if row is not None and not (row[4] == "running" and self._maybe_crashed(row[0], row[20], row[19])):
            doc, self._pks[run_id] = _run_doc(row)
            return doc
        with self.reader(fresh=True) as q:  # catching up also marks crashed runs
            row = q.one(_RUNS_FROM + " WHERE r.run_id = :run_id", run_id=run_id)
        if row is None:
            return None
        doc, self._pks[run_id] = _run_doc(row)
        return doc

    def _no_run(self, run_id: str) -> UsageError:
        if self.url is not None:
            return UsageError(f"no run {run_id!r} in {self.location}")
        return UsageError(f"no run {run_id!r} in {self.root}; list runs with: tracklet runs --dir {self.root}")

    def _maybe_crashed(self, run_id: str, pid: Any, host: Any) -> bool:
        """A 'running' run whose process is gone, or whose log went silent: the full path decides."""
        if self.url is not None:
            return False  # no local process or log to look at: the server's heartbeat check decides
        from .._liveness import looks_crashed

        return looks_crashed(self.root, run_id, pid, host)

    def edit_run(self, run_id: str, records: list[tuple[int, dict[str, Any]]]) -> None:
        from ...wal._edits import append_edits

        if self.url is not None:  # no log file: the edits go in as the log's next records
            from ._remote_log import edit_in_database

            return edit_in_database(self.engine(), run_id, records)
        append_edits(self.root, run_id, records)
        self.engine()  # stored now: readers look only at the logs of runs that are live (``_lite.behind``)

    def delete_run(self, run_id: str) -> list[str]:
        from ._delete import delete_from_database, delete_from_folder

        with self.reader(fresh=True) as q:
            pk = q.scalar("SELECT pk FROM runs WHERE run_id = :run_id", run_id=run_id)
            if pk is None:
                raise self._no_run(run_id)
            mine: set[str] = set()
            for digest, refs in q.all("SELECT digest, refs FROM run_media WHERE run_pk = :pk", pk=pk):
                mine.add(digest)
                mine.update(from_json(refs) or [])
        self._pks.pop(run_id, None)
        if self.url is not None:
            delete_from_database(self.engine(), run_id, pk)
        else:
            delete_from_folder(self._writer_engine(), self.root, run_id, pk)
        return sorted(mine - self._listed_digests(mine))

    def _listed_digests(self, candidates: set[str]) -> set[str]:
        """Which of ``candidates`` a committed artifact version or a logged media value lists."""
        if not candidates:
            return set()
        with self.reader(fresh=True) as q:
            return self._version_digests(q, candidates) | self._media_digests(q, candidates)

    def problems(self, run_id: str | None = None) -> list[dict[str, Any]]:
        sql = (
            "SELECT r.run_id, p.kind, p.at_offset, p.size, p.records, p.detail FROM run_problems p "
            "JOIN runs r ON r.pk = p.run_pk" + (" WHERE r.run_id = :run_id" if run_id is not None else "")
            + " ORDER BY r.run_id, p.at_offset, p.kind"
        )
        with self.reader() as q:
            rows = q.all(sql, run_id=run_id)
        return [{"run_id": i, "kind": k, "offset": o, "bytes": b, "records": n, "detail": d} for i, k, o, b, n, d in rows]

    # -- history ----------------------------------------------------------------------------------
    def _key_ids(self, q: Reader, pk: int) -> dict[str, int]:
        return {name: kid for kid, name in q.all("SELECT key_id, name FROM run_keys WHERE run_pk = :pk", pk=pk)}

    def keys(self, run_id: str) -> list[str]:
        with self.reader() as q:
            return sorted(self._key_ids(q, self._pk(q, run_id)))

    def history(
        self, run_id: str, keys: Sequence[str] | None = None, min_step: int | None = None, max_step: int | None = None
    ) -> Iterator[dict[str, Any]]:
        from ._history import media_keys, scan

        created = self._created_at(run_id)
        with self.reader() as q:
            pk = self._pk(q, run_id)
            known = self._key_ids(q, pk)
            logged_media = media_keys(q, pk, keys)
            if keys is None:
                wanted = {n: k for n, k in known.items() if not n.startswith("system/")}
                media = sorted(logged_media)
            elif any(k not in known and k not in logged_media for k in keys):
                return
            else:
                wanted = {k: known[k] for k in keys if k in known}
                media = [k for k in dict.fromkeys(keys) if k in logged_media]
            lo = -(2**63) if min_step is None else int(min_step)
            hi = 2**63 - 1 if max_step is None else int(max_step)
            yield from scan(q, pk, wanted, lo, hi, created, len(set(keys)) if keys is not None else 1, media)

    def _created_at(self, run_id: str) -> float:
        run = self.run(run_id)
        if run is None:
            raise self._no_run(run_id)
        return run["created_at"]

    def curves(
        self,
        run_id: str,
        keys: Sequence[str],
        min_step: int | None = None,
        max_step: int | None = None,
        points: int | None = None,
        x: str = "_step",
        min_x: float | None = None,
        max_x: float | None = None,
    ) -> dict[str, dict[str, list[Any]]]:
        return self.curves_of_runs([run_id], keys, min_step, max_step, points, x, min_x, max_x)[run_id]

    def curves_of_runs(
        self,
        run_ids: Sequence[str],
        keys: Sequence[str],
        min_step: int | None = None,
        max_step: int | None = None,
        points: int | None = None,
        x: str = "_step",
        min_x: float | None = None,
        max_x: float | None = None,
    ) -> dict[str, dict[str, dict[str, list[Any]]]]:
        """``curves`` of several runs, on one connection (a chart of 100 runs is one question)."""
        from ._blocks import SINCE_SCHEMA

        if x == "_step":  # a window of steps is a range scan (and the chart blocks serve it)
            min_step = _window_bound(min_step, min_x, max)
            max_step = _window_bound(max_step, max_x, min)
            min_x = max_x = None

        blocks = points is not None and x == "_step"
        with self.reader() as q:
            found = {i: q.one("SELECT pk, created_at FROM runs WHERE run_id = :run_id", run_id=i) for i in run_ids}
            missing = [i for i, row in found.items() if row is None]
            if missing:
                raise self._no_run(missing[0])
            if blocks and int(q.scalar("SELECT value FROM tracklet_meta WHERE key = 'schema_version'") or 0) < SINCE_SCHEMA:
                self.engine()  # migrates it, marking every curve for blocks
            dirty = blocks and q.one(
                "SELECT 1 FROM history_dirty WHERE run_pk IN (" + ", ".join(str(int(r[0])) for r in found.values()) + ") LIMIT 1"
            )
        if dirty:
            self._make_blocks([r[0] for r in found.values()])
        with self.reader() as q:
            return {i: self._curves(q, i, pk, created, keys, min_step, max_step, points, x, (min_x, max_x))
                    for i, (pk, created) in found.items()}

    def _curves(
        self, q: Reader, run_id: str, pk: int, created: float, keys: Sequence[str],
        min_step: int | None, max_step: int | None, points: int | None, x: str, window: tuple[float | None, float | None],
    ) -> dict[str, dict[str, list[Any]]]:
        from ._blocks import buckets
        from ._history import curves

        known = self._key_ids(q, pk)
        if x not in ("_step", "_runtime", "_timestamp") and x not in known:
            raise UsageError(f"run {run_id} has no metric {x!r} to use as the x-axis")
        wanted = {k: known[k] for k in keys if k in known}
        out = {}
        if points is not None and x == "_step":
            for name, kid in list(wanted.items()):
                found = buckets(q, pk, kid, min_step, max_step, points)
                if found is not None:
                    out[name] = found
                    del wanted[name]
        out.update(curves(q, pk, wanted, min_step, max_step, points, x, known.get(x), created, window))
        return {k: out[k] for k in keys if k in out}

    def _make_blocks(self, run_pks: list[int]) -> None:
        """Make the chart blocks the runs' curves still lack (ingest marks them; the worker makes most)."""
        from ._blocks import refresh
        from ._engine import write_transaction

        with write_transaction(self.engine()) as conn:
            for pk in run_pks:
                refresh(conn, pk)

    def make_chart_blocks(self, limit: int = 8) -> int:
        """Make the chart blocks of up to ``limit`` curves that ingest marked; returns how many were made.

        What a server does between requests (a database store has no ingest worker to do it), so the
        first chart of a run that arrived over HTTP need not make them itself.
        """
        from ._blocks import refresh
        from ._engine import open_local, write_transaction

        engine = self.engine() if self.url is not None else open_local(self.root)  # no catch-up: only blocks
        with write_transaction(engine) as conn:
            return refresh(conn, limit=limit)

    def system_metrics(self, run_id: str, keys: Sequence[str] | None = None) -> list[dict[str, Any]]:
        from ._history import nan_for_null

        created = self._created_at(run_id)
        with self.reader() as q:
            pk = self._pk(q, run_id)
            known = {n: k for n, k in self._key_ids(q, pk).items() if n.startswith("system/")}
            if keys is not None:
                known = {n: k for n, k in known.items() if n in keys}
            names = {k: n for n, k in known.items()}
            by_ts: dict[int, dict[str, Any]] = {}
            for kid, ts, value in q.all("SELECT key_id, ts, value FROM system_metrics WHERE run_pk = :pk ORDER BY ts", pk=pk):
                if kid in names:
                    by_ts.setdefault(ts, {})[names[kid]] = nan_for_null(value)
        return [{"_timestamp": created + ts / 1000.0, "_runtime": ts / 1000.0, **v} for ts, v in sorted(by_ts.items())]

    def logs(self, run_id: str, after: int = 0) -> list[dict[str, Any]]:
        with self.reader() as q:
            rows = q.all(
                "SELECT seq, ts, stream, text FROM run_logs WHERE run_pk = :pk AND seq > :after ORDER BY seq",
                pk=self._pk(q, run_id), after=after,
            )
        return [{"seq": s, "t": t, "stream": st, "text": x} for s, t, st, x in rows]

    # -- rich values --------------------------------------------------------------------------------
    def media(self, run_id: str, key: str | None = None, step: int | None = None) -> list[dict[str, Any]]:
        created = self._created_at(run_id)
        sql = "SELECT key, step, idx, kind, digest, size, ts, meta, refs FROM run_media WHERE run_pk = :pk"
        if key is not None:
            sql += " AND key = :key"
        if step is not None:
            sql += " AND step = :step"
        with self.reader() as q:
            rows = q.all(sql + " ORDER BY key, step, idx", pk=self._pk(q, run_id), key=key, step=step)
        return [
            {"key": k, "step": st, "idx": i, "kind": kind, "digest": d, "size": n, "t": created + ts / 1000.0,
             "meta": from_json(meta) or {}, "refs": from_json(refs) or []}
            for k, st, i, kind, d, n, ts, meta, refs in rows
        ]

    def media_steps(self, run_ids: Sequence[str]) -> dict[str, dict[str, dict[str, Any]]]:
        with self.reader() as q:
            found = {i: q.scalar("SELECT pk FROM runs WHERE run_id = :run_id", run_id=i) for i in run_ids}
            missing = [i for i, pk in found.items() if pk is None]
            if missing:
                raise self._no_run(missing[0])
            rows = q.all(
                "SELECT DISTINCT run_pk, key, step, kind FROM run_media WHERE run_pk IN ("
                + ", ".join(str(int(pk)) for pk in found.values()) + ") ORDER BY run_pk, key, step"
            ) if found else []
        run_of = {pk: i for i, pk in found.items()}
        out: dict[str, dict[str, dict[str, Any]]] = {i: {} for i in found}
        for pk, key, step, kind in rows:
            entry = out[run_of[pk]].setdefault(key, {"kind": kind, "steps": []})
            if not entry["steps"] or entry["steps"][-1] != step:  # a list of values at one step is one step
                entry["steps"].append(step)
        return out

    def table_rows(
        self, run_id: str, key: str, step: int | None = None, idx: int = 0, offset: int = 0, limit: int = 100,
        sort: str | None = None, filter: str | None = None, search: str | None = None,
    ) -> dict[str, Any]:
        from ...media._table_rows import table_page

        found = [e for e in self.media(run_id, key, step) if e["kind"] in ("table", "plot") and e["idx"] == idx]
        if not found:
            at = "" if step is None else f" at step {step}"
            raise UsageError(f"run {run_id} logged no table {key!r}{at} (index {idx}); its media entries list what it logged")
        entry = found[-1]  # by step: the last one when no step is given
        page = table_page(entry["digest"], entry["meta"], lambda: self.get_blob(entry["digest"]), offset, limit, sort, filter, search)
        return {"key": key, "step": entry["step"], "idx": idx, "digest": entry["digest"], **page}

    def get_blob(self, digest: str) -> bytes:
        with self._blobs().open(digest) as f:
            return f.read()  # read to the end: verified against the digest

    def blob_store(self) -> Any:
        return self._blobs()

    def _blobs(self) -> Any:
        """The blob store given, else the one beside this store: ``<root>/blobs`` or ``TRACKLET_BLOB_URL``."""
        from ...artifacts.storage import blob_store_of

        if self._blob_store is not None:
            return self._blob_store
        if not self.root and not os.environ.get("TRACKLET_BLOB_URL"):
            raise UsageError(f"the store at {self.location} has no blob folder; set TRACKLET_BLOB_URL to its blob store")
        return blob_store_of(self.root or os.getcwd())

    # -- the write path ---------------------------------------------------------------------------
    def log_position(self, run_id: str) -> dict[str, Any]:
        with self.reader(fresh=True) as q:
            row = q.one("SELECT wal_offset, log_id FROM runs WHERE run_id = :run_id", run_id=run_id)
        return {"offset": row[0], "log_id": row[1]} if row else {"offset": 0, "log_id": None}

    def append_log(self, run_id: str, offset: int, data: bytes, log_id: str | None = None) -> int:
        from ._engine import open_local
        from ._remote_log import append_log, append_to_database

        if self.url is not None:  # a database store keeps no log file: the records go straight in
            return append_to_database(self.engine(), run_id, offset, data, log_id, blob_store=self._blobs)
        return append_log(open_local(self.root), self.root, run_id, offset, data, log_id, blob_store=self._blobs)  # no catch-up: it stores its own log

    # -- artifacts, lineage and the registry --------------------------------------------------------
    def artifact(self, project: str, entity: str | None, name: str, alias: str) -> dict[str, Any] | None:
        from . import _artifact_reads as A

        with self.reader() as q:
            return A.version_by_alias(q, project, entity, name, alias)

    def artifact_by_digest(self, project: str, entity: str | None, name: str, digest: str) -> dict[str, Any] | None:
        from . import _artifact_reads as A

        with self.reader() as q:
            return A.version_by_digest(q, project, entity, name, digest)

    def artifact_versions(self, project: str, entity: str | None, name: str) -> list[dict[str, Any]]:
        from . import _artifact_reads as A

        with self.reader(fresh=True) as q:
            return A.versions(q, project, entity, name)

    def artifact_collections(self, project: str | None = None, type: str | None = None) -> list[dict[str, Any]]:
        from . import _artifact_reads as A

        with self.reader(fresh=True) as q:
            return A.collections(q, project, type)

    def artifact_runs(self, version_id: int, kind: str) -> list[str]:
        with self.reader(fresh=True) as q:
            rows = q.all(
                "SELECT r.run_id FROM artifact_usage u JOIN runs r ON r.pk = u.run_pk "
                "WHERE u.version_id = :vid AND u.kind = :kind ORDER BY u.at",
                vid=version_id, kind=kind,
            )
        return [r for (r,) in rows]

    def run_artifacts(self, run_id: str, kind: str) -> list[dict[str, Any]]:
        from . import _artifact_reads as A

        with self.reader(fresh=True) as q:
            return A.of_run(q, self._pk(q, run_id), kind)

    def registered_models(self) -> list[dict[str, Any]]:
        with self.reader(fresh=True) as q:
            return q.dicts("SELECT id, name, description, created_at FROM registered_models ORDER BY name")

    def registry_version(self, model: str, alias: str) -> dict[str, Any] | None:
        from . import _artifact_reads as A

        with self.reader(fresh=True) as q:
            return A.registry_version(q, model, alias)

    def registry_links(self, model: str) -> list[tuple[int, dict[str, Any]]]:
        from . import _artifact_reads as A

        with self.reader(fresh=True) as q:
            return A.registry_links(q, model)

    def registry_aliases(self, model: str) -> dict[str, int]:
        with self.reader(fresh=True) as q:
            rows = q.all(
                "SELECT ra.alias, lk.link_index FROM registry_aliases ra JOIN registered_models m ON m.id = ra.model_id "
                "JOIN registry_links lk ON lk.model_id = ra.model_id AND lk.version_id = ra.version_id WHERE m.name = :model",
                model=model,
            )
        return dict(sorted(rows))

    def registry_audit(self, model: str) -> list[dict[str, Any]]:
        with self.reader(fresh=True) as q:
            rows = q.all(
                "SELECT a.action, a.link_index, a.version_id, a.alias, a.actor, a.at FROM registry_audit a "
                "JOIN registered_models m ON m.id = a.model_id WHERE m.name = :model ORDER BY a.at, a.id",
                model=model,
            )
        return [
            {"action": a, "version": None if i is None else f"v{i}", "artifact_version_id": v, "alias": al, "actor": who, "at": at}
            for a, i, v, al, who, at in rows
        ]

    def link_artifact(self, version_id: int, model: str, aliases: list[str], actor: str) -> None:
        from ._artifact_records import link_version
        from ._engine import write_transaction

        with write_transaction(self.engine()) as conn:
            state = Reader(self.root, conn=conn).scalar("SELECT state FROM artifact_versions WHERE id = :vid", vid=version_id)
            if state != "committed":
                raise UsageError(
                    f"artifact version id {version_id} is {'not in this store' if state is None else state}: only a "
                    f"committed version can be linked to registry/{model}; find one with tracklet artifact ls"
                )
            link_version(conn, model, version_id, aliases, actor)

    def unlink_artifact(self, version_id: int, model: str, actor: str) -> None:
        from ._artifact_records import unlink_version
        from ._engine import write_transaction

        with write_transaction(self.engine()) as conn:
            unlink_version(conn, model, version_id, actor)

    def delete_artifact(self, version_id: int, delete_aliases: bool) -> list[str]:
        """Mark the version deleted; returns the blob digests its manifest lists that nothing else lists."""
        from ._artifact_records import delete_version
        from ._engine import write_transaction

        with write_transaction(self.engine()) as conn:
            q = Reader(self.root, conn=conn)
            mine = q.scalar("SELECT manifest FROM artifact_versions WHERE id = :vid", vid=version_id)
            delete_version(conn, version_id, delete_aliases)
            if mine is None:
                return []
            candidates = _stored_digests(mine)
            return sorted(candidates - self._version_digests(q, candidates) - self._media_digests(q, candidates))

    @staticmethod
    def _version_digests(q: Reader, candidates: set[str]) -> set[str]:
        """Which of ``candidates`` a committed artifact version lists (its files stored here, not references)."""
        if not candidates:
            return set()
        used: set[str] = set()
        for (manifest,) in q.all("SELECT manifest FROM artifact_versions WHERE state = 'committed'"):
            used |= candidates & _stored_digests(manifest)
        return used

    @staticmethod
    def _media_digests(q: Reader, candidates: set[str]) -> set[str]:
        """Which of ``candidates`` a logged media value uses (its own blob, or one nested in it): they stay."""
        if not candidates:
            return set()
        used = set()
        ordered = sorted(candidates)
        for at in range(0, len(ordered), 500):  # a run's thousands of images: within every database's bound on parameters
            names = {f"d{i}": d for i, d in enumerate(ordered[at:at + 500])}
            where = ", ".join(f":{n}" for n in names)
            used |= {d for (d,) in q.all(f"SELECT DISTINCT digest FROM run_media WHERE digest IN ({where})", **names)}
        for (refs,) in q.all("SELECT refs FROM run_media WHERE refs IS NOT NULL"):
            used |= candidates & set(from_json(refs) or [])
        return used

    # -- sweeps ------------------------------------------------------------------------------------
    def create_sweep(
        self, sweep_id: str, project: str, entity: str | None, config: dict[str, Any], name: str | None = None
    ) -> dict[str, Any]:
        from ._sweeps import create_sweep

        create_sweep(self._writer_engine(), sweep_id, project, entity, config, name)
        return self.sweep(sweep_id) or {}

    def sweeps(self, project: str | None = None, entity: str | None = None, run_id: str | None = None) -> list[dict[str, Any]]:
        from ._sweeps import list_sweeps

        with self.reader() as q:
            return list_sweeps(q, project, entity, run_id)

    def sweep(self, sweep_id: str) -> dict[str, Any] | None:
        from ._sweeps import read_sweep

        with self.reader(fresh=True) as q:  # catching up marks the crashed runs of dead agents
            return read_sweep(q, sweep_id)

    def set_sweep_state(self, sweep_id: str, state: str, only_from: list[str] | None = None) -> str:
        from ._sweeps import set_sweep_state

        return set_sweep_state(self._writer_engine(), sweep_id, state, only_from)

    def claim_trial(self, sweep_id: str, trial: dict[str, Any]) -> dict[str, Any]:
        from ._sweeps import claim_trial

        return claim_trial(self._writer_engine(), sweep_id, trial)

    def update_trial(self, sweep_id: str, number: int, rungs: dict[str, float]) -> None:
        from ._sweeps import update_trial

        update_trial(self._writer_engine(), sweep_id, number, rungs)

    def _writer_engine(self) -> Any:
        """The engine for a direct write: a folder store's without catching up first (the write needs no run rows)."""
        from ._engine import open_local

        if self.url is not None:
            return self.engine()
        return open_local(self.root)  # makes the folder of a new store

    # -- tracing ----------------------------------------------------------------------------------
    @contextmanager
    def _call_reader(self) -> Iterator[Reader]:
        """A reader after the trace logs beside a folder store are caught up."""
        if self.url is None:
            from ._calls import catch_up_traces
            from ._engine import open_local

            if not os.path.isdir(self.root):
                raise UsageError(f"no tracklet store at {self.root}; pass dir= or set TRACKLET_DIR to where your traces are")
            catch_up_traces(open_local(self.root), self.root)
        with self.reader() as q:
            yield q

    def calls(
        self, project: str, entity: str | None = None, filters: dict[str, Any] | None = None,
        order: str = "started_at", limit: int | None = None, offset: int = 0,
    ) -> list[dict[str, Any]]:
        from ._call_reads import call_docs

        with self._call_reader() as q:
            return call_docs(q, project, entity, dict(filters or {}), order, limit, offset)

    def call(self, call_id: str) -> dict[str, Any] | None:
        from ._call_reads import call_docs

        with self._call_reader() as q:
            found = call_docs(q, None, None, {}, call_id=call_id)
        return found[0] if found else None

    def add_feedback(self, call_id: str, kind: str, value: Any, name: str | None = None, creator: str | None = None) -> dict[str, Any]:
        import json
        import time

        from . import _schema as S
        from ._engine import write_transaction

        if self.call(call_id) is None:
            raise UsageError(f"no call {call_id!r} in {self.location}: feedback goes on a stored call (tracklet calls PROJECT lists them)")
        doc = {"call_id": call_id, "kind": kind, "name": name, "value": json.dumps(value), "creator": creator, "created_at": time.time()}
        with write_transaction(self.engine()) as conn:
            doc["id"] = conn.execute(S.call_feedback.insert().values(**doc)).inserted_primary_key[0]
        doc["value"] = value
        return doc

    def feedback(self, call_id: str) -> list[dict[str, Any]]:
        from ._call_reads import feedback_docs

        with self._call_reader() as q:
            return feedback_docs(q, call_id)

    def put_calls(self, project: str, entity: str | None, calls: list[dict[str, Any]]) -> int:
        from ._calls import put_calls

        return put_calls(self.engine(), project, entity, calls)

    def trace_log_position(self, log_id: str) -> dict[str, Any]:
        with self.reader() as q:
            row = q.one(
                "SELECT t.wal_offset, p.name, p.entity FROM trace_logs t JOIN projects p ON p.id = t.project_id WHERE t.log_id = :log_id",
                log_id=log_id,
            )
        return {"offset": int(row[0]), "project": row[1], "entity": row[2]} if row else {"offset": 0, "project": None, "entity": None}

    def append_trace_log(self, log_id: str, offset: int, data: bytes) -> int:
        from ._calls import ingest_trace_bytes

        return ingest_trace_bytes(self.engine(), log_id, offset, data)

    def close(self) -> None:
        if self.url is not None and self._engine is not None:
            self._engine.dispose()  # a folder store's engine is shared per process (_engine.open_local)
        self._engine = None


def _stored_digests(manifest: Any) -> set[str]:
    """The digests of the files a version's manifest (a JSON column's value) stores here: references excluded."""
    from ...artifacts.storage import Manifest

    return {e.digest for e in Manifest.from_json(from_json(manifest)) if e.ref is None}


def _window_bound(step: int | None, bound: float | None, pick: Any) -> int | None:
    """A step bound narrowed by an x-window's bound on the step axis (``pick``: ``max`` for the low end)."""
    if bound is None:
        return step
    whole = math.ceil(bound) if pick is max else math.floor(bound)
    return whole if step is None else pick(step, whole)
