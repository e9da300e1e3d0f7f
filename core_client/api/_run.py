"""``ApiRun``: a stored run's attributes, config, summary, history, system metrics and output."""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing is not imported at run time: it costs ~4 ms of `import tracklet`
if TYPE_CHECKING:
    from typing import Any, Iterator, Sequence

    from ._api import Api

from ._history import NAN, json_value, merged_rows, nan_for_null, numeric_rows, tagged
from .._errors import UsageError

__all__ = ["ApiRun", "RunSummary"]


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
        from .._settings import _as_tags

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
        from .._jsonable import to_jsonable
        from ..tracking._run_edits import append_edits
        from ..wal._wal import RecordType

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
        from ..tracking._run_files import list_files

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
        from ._artifacts import run_artifacts

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
                        nan = NAN
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
                yield from numeric_rows(conn.connection.driver_connection, pk, wanted, lo, hi, created, need)
                conn.rollback()
                return
            streams = []
            for name, kid in wanted.items():
                for table, fix in (("history", nan_for_null), ("history_values", json_value)):
                    cur = conn.exec_driver_sql(
                        f"SELECT step, ts, value FROM {table} WHERE run_pk = ? AND key_id = ? AND step >= ? AND step <= ? ORDER BY step",
                        (pk, kid, lo, hi),
                    )
                    streams.append(tagged(name, fix, cur))
            yield from merged_rows(streams, need, created)
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
                    by_ts.setdefault(ts, {})[names[kid]] = nan_for_null(value)
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
