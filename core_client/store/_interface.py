"""The store interface: every question ``Api``, artifacts, sync, the CLI and the server ask of a store.

Two implementations answer it: the SQL store (``store.sql.SqlStore``: SQLite in a local folder,
PostgreSQL for a team) and the HTTP client of a tracklet server (``remote.RemoteStore``). Values
cross it as plain JSON-able dicts and lists, so the server can send them as they are and both
implementations give the same results.

Shapes:
    run: ``id``, ``project``, ``entity`` ("" for none), ``name``, ``state``, ``group``,
        ``job_type``, ``tags``, ``notes``, ``config``, ``summary``, ``metric_defs``,
        ``environment``, ``created_at``, ``heartbeat_at``, ``finished_at`` (Unix seconds),
        ``exit_code``, ``error``, ``last_step``, ``host``, ``pid``, ``log_id``, ``stored_offset``
        (bytes of the run's log the store holds).
    project: ``entity``, ``name``, ``created_at``, ``runs`` (how many), ``last_activity`` (Unix seconds: the
        latest run start, heartbeat or finish; ``created_at`` when it has no runs), ``running`` (runs in that state).
    media entry: ``key``, ``step``, ``idx`` (position in a list logged under one key), ``kind``
        (``table``, ``image``, ``histogram``, ``audio``, ``video``, ``html``, ``plot``), ``digest`` and
        ``size`` of its blob, ``t`` (Unix seconds), ``meta`` (per kind: a table's ``rows``, ``columns``,
        ``types`` and ``format``; an image's ``width``, ``height``, ``caption``; ...), ``refs`` (digests
        of blobs nested in it, such as images in a table's cells).
    artifact version: ``id``, ``name`` (the collection), ``project``, ``entity``, ``type``,
        ``version_index``, ``digest``, ``description``, ``metadata``, ``manifest`` (the
        manifest's JSON), ``size``, ``created_at``, ``aliases``.
    sweep: ``id``, ``project``, ``entity``, ``name``, ``config`` (as the user gave it), ``state``
        (``running``, ``paused``, ``finished``, ``stopped``, ``cancelled``), ``created_at``,
        ``updated_at``, ``trial_count`` (live trials); ``sweep()`` adds ``trials``.
    trial: ``number``, ``run_id``, ``params`` (the run's nested config), ``point`` (a grid point's key),
        ``status`` (``active``; ``dead`` once its point went to a later trial), ``agent``, ``host``,
        ``pid``, ``claimed_at``, ``rungs`` (hyperband: rung -> value), and from its run once stored:
        ``run_state`` (None before), ``summary``, ``heartbeat_at``, ``run_pid``, ``run_host``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator, Sequence

__all__ = ["CALL_FILTERS", "CALL_ORDERS", "RUN_FIELDS", "Store", "run_fields"]

#: the filters ``Store.calls`` takes, and its orders (``-``: largest first)
CALL_FILTERS = (
    "op", "trace_id", "parent_id", "run_id", "status", "kind", "since", "until", "min_latency_ms", "max_latency_ms",
    "min_tokens", "min_cost", "roots", "feedback", "prompt",
)
CALL_ORDERS = (
    "started_at", "-started_at", "latency_ms", "-latency_ms", "total_tokens", "-total_tokens", "cost", "-cost",
    "op_name", "-op_name", "status", "-status",
)

#: the keys of a run (the shape above), in order
RUN_FIELDS = (
    "id", "project", "entity", "name", "state", "group", "job_type", "tags", "notes", "config", "summary",
    "metric_defs", "environment", "created_at", "heartbeat_at", "finished_at", "exit_code", "error", "last_step",
    "host", "pid", "log_id", "stored_offset",
)


def run_fields(fields: Sequence[str] | None) -> tuple[str, ...] | None:
    """``fields`` checked against ``RUN_FIELDS`` (None: all). Raises ``UsageError`` naming an unknown one."""
    if fields is None:
        return None
    unknown = sorted(set(fields) - set(RUN_FIELDS))
    if unknown:
        from .._errors import UsageError

        raise UsageError(f"unknown run field(s) {', '.join(unknown)}: a run has {', '.join(RUN_FIELDS)}")
    return tuple(dict.fromkeys(fields))


class Store:
    """What a store answers. Methods raise ``UsageError`` for what does not exist (naming what does)
    and ``StoreError`` when the store cannot be read."""

    #: where the store is, for messages: a folder, a database URL or a server URL
    location: str = ""

    # -- projects and runs -------------------------------------------------------------------------
    def projects(self, entity: str | None = None) -> list[dict[str, Any]]:
        """Every project (only ``entity``'s when given), by name."""
        raise NotImplementedError

    def runs(self, project: str | None = None, entity: str | None = None,
             fields: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """The runs of a project (every project when None), oldest first; each with only ``fields`` when given
        (a table of 10,000 runs needs no environments: decoding them is most of the read)."""
        raise NotImplementedError

    def run(self, run_id: str) -> dict[str, Any] | None:
        """One run by id, or None."""
        raise NotImplementedError

    def edit_run(self, run_id: str, records: list[tuple[int, dict[str, Any]]]) -> None:
        """Append edits (UPDATE, CONFIG replace, SUMMARY replace records) to a finished run, as the run would."""
        raise NotImplementedError

    def delete_run(self, run_id: str) -> list[str]:
        """Delete an ended run: its rows, and in a folder store its log folder (so no catch-up brings it back).

        The artifact versions it logged stay. Returns the digests of its media values' blobs that no other run's
        media and no committed artifact version lists (the caller may remove them: ``artifacts._collect``).
        Raises ``UsageError`` for an unknown run or one still running.
        """
        raise NotImplementedError

    def problems(self, run_id: str | None = None) -> list[dict[str, Any]]:
        """Damaged or lost records of one run (every run when None): ``run_id``, ``kind``, ``offset``, ``bytes``, ``records``, ``detail``."""
        raise NotImplementedError

    # -- history ----------------------------------------------------------------------------------
    def keys(self, run_id: str) -> list[str]:
        """Every metric name the run logged (history and ``system/``), sorted."""
        raise NotImplementedError

    def history(
        self, run_id: str, keys: Sequence[str] | None = None, min_step: int | None = None, max_step: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every history row in step order with ``_step``, ``_timestamp``, ``_runtime``, as ``scan_history`` gives them.

        A media value (table, image, ...) is in the row of its step as the summary describes it
        (``wal/_media.py`` ``media_summary``: ``_type``, ``step``, ``digest``, ``size`` and its meta; a list as
        ``_type``, ``count``, ``items``); a step that logged only media is a row too. With ``keys``, only the steps
        that have all of them; none at all when one was never logged.
        """
        raise NotImplementedError

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
        """Numeric curves for charts: per key ``{"x": [...], "y": [...], "min": [...], "max": [...]}``.

        Full resolution when ``points`` is None; otherwise at most ``points`` buckets over the range,
        each with its mean ``y`` and its ``min``/``max``, so a one-step spike always shows. ``min_x``/``max_x``
        keep the points whose x (on the ``x`` axis: a step, a time, another metric's value) lies in that window.
        """
        raise NotImplementedError

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
        """``curves`` of several runs at once (a chart overlays them): run id -> key -> curve."""
        return {i: self.curves(i, keys, min_step, max_step, points, x, min_x, max_x) for i in run_ids}

    def system_metrics(self, run_id: str, keys: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """System metric rows by time: ``_timestamp``, ``_runtime`` and each ``system/...`` value."""
        raise NotImplementedError

    def logs(self, run_id: str, after: int = 0) -> list[dict[str, Any]]:
        """Console output records after sequence ``after``: ``seq``, ``t``, ``stream``, ``text``."""
        raise NotImplementedError

    # -- rich values: tables, images, histograms, ... --------------------------------------------
    def media(self, run_id: str, key: str | None = None, step: int | None = None) -> list[dict[str, Any]]:
        """The media entries a run logged (only ``key``'s, only at ``step`` when given), by key, step and index."""
        raise NotImplementedError

    def media_steps(self, run_ids: Sequence[str]) -> dict[str, dict[str, dict[str, Any]]]:
        """The media keys of several runs and the steps each was logged at, in one question (the dashboard's
        side-by-side view): run id -> key -> ``{"kind", "steps"}`` (ascending). Raises ``UsageError`` naming a missing run."""
        raise NotImplementedError

    def table_rows(
        self, run_id: str, key: str, step: int | None = None, idx: int = 0, offset: int = 0, limit: int = 100,
        sort: str | None = None, filter: str | None = None, search: str | None = None,
    ) -> dict[str, Any]:
        """A page of a logged table's rows (a ``table`` or ``plot`` entry; the key's last step when ``step`` is None),
        after ``filter`` (``score > 0.5 and label == cat``), ``search`` (any cell contains it) and ``sort`` (a column,
        ``-column`` for largest first): ``key``, ``step``, ``idx``, ``digest``, ``columns``, ``types``, ``rows_total``,
        ``total`` (rows matching), ``offset``, ``index`` (each row's position in the table) and ``rows``.
        Non-finite floats come as the strings ``NaN``, ``Infinity``, ``-Infinity``. Raises ``UsageError`` for no such
        table, a bad filter or an unknown column."""
        raise NotImplementedError

    def get_blob(self, digest: str) -> bytes:
        """The bytes of a stored blob (a media value's, an artifact file's), verified against ``digest``.

        Raises ``StoreError`` (``MissingBlobError``) when the blob store lacks it.
        """
        raise NotImplementedError

    def blob_store(self) -> Any:
        """The blob store artifact files and media values are read from (a ``BlobStore``; downloads use it)."""
        raise NotImplementedError

    # -- the write path ---------------------------------------------------------------------------
    def log_position(self, run_id: str) -> dict[str, Any]:
        """Where a run's log stands in this store: ``{"offset": bytes held, "log_id": ...}`` (0 and None if unknown)."""
        raise NotImplementedError

    def append_log(self, run_id: str, offset: int, data: bytes, log_id: str | None = None) -> int:
        """Add ``data``, the bytes of the run's log from ``offset``, and store its records.

        Idempotent by offset: bytes the store already holds are skipped, so a replayed batch never
        doubles a point. Returns the offset the store now holds. Raises ``SyncError`` for a gap
        (``offset`` past what is held) or a different log under the same run id.
        """
        raise NotImplementedError

    # -- artifacts, lineage and the registry --------------------------------------------------------
    def artifact(self, project: str, entity: str | None, name: str, alias: str) -> dict[str, Any] | None:
        """A committed version of ``project/name`` by alias (``latest``, ``best``) or ``vN``, or None."""
        raise NotImplementedError

    def artifact_by_digest(self, project: str, entity: str | None, name: str, digest: str) -> dict[str, Any] | None:
        """The committed version of ``project/name`` whose content digest is ``digest``, or None."""
        raise NotImplementedError

    def artifact_versions(self, project: str, entity: str | None, name: str) -> list[dict[str, Any]]:
        """Every committed version of ``project/name``, oldest first."""
        raise NotImplementedError

    def artifact_collections(self, project: str | None = None, type: str | None = None) -> list[dict[str, Any]]:
        """Artifact names with ``project``, ``name``, ``type``, ``versions``, ``size``, ``updated_at``."""
        raise NotImplementedError

    def artifact_runs(self, version_id: int, kind: str) -> list[str]:
        """Ids of the runs that logged (``kind="output"``) or used (``"input"``) a version, oldest first."""
        raise NotImplementedError

    def run_artifacts(self, run_id: str, kind: str) -> list[dict[str, Any]]:
        """The versions a run logged (``"output"``) or used (``"input"``), in order."""
        raise NotImplementedError

    def registered_models(self) -> list[dict[str, Any]]:
        """Registry entries: ``id``, ``name``, ``description``, ``created_at``."""
        raise NotImplementedError

    def registry_version(self, model: str, alias: str) -> dict[str, Any] | None:
        """The artifact version behind ``registry/model:alias`` (``latest``, ``vN`` or a registry alias)."""
        raise NotImplementedError

    def registry_links(self, model: str) -> list[tuple[int, dict[str, Any]]]:
        """``(link index, artifact version)`` of a registered model, in link order."""
        raise NotImplementedError

    def registry_aliases(self, model: str) -> dict[str, int]:
        """Registry alias -> link index."""
        raise NotImplementedError

    def registry_audit(self, model: str) -> list[dict[str, Any]]:
        """Every link, unlink and alias move, oldest first."""
        raise NotImplementedError

    def link_artifact(self, version_id: int, model: str, aliases: list[str], actor: str) -> None:
        """Link a version into ``registry/model`` with ``aliases``."""
        raise NotImplementedError

    def unlink_artifact(self, version_id: int, model: str, actor: str) -> None:
        """Remove a version's link from ``registry/model``."""
        raise NotImplementedError

    def delete_artifact(self, version_id: int, delete_aliases: bool) -> list[str]:
        """Delete a version; returns the digests no other version holds (their blobs may go)."""
        raise NotImplementedError

    # -- sweeps: written directly (each claim is one transaction), runs joined by id -------------------
    def create_sweep(
        self, sweep_id: str, project: str, entity: str | None, config: dict[str, Any], name: str | None = None
    ) -> dict[str, Any]:
        """Store a checked sweep config as sweep ``sweep_id`` (state ``running``); returns the sweep."""
        raise NotImplementedError

    def sweeps(self, project: str | None = None, entity: str | None = None, run_id: str | None = None) -> list[dict[str, Any]]:
        """The sweeps of a project (every project when None), oldest first, without their trials; with ``run_id``,
        only the sweep whose trial that run is (a run page links to it)."""
        raise NotImplementedError

    def sweep(self, sweep_id: str) -> dict[str, Any] | None:
        """One sweep with its ``trials`` (crashed runs already marked as such), or None."""
        raise NotImplementedError

    def set_sweep_state(self, sweep_id: str, state: str, only_from: list[str] | None = None) -> str:
        """Set a sweep's state, only when it is one of ``only_from`` if given; returns the state it has now."""
        raise NotImplementedError

    def claim_trial(self, sweep_id: str, trial: dict[str, Any]) -> dict[str, Any]:
        """Atomically hand a point to an agent: ``trial`` has ``run_id``, ``params``, ``point`` (a grid key or
        None), ``replaces`` (a dead trial's number or None), ``agent``, ``host``, ``pid``.

        Returns ``{"claimed": True, "number": n}``, or ``{"claimed": False, "reason": "state"|"run_cap"|"taken"}``.
        """
        raise NotImplementedError

    def update_trial(self, sweep_id: str, number: int, rungs: dict[str, float]) -> None:
        """Record hyperband rung values (rung -> the run's value there) of a trial."""
        raise NotImplementedError

    # -- tracing ----------------------------------------------------------------------------------
    def calls(
        self, project: str, entity: str | None = None, filters: dict[str, Any] | None = None,
        order: str = "started_at", limit: int | None = None, offset: int = 0,
    ) -> list[dict[str, Any]]:
        """A project's calls matching ``filters`` (``op``, ``trace_id``, ``parent_id``, ``run_id``, ``status``,
        ``kind``, ``since``, ``until``, ``min_latency_ms``, ``max_latency_ms``, ``min_tokens``, ``min_cost``,
        ``roots``, ``feedback``, ``prompt``: ``name:vN``, or ``name`` for any version), by ``order``
        (``started_at``, ``-latency_ms``, ``-total_tokens``, ``-cost``, ...)."""
        raise NotImplementedError

    def call(self, call_id: str) -> dict[str, Any] | None:
        """One call by id, or None."""
        raise NotImplementedError

    def add_feedback(self, call_id: str, kind: str, value: Any, name: str | None = None, creator: str | None = None) -> dict[str, Any]:
        """Attach feedback (a reaction, a note or a score) to a call; returns it stored."""
        raise NotImplementedError

    def feedback(self, call_id: str) -> list[dict[str, Any]]:
        """A call's feedback, oldest first."""
        raise NotImplementedError

    def put_calls(self, project: str, entity: str | None, calls: list[dict[str, Any]]) -> int:
        """Store finished calls given whole (OpenTelemetry spans): each ``{"start": CALL_START payload, "end": CALL_END
        payload}`` as docs/wal-format.md describes them. Idempotent by call id; returns how many were new."""
        raise NotImplementedError

    def trace_log_position(self, log_id: str) -> dict[str, Any]:
        """Where trace log ``log_id`` stands: ``{"offset": bytes held, "project", "entity"}`` (0 and None if unknown)."""
        raise NotImplementedError

    def append_trace_log(self, log_id: str, offset: int, data: bytes) -> int:
        """Add ``data``, trace log ``log_id``'s bytes from ``offset``, and store its calls; idempotent by offset.

        Returns the offset held after; raises ``SyncError`` for a gap."""
        raise NotImplementedError

    def close(self) -> None:
        """Let go of connections."""
