"""``ApiRun``: a stored run's attributes, config, summary, history, system metrics and output."""

from __future__ import annotations


TYPE_CHECKING = False  # typing is not imported at run time: it costs ~4 ms of `import tracklet`
if TYPE_CHECKING:
    from typing import Any, Iterator, Sequence

    from ._api import Api

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
    id = property(lambda self: self._row["id"])
    project = property(lambda self: self._row["project"])
    entity = property(lambda self: self._row["entity"] or None)
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
        return self._row["group"]

    @group.setter
    def group(self, value: str | None) -> None:
        self._row["group"] = None if value is None else _text("group", value)

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
        from ..wal._wal import RecordType

        stored = self._api.run(self.id)._row
        records: list[tuple[int, dict[str, Any]]] = []
        changed = {
            attr: self._row[col]
            for attr, col in (("name", "name"), ("notes", "notes"), ("group", "group"), ("job_type", "job_type"))
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
            self._api._store.edit_run(self.id, records)
        self._load(self._api.run(self.id)._row)

    save = update  # wandb's other name for it

    def delete(self, delete_artifacts: bool = False) -> None:
        """Delete this run from its store (an ended one: a running run refuses), as wandb's ``run.delete()``.

        Its history, media entries, console output and files go, and in a folder store the blobs of its media
        that no other run or artifact lists; the artifact versions it logged stay unless ``delete_artifacts`` (each is then deleted as ``Artifact.delete(delete_aliases=True)`` does).

            >>> tracklet.Api().run("my-project/1a2b3c4d").delete()

        Raises:
            UsageError: the run is still running, or is no longer in the store.
        """
        if delete_artifacts:
            for art in self.logged_artifacts():
                art.delete(delete_aliases=True)
        from ..artifacts._collect import delete_run_and_blobs

        delete_run_and_blobs(self._api._store, self.id)

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
        from ..store._layout import run_dir

        return run_dir(self._api.dir, self.id)

    def logged_artifacts(self) -> list[Any]:
        """The artifact versions this run logged (its outputs)."""
        return self._artifacts("output")

    def used_artifacts(self) -> list[Any]:
        """The artifact versions this run used (its inputs)."""
        return self._artifacts("input")

    def _artifacts(self, kind: str) -> list[Any]:
        from ._artifacts import to_artifact

        return [to_artifact(self._api, d) for d in self._api._store.run_artifacts(self.id, kind)]

    def problems(self) -> list[dict[str, Any]]:
        """What went wrong with this run's records: bytes of its log skipped as damaged (``kind="damaged"``),
        records dropped because the disk was full (``kind="lost"``). Empty for a healthy run."""
        return [{k: v for k, v in p.items() if k != "run_id"} for p in self._api._store.problems(self.id)]

    def metric_definitions(self) -> list[dict[str, Any]]:
        return list(self._row["metric_defs"] or [])

    def _doc(self) -> dict[str, Any]:
        r = self._row
        return {
            "id": r["id"],
            "name": r["name"],
            "display_name": r["name"],
            "state": r["state"],
            "group": r["group"],
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
    def keys(self) -> list[str]:
        """Every metric name this run logged (history and system)."""
        return self._api._store.keys(self.id)

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
        return self._api._store.history(self.id, None if keys is None else list(keys), min_step, max_step)

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
        return self._api._store.system_metrics(self.id, None if keys is None else list(keys))

    def logs(self) -> list[dict[str, Any]]:
        """The console output the run printed, as ``{"t", "stream", "text"}`` records in order."""
        return [{"t": r["t"], "stream": r["stream"], "text": r["text"]} for r in self._api._store.logs(self.id)]

    def output(self) -> str:
        """The console output as one text."""
        return "".join(r["text"] for r in self.logs())


    # -- rich values: tables, images, histograms, ... ---------------------------------------------
    def media(self, key: str | None = None, step: int | None = None) -> list[dict[str, Any]]:
        """Every media value the run logged (only ``key``'s, only at ``step``), as entries: ``key``, ``step``,
        ``idx``, ``kind``, ``digest``, ``size``, ``t``, ``meta``. Every version of a table is one entry."""
        return self._api._store.media(self.id, key, step)

    def get_media(self, key: str, step: int | None = None) -> Any:
        """The value logged under ``key`` at ``step`` (default: the latest): a Table, Image, Histogram, ...,
        or a list of them when a list was logged."""
        from ._media import load

        return load(self._api._store, self.id, key, step, None)

    def table(self, key: str, step: int | None = None) -> Any:
        """The ``tracklet.Table`` logged under ``key`` at ``step`` (default: the latest version).

        Example:
            >>> df = api.run("llm-finetuning/abc123xy").table("eval/predictions").get_dataframe()
        """
        from ._media import load

        return load(self._api._store, self.id, key, step, "table")

    def image(self, key: str, step: int | None = None) -> Any:
        """The ``tracklet.Image`` (or list of them) logged under ``key`` at ``step`` (default: the latest)."""
        from ._media import load

        return load(self._api._store, self.id, key, step, "image")

    def histogram(self, key: str, step: int | None = None) -> Any:
        """The ``tracklet.Histogram`` logged under ``key`` at ``step`` (default: the latest)."""
        from ._media import load

        return load(self._api._store, self.id, key, step, "histogram")


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
