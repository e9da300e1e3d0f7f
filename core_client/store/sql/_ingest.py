"""Moving WAL records into the store: idempotent, resumable at any record boundary.

Each run row keeps ``wal_offset``, the file offset just past the last ingested record.
A batch is read, then written in one transaction that first re-checks the offset under
the write lock, so two ingesters (the worker and a reader catching up) never double a row.
"""

from __future__ import annotations

import json
import os
import struct
import time
from contextlib import contextmanager
from itertools import chain, repeat
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from sqlalchemy import Connection, Engine, func, select

from ..._errors import SyncError, warn_once
from ...wal._wal import (
    HEADER_SIZE,
    HIST_HEAD,
    HISTORY_RUN,
    UNNAMED_KEY,
    RecordType,
    WalReader,
    decode_key,
    decode_system,
    identity_of_log,
    log_identity,
)
from ...wal._logfile import log_size, read_loss_report
from ...wal._media import media_summary, undigested
from .._liveness import STALE_AFTER
from . import _schema as S
from ._engine import write_transaction
from ._blocks import mark_dirty
from ._sql import insert_ignore, project_id_for, upsert

__all__ = ["BATCH_BYTES", "ingest_run", "record_loss_report"]

# WAL bytes per transaction: about 90,000 points, so the ingesting process stays near 50 MB
# however long the run, and a reader sees a long run's history arrive in steps.
BATCH_BYTES = 2 << 20
_TERMINAL = ("finished", "failed")
# SQLite folds its -wal file into the database when a commit leaves it above this many pages (the
# default, 1000, is 4 MiB). An ingesting connection does it every 64 MiB: pages that later batches
# change again are copied once, with fewer fsyncs (1 run x 600k points, benchmarks/ingest_throughput.py:
# 0.41 -> 0.39 s on a quiet machine, 0.74-0.85 -> 0.37-0.39 s while other processes used the disk).
# The worker truncates the file when a run ends (``checkpoint``), and the last connection to close does.
_CHECKPOINT_EVERY = "PRAGMA wal_autocheckpoint=16384"


class _Columns:
    """The points of a ``HISTORY_RUN``, by column: ``values[j]`` are key ``keys[j]``'s, in log order."""

    __slots__ = ("keys", "ms", "steps", "values")

    def __init__(self, keys: tuple[int, ...], steps: list[int], ms: list[int], values: list[list[float]]) -> None:
        self.keys, self.steps, self.ms, self.values = keys, steps, ms, values

    def rows(self) -> list[tuple[int, int, int, float]]:
        """The points as (key, step, ms, value) rows, grouped by key (each key's in log order)."""
        return [row for k, v in zip(self.keys, self.values) for row in zip(repeat(k), self.steps, self.ms, v)]


@dataclass
class _Batch:
    created: float | None = None  # the run's created_at: history times are kept relative to it
    end: int = 0
    seq: int = 0
    run: dict[str, Any] = field(default_factory=dict)  # latest RUN record facts
    resumed: bool = False
    updates: dict[str, Any] = field(default_factory=dict)
    keys: list[tuple[int, str]] = field(default_factory=list)
    # scalar points in log order: lists of (key, step, ms, value) rows, and _Columns of HISTORY_RUNs
    points: list[list[tuple[int, int, int, float]] | _Columns] = field(default_factory=list)
    texts: list[tuple[int, int, float, Any]] = field(default_factory=list)
    system: list[tuple[int, float, float]] = field(default_factory=list)
    logs: list[tuple[int, float, str, str]] = field(default_factory=list)
    config_ops: list[dict[str, Any]] = field(default_factory=list)
    summary_ops: list[dict[str, Any]] = field(default_factory=list)
    replace_after_history: bool = False  # the batch ends with a finish()-time summary
    metric_defs: list[dict[str, Any]] = field(default_factory=list)
    environment: dict[str, Any] | None = None
    exit: dict[str, Any] | None = None
    last_t: float = 0.0
    last_values: dict[int, Any] = field(default_factory=dict)  # key id -> last logged value
    max_step: int | None = None
    records: int = 0
    artifact_ops: list[tuple[int, int, dict[str, Any]]] = field(default_factory=list)  # in WAL order
    skipped: list[tuple[int, int]] = field(default_factory=list)  # damaged bytes of the log, (start, end)
    losses: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # LOSS records: (offset, record)
    media: list[dict[str, Any] | None] = field(default_factory=list)  # MEDIA records, in log order (IMAGE: None until stored)
    images: list[tuple[int, int, bytes]] = field(default_factory=list)  # IMAGE records: (index in media, offset, payload)


_pair_structs: dict[int, struct.Struct] = {}
# record types with a JSON payload that ingest reads; types it does not know are skipped
_JSON_TYPES = frozenset(
    (RecordType.RUN, RecordType.CONFIG, RecordType.SUMMARY, RecordType.METRIC, RecordType.OUTPUT,
     RecordType.ENVIRONMENT, RecordType.EXIT, RecordType.UPDATE, RecordType.ARTIFACT, RecordType.USE, RecordType.LINK,
     RecordType.LOSS, RecordType.ALERT, RecordType.PREEMPTING, RecordType.MEDIA)
)
_ARTIFACT_TYPES = frozenset((RecordType.ARTIFACT, RecordType.USE, RecordType.LINK))


def _decode(reader: WalReader, offset: int, created: float | None, after_seq: int = 0) -> _Batch:
    b = _Batch(created=created, end=offset)
    hist: list[tuple[int, int, int, float]] = []
    hist_extend = hist.extend
    last_update = b.last_values.update
    hist_head = HIST_HEAD.unpack_from
    c = None if created is None else created * 1000.0
    max_step = None
    last_t = 0.0
    for rt, seq, buf, start, stop, end in reader.scan(offset, limit_bytes=BATCH_BYTES, after_seq=after_seq, runs=True):
        b.end, b.seq = end, seq
        if rt == HISTORY_RUN:  # `stop` records of one shape, by column
            b.records += stop
            if hist:
                b.points.append(hist)
                hist = []
                hist_extend = hist.extend
            # ms = int(t * 1000.0 - c + 0.5) as for one record (the same operations in the same order), at C speed
            ms = list(map(int, map((0.5).__radd__, map(c.__rsub__, map((1000.0).__mul__, buf.times)))))
            b.points.append(_Columns(buf.keys, buf.steps, ms, buf.values))
            last_update(zip(buf.keys, [v[-1] for v in buf.values]))
            top = max(buf.steps)
            if max_step is None or top > max_step:
                max_step = top
            last_t = max(last_t, max(buf.times))
            b.replace_after_history = False
            continue
        b.records += 1
        if rt == RecordType.HISTORY:
            step, t, n = hist_head(buf, start)
            ps = _pair_structs.get(n)
            if ps is None:
                ps = _pair_structs[n] = struct.Struct("<" + "Id" * n)
            vals = ps.unpack_from(buf, start + HIST_HEAD.size)
            kids, values = vals[0::2], vals[1::2]
            ms = int(t * 1000.0 - c + 0.5)
            hist_extend(zip(kids, repeat(step, n), repeat(ms, n), values))
            last_update(zip(kids, values))
            tail_at = start + HIST_HEAD.size + ps.size
            if tail_at < stop:
                for kid, value in json.loads(bytes(buf[tail_at:stop])).items():
                    b.texts.append((int(kid), step, t, value))
                    b.last_values[int(kid)] = value
            if max_step is None or step > max_step:
                max_step = step
            if t > last_t:
                last_t = t
            b.replace_after_history = False
            continue
        payload = bytes(buf[start:stop])
        if rt == RecordType.IMAGE:  # its PNGs are made by _images_stored, before the batch's transaction
            b.images.append((len(b.media), end, payload))
            b.media.append(None)
        elif rt == RecordType.KEY:
            b.keys.append(decode_key(payload))
        elif rt == RecordType.SYSTEM:
            t, pairs = decode_system(payload)
            b.system.extend((kid, t, value) for kid, value in pairs)
            last_t = max(last_t, t)
        elif rt == RecordType.HEARTBEAT:
            last_t = max(last_t, json.loads(payload)["t"])
        elif rt in _JSON_TYPES:
            obj = json.loads(payload)
            if rt == RecordType.RUN:
                if b.run or offset > HEADER_SIZE:
                    b.resumed = True
                b.run = obj
                b.exit = None
                if b.created is None:
                    b.created = obj["created_at"]
                    c = b.created * 1000.0
                last_t = max(last_t, obj.get("t", 0.0))
            elif rt == RecordType.CONFIG:
                b.config_ops.append(obj)
            elif rt == RecordType.SUMMARY:
                b.summary_ops.append(obj)
                if "replace" in obj:
                    b.replace_after_history = True
            elif rt == RecordType.METRIC:
                b.metric_defs.append(obj)
            elif rt == RecordType.OUTPUT:
                b.logs.append((seq, obj["t"], obj["stream"], obj["text"]))
                last_t = max(last_t, obj["t"])
            elif rt == RecordType.ENVIRONMENT:
                b.environment = obj
            elif rt == RecordType.EXIT:
                b.exit = obj
                last_t = max(last_t, obj.get("t", 0.0))
            elif rt == RecordType.UPDATE:
                b.updates.update(obj)
            elif rt in _ARTIFACT_TYPES:
                b.artifact_ops.append((rt, seq, obj))
            elif rt == RecordType.LOSS:
                b.losses.append((end, obj))
            elif rt == RecordType.ALERT:  # kept with the run's console lines, as stream "alert"
                b.logs.append((seq, obj["t"], "alert", f"[{obj.get('level', 'INFO')}] {obj.get('title', '')}: {obj.get('text', '')}\n"))
            elif rt == RecordType.PREEMPTING:
                b.logs.append((seq, obj["t"], "event", "mark_preempting(): the run expects to be stopped and resumed\n"))
            elif rt == RecordType.MEDIA:
                b.media.append(obj)
    if hist:
        b.points.append(hist)
    b.max_step, b.last_t = max_step, last_t
    b.skipped = list(reader.skipped)
    return b


def ingest_run(
    engine: Engine,
    wal_path: str,
    run_id: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    blob_store: Callable[[], Any] | None = None,
) -> int:
    """Ingest every whole record of ``wal_path`` written before the call and not yet in the store; returns how many.

    Safe to call from several processes at once and to repeat: nothing doubles. A log that is
    not the one the store's rows of this run came from (another run that took the same id) is
    refused with a ``SyncError``: two logs never merge. The PNGs of images logged as pixels go to
    ``blob_store()`` (default: the blob store of the store folder the log sits in), asked for when a batch holds one.
    """
    run_id = run_id or os.path.basename(os.path.dirname(wal_path))
    total = 0
    size = at_call = log_size(wal_path)  # None: a compressed log, read to its end
    identity: str | None = None
    with WalReader(wal_path) as reader:
        while True:
            found = _ingest_batch(engine, reader, wal_path, run_id, size, identity, blob_store=blob_store)
            if found is None:
                return total
            records, size, identity, end = found
            total += records
            if progress is not None:
                progress(end, size or end)
            if at_call is not None and end >= at_call:
                # what was written before the call is in: a live log's newer records wait for the next call, so
                # the worker takes a live run's records a poll's worth at a time, not a few at a time as they come
                return total


def ingest_bytes(engine: Engine, run_id: str, offset: int, data: bytes, log_id: str | None = None, blob_store: Callable[[], Any] | None = None) -> int:
    """Store the records of ``data``, run ``run_id``'s log from byte ``offset`` (a batch sent to a server).

    What the store holds already is skipped, so a retried or replayed batch adds nothing; the
    store's offset moves only past whole records. Returns the offset the store holds after. The
    PNGs of images logged as pixels go to ``blob_store()`` (a batch holding such images needs it).

    Raises:
        SyncError: a gap (``offset`` past what the store holds: send from there; ``.offset`` says
            where), or the bytes of another log than the one stored under this run id.
    """
    label = f"the log of run {run_id!r} as sent"
    reader = WalReader.over_bytes(data, offset, label)
    identity = log_id
    if identity is None and offset == 0:
        first = next(iter(reader.records(0, limit_bytes=1)), None)
        identity = log_identity(first.json()) if first is not None and first.type == RecordType.RUN else None
    end = offset + len(data)
    while True:
        held, stored_id = _held(engine, run_id)
        if identity is not None and stored_id is not None and identity != stored_id:
            raise SyncError(
                f"run {run_id!r} on this server came from another log (another run that took the same id?); "
                "nothing was stored. Keep both with: tracklet sync PATH --new-id", offset=held,
            )
        if held < offset:
            raise SyncError(f"run {run_id!r}: the store holds {held} bytes of its log, and this batch starts at {offset}: send from {held}", offset=held)
        if held >= end:
            return held
        if _ingest_batch(engine, reader, label, run_id, end, identity, fixed=True, blob_store=blob_store) is None:
            return _held(engine, run_id)[0]


def _blobs_of(wal_path: str, fixed: bool) -> Any:
    """The blob store of the store folder ``wal_path`` sits in: where a local log's images get their PNGs."""
    from ...artifacts.storage import blob_store_of
    from .._layout import store_of_log

    root = None if fixed else store_of_log(wal_path)
    if root is None:
        raise SyncError(f"{wal_path} holds images logged as pixels, and no blob store was given to store their PNGs in")
    return blob_store_of(root)


@contextmanager
def _images_stored(b: _Batch, blob_store: Callable[[], Any] | None, wal_path: str, fixed: bool) -> Iterator[None]:
    """Make and store the PNGs of the batch's IMAGE records, each becoming the MEDIA record that names them, and
    hold the blob folder's removal lock until the block (the batch's transaction) ends: a delete cannot see
    these blobs in the log, so it waits until the rows naming them are in.

    A record whose pixels do not add up (written by no tracklet) is skipped and said once; a blob that
    cannot be written raises, and the batch is stored later, from the same records.
    """
    if not b.images:
        yield
        return
    from ...media._pixels import store_images

    blobs = blob_store() if blob_store is not None else _blobs_of(wal_path, fixed)
    with blobs.removal_lock():
        for i, end, payload in b.images:
            try:
                b.media[i] = store_images(payload, blobs)
            except (ValueError, KeyError, TypeError) as e:
                warn_once(f"image-record:{wal_path}:{end}", f"tracklet: an IMAGE record of {wal_path} ending at offset {end} "
                          f"cannot be read ({e!r}); its images are skipped, the rest of the log is stored")
        b.media = [m for m in b.media if m is not None]
        yield


def _held(engine: Engine, run_id: str) -> tuple[int, str | None]:
    """(bytes of the run's log the store holds, the log's identity)."""
    with engine.connect() as conn:
        row = conn.execute(select(S.runs.c.wal_offset, S.runs.c.log_id).where(S.runs.c.run_id == run_id)).first()
        conn.rollback()
    return (int(row[0]), row[1]) if row else (0, None)


def _ingest_batch(
    engine: Engine, reader: WalReader, wal_path: str, run_id: str, size: int | None, identity: str | None,
    fixed: bool = False, blob_store: Callable[[], Any] | None = None,
) -> tuple[int, int | None, str | None, int] | None:
    """Store the next batch of the log; None when there is nothing more, else (records, size, identity, end offset).

    ``fixed``: the log is bytes at hand (``ingest_bytes``) that end at ``size``, not a file that may grow.
    """
    while True:
        with engine.connect() as conn:
            found = conn.execute(
                select(S.runs.c.wal_offset, S.runs.c.created_at, S.runs.c.wal_seq, S.runs.c.log_id).where(S.runs.c.run_id == run_id)
            ).first()
            conn.rollback()
        offset, created, seq, stored_id = (found[0], found[1], found[2], found[3]) if found else (0, None, 0, None)
        if size is not None and offset >= size:
            if fixed:
                return None
            size = log_size(wal_path)  # the log may have grown since we looked
            if offset == size:
                return None
        if identity is None and not fixed:
            identity = identity_of_log(wal_path)
        if found is not None and stored_id is not None and identity is not None and identity != stored_id:
            raise SyncError(
                f"{wal_path} is not the log the store's run {run_id!r} came from (another run with the same id, "
                f"from another machine or store?); it was not stored. Keep both with: tracklet sync {wal_path} --new-id"
            )
        if size is not None and offset > size:
            raise SyncError(f"{wal_path} is shorter ({size} bytes) than what the store already holds of run {run_id!r} ({offset} bytes)")
        try:
            batch = _decode(reader, offset, created, seq)
        except (ValueError, KeyError) as e:
            raise SyncError(f"cannot read {wal_path} at offset {offset}: {e}") from None
        if batch.records == 0:
            return None
        with _images_stored(batch, blob_store, wal_path, fixed):
            with write_transaction(engine, lock=run_id) as conn:
                row = conn.execute(select(S.runs).where(S.runs.c.run_id == run_id)).mappings().first()
                if (row["wal_offset"] if row else 0) != offset:
                    continue  # another ingester moved on meanwhile: read again from its offset
                if conn.dialect.name == "sqlite":
                    conn.exec_driver_sql(_CHECKPOINT_EVERY)
                _apply(conn, row, run_id, batch, wal_path, identity)
        if batch.skipped:
            damaged = sum(e - s for s, e in batch.skipped)
            warn_once(
                f"damaged:{wal_path}:{batch.skipped[0][0]}",
                f"tracklet: the log of run {run_id} ({wal_path}) is damaged: {damaged} bytes at offset "
                f"{batch.skipped[0][0]} could not be read and were skipped; every whole record after them is stored. "
                "`tracklet doctor` lists damaged logs.",
            )
        return batch.records, size, identity, batch.end


def _apply(conn: Connection, row: Any, run_id: str, b: _Batch, wal_path: str, identity: str | None = None) -> None:
    now = time.time()
    if row is None:
        if not b.run:
            raise SyncError(f"{wal_path} does not start with a RUN record; it is not a tracklet run log")
        r = b.run
        values = {
            "run_id": run_id,
            "project_id": project_id_for(conn, r.get("entity"), r["project"]),
            "name": r.get("name"),
            "group_name": r.get("group"),
            "job_type": r.get("job_type"),
            "tags": r.get("tags") or [],
            "notes": r.get("notes"),
            "mode": r.get("mode", "local"),
            "state": "running",
            "created_at": r["created_at"],
            "updated_at": now,
            "host": r.get("host"),
            "pid": r.get("pid"),
            "config": {},
            "summary": {},
            "summary_state": {"last": {}, "explicit": {}},
            "metric_defs": [],
            "wal_offset": 0,
            "wal_seq": 0,
            "log_id": identity,
        }
        run_pk = conn.execute(S.runs.insert().values(**values)).inserted_primary_key[0]
        row = {**values, "pk": run_pk, "environment": None, "last_step": None, "heartbeat_at": None}
    run_pk = row["pk"]
    created = row["created_at"]

    if b.keys:
        insert_ignore(conn, S.run_keys, [{"run_pk": run_pk, "key_id": k, "name": n} for k, n in b.keys])
    if b.skipped or b.losses:
        _record_problems(conn, run_pk, b, now)
    if b.last_values or b.system:
        _name_lost_keys(conn, run_pk, b)
    lowest: dict[int, int] = {}  # key id -> the lowest step written: its chart blocks are made again from there
    for points in b.points:
        if isinstance(points, _Columns):
            _upsert_columns(conn, run_pk, points)
            if points.steps:
                first = min(points.steps)
                for key in points.keys:
                    lowest[key] = min(lowest.get(key, first), first)
        else:
            _upsert_points(conn, run_pk, points)
            for key, step, _, _ in points:
                if step < lowest.get(key, step + 1):
                    lowest[key] = step
    mark_dirty(conn, run_pk, lowest)
    if b.texts:
        upsert(
            conn,
            S.history_values,
            [{"run_pk": run_pk, "key_id": k, "step": s, "ts": _ms(t, created), "value": v} for k, s, t, v in b.texts],
            ("run_pk", "key_id", "step"),
            ("ts", "value"),
        )
    if b.system:
        upsert(
            conn,
            S.system_metrics,
            [{"run_pk": run_pk, "key_id": k, "ts": _ms(t, created), "value": v} for k, t, v in b.system],
            ("run_pk", "key_id", "ts"),
            ("value",),
        )
    if b.logs:
        insert_ignore(conn, S.run_logs, [{"run_pk": run_pk, "seq": q, "ts": t, "stream": st, "text": x} for q, t, st, x in b.logs])

    if b.media:
        _upsert_media(conn, run_pk, created, b.media)
    if b.artifact_ops:
        from ._artifact_records import apply_artifact_records

        for problem in apply_artifact_records(conn, run_pk, row["project_id"], b.artifact_ops):
            warn_once(f"artifact-ingest:{problem}", f"tracklet: while storing run {run_id}: {problem}")

    upd: dict[str, Any] = {"wal_offset": b.end, "wal_seq": b.seq, "updated_at": now}
    if row.get("log_id") is None and identity is not None:
        upd["log_id"] = identity  # a run stored before logs had identities
    config = dict(row["config"] or {})
    for op in b.config_ops:
        if "replace" in op:
            config = dict(op["replace"])
        config.update(op.get("set", {}))
    if b.config_ops:
        upd["config"] = config
    defs = list(row["metric_defs"] or []) + b.metric_defs
    if b.metric_defs:
        upd["metric_defs"] = defs
    if b.points or b.texts or b.summary_ops or b.metric_defs or b.keys or b.media:
        upd["summary_state"], upd["summary"] = _summarise(conn, run_pk, row["summary_state"] or {}, defs, b)
    if b.environment is not None:
        upd["environment"] = b.environment
    if b.max_step is not None and (row["last_step"] is None or b.max_step > row["last_step"]):
        upd["last_step"] = b.max_step
    if b.last_t:
        upd["heartbeat_at"] = max(b.last_t, row["heartbeat_at"] or 0.0)
    if b.resumed:
        upd.update(state="running", pid=b.run.get("pid"), host=b.run.get("host"), finished_at=None, exit_code=None, error=None)
    elif row["state"] == "crashed" and b.last_t > now - STALE_AFTER:
        upd["state"] = "running"  # taken for crashed while its records were held up (a server out of reach): it lives
    for attr, col in (("name", "name"), ("tags", "tags"), ("notes", "notes"), ("group", "group_name"), ("job_type", "job_type")):
        if attr in b.updates:
            upd[col] = b.updates[attr]
    if b.exit is not None:
        record_loss_report(conn, run_pk, os.path.dirname(wal_path), now)
        upd.update(
            state=b.exit.get("state", "finished"),
            exit_code=b.exit.get("exit_code"),
            error=b.exit.get("error"),
            finished_at=b.exit.get("t"),
        )
    conn.execute(S.runs.update().where(S.runs.c.pk == run_pk).values(**upd))


def _record_problems(conn: Connection, run_pk: int, b: _Batch, now: float) -> None:
    """Keep what was skipped or lost in the store, for ``tracklet doctor``/``show``; name metrics whose KEY record was lost."""
    rows = [
        {"run_pk": run_pk, "kind": "damaged", "at_offset": start, "size": end - start, "records": None,
         "detail": "bytes that are not a whole, intact record, followed by whole records; skipped", "found_at": now}
        for start, end in b.skipped
    ]
    rows += [
        {"run_pk": run_pk, "kind": "lost", "at_offset": at, "size": int(obj.get("bytes") or 0), "records": obj.get("records"),
         "detail": obj.get("error"), "found_at": now}
        for at, obj in b.losses
    ]
    insert_ignore(conn, S.run_problems, rows)


def record_loss_report(conn: Connection, run_pk: int, run_dir: str, now: float) -> dict[str, Any] | None:
    """Store what ``finish()`` could not write to the log (``loss.json``: the disk was full), if anything; returns it."""
    report = read_loss_report(run_dir)
    if report:
        insert_ignore(conn, S.run_problems, {
            "run_pk": run_pk, "kind": "lost", "at_offset": int(report.get("offset") or 0), "size": int(report.get("bytes") or 0),
            "records": report.get("records"), "detail": f"not written at finish(): {report.get('error') or 'disk full'}",
            "found_at": now,
        })
    return report


def _upsert_media(conn: Connection, run_pk: int, created: float, records: list[dict[str, Any]]) -> None:
    """One row per value of each MEDIA record; a value logged again at the same key, step and index replaces it."""
    rows = {}
    for rec in records:
        ts = _ms(rec.get("t") or created, created)
        for item in rec.get("items") or []:
            row = {
                "run_pk": run_pk, "key": item["key"], "step": int(rec["step"]), "idx": int(item.get("idx") or 0),
                "kind": item["kind"], "digest": item["digest"], "size": int(item.get("size") or 0), "ts": ts,
                "meta": item.get("meta") or {}, "refs": item.get("refs") or None,
            }
            rows[(row["key"], row["step"], row["idx"])] = row  # the last of a batch wins, as a replayed log has it
    upsert(conn, S.run_media, list(rows.values()), ("run_pk", "key", "step", "idx"), ("kind", "digest", "size", "ts", "meta", "refs"))


def _name_lost_keys(conn: Connection, run_pk: int, b: _Batch) -> None:
    """Values under a key id whose KEY record was in damaged bytes are kept, under ``_unnamed/<id>``."""
    p = S.run_problems.c
    if not b.skipped and conn.execute(select(p.run_pk).where(p.run_pk == run_pk, p.kind == "damaged").limit(1)).first() is None:
        return  # no damage, so every key id in use had its KEY record
    known = {k for (k,) in conn.execute(select(S.run_keys.c.key_id).where(S.run_keys.c.run_pk == run_pk))}
    used = set(b.last_values) | {k for k, _, _ in b.system}
    lost = sorted(used - known)
    if lost:
        insert_ignore(conn, S.run_keys, [{"run_pk": run_pk, "key_id": k, "name": UNNAMED_KEY.format(k)} for k in lost])


def _ms(t: float, created: float) -> int:
    return int(round((t - created) * 1000))


_ROWS_PER_STATEMENT = 200


def _upsert_points(conn: Connection, run_pk: int, hist: list) -> None:
    # Points of records read one by one (a JSON tail, keys that change from one log() to the next).
    # Multi-row VALUES cut pysqlite's per-row cost about in half;
    # SQLite applies the rows of one statement in order, so a repeated (key, step) keeps its last value.
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    row = f"({mark}, {mark}, {mark}, {mark}, {int(run_pk)})"
    tail = " ON CONFLICT (run_pk, key_id, step) DO UPDATE SET ts = excluded.ts, value = excluded.value"
    head = "INSERT INTO history (key_id, step, ts, value, run_pk) VALUES "
    if conn.dialect.name == "postgresql":
        from ._pg_ingest import upsert_points

        upsert_points(conn, run_pk, hist)
        return
    if conn.dialect.name != "sqlite":
        conn.exec_driver_sql(head + row + tail, hist)
        return
    n = _ROWS_PER_STATEMENT
    full = len(hist) // n * n
    cur = conn.connection.driver_connection.cursor()
    try:
        if full:  # a generator: the parameters of one statement exist at a time
            params = (tuple(chain.from_iterable(hist[i : i + n])) for i in range(0, full, n))
            cur.executemany(head + ", ".join([row] * n) + tail, params)
        if full < len(hist):
            cur.executemany(head + row + tail, hist[full:])
    finally:
        cur.close()


_POINT_UPSERT = " ON CONFLICT (run_pk, key_id, step) DO UPDATE SET ts = excluded.ts, value = excluded.value"
_COLUMN_SQL: dict[int, str] = {}


def _column_sql(rows: int) -> str:
    """An upsert of ``rows`` points of one key, its parameters by column: steps, ms, values, then the key and the run."""
    sql = _COLUMN_SQL.get(rows)
    if sql is None:
        key, run = rows * 3 + 1, rows * 3 + 2
        values = ", ".join(f"(?{key}, ?{i}, ?{rows + i}, ?{rows * 2 + i}, ?{run})" for i in range(1, rows + 1))
        sql = _COLUMN_SQL[rows] = f"INSERT INTO history (key_id, step, ts, value, run_pk) VALUES {values}{_POINT_UPSERT}"
    return sql


def _upsert_columns(conn: Connection, run_pk: int, cols: _Columns) -> None:
    # The hot path of ingest. One key at a time, so that its points land together in the
    # (run, key, step) index (600k points of 3 keys: 0.23 s in SQLite here, 0.7 s interleaved),
    # with parameters that are slices of the columns (SQLite's numbered ?NNN): Python builds
    # no row. A key's points keep their log order, so a repeated step keeps its last value.
    if conn.dialect.name != "sqlite":
        _upsert_points(conn, run_pk, cols.rows())
        return
    n = _ROWS_PER_STATEMENT
    steps, ms = cols.steps, cols.ms
    full = len(steps) // n * n
    cur = conn.connection.driver_connection.cursor()
    try:
        for key, values in zip(cols.keys, cols.values):
            tail = [key, run_pk]
            if full:
                cur.executemany(_column_sql(n), (steps[i : i + n] + ms[i : i + n] + values[i : i + n] + tail for i in range(0, full, n)))
            if full < len(steps):
                cur.executemany(_column_sql(1), zip(steps[full:], ms[full:], values[full:], repeat(key), repeat(run_pk)))
    finally:
        cur.close()


def _summarise(conn: Connection, run_pk: int, state: dict[str, Any], defs: list[dict[str, Any]], b: _Batch) -> tuple[dict, dict]:
    """Fold the batch into the run's summary: last values, then define_metric aggregates, then explicit sets."""
    last = dict(state.get("last", {}))
    explicit = dict(state.get("explicit", {}))
    replaced = state.get("replaced")
    names = {kid: name for kid, name in conn.execute(select(S.run_keys.c.key_id, S.run_keys.c.name).where(S.run_keys.c.run_pk == run_pk))}
    if b.last_values:
        replaced = None
    for op in b.summary_ops:
        if "replace" in op:  # an image's description without its digest (logged as pixels) keeps the store's
            last, explicit = {**last, **{k: v for k, v in op["replace"].items() if k not in last or not undigested(v)}}, {}
        explicit.update(op.get("set", {}))
        for key in op.get("del", []):
            explicit.pop(key, None)
            last.pop(key, None)
    last.update((names.get(kid, str(kid)), value) for kid, value in b.last_values.items())
    for record in b.media:
        last.update(media_summary(record))
    if b.replace_after_history:
        replaced = next(op["replace"] for op in reversed(b.summary_ops) if "replace" in op)
        replaced = {k: last.get(k, v) if undigested(v) else v for k, v in replaced.items()}
    new_state = {"last": last, "explicit": explicit}
    if replaced is not None:
        new_state["replaced"] = replaced
        return new_state, {**replaced, **explicit}
    summary = dict(last)
    for key_id, name in names.items():
        matched = [d for d in defs if d["name"] == name or ("*" in d["name"] and _glob(d["name"], name))]
        if not matched:
            continue
        d = matched[-1]
        if d.get("hidden"):
            summary.pop(name, None)
        aggs = [a for a in d.get("summary") or [] if a != "none"]
        if d.get("summary") and not aggs:
            summary.pop(name, None)
        if aggs:
            summary[name] = _aggregate(conn, run_pk, key_id, aggs, d.get("goal"))
    summary.update(explicit)
    return new_state, summary


def _glob(pattern: str, name: str) -> bool:
    import fnmatch

    return fnmatch.fnmatchcase(name, pattern)


def _aggregate(conn: Connection, run_pk: int, key_id: int, aggs: list[str], goal: str | None) -> dict[str, Any]:
    h = S.history.c
    where = (h.run_pk == run_pk, h.key_id == key_id, h.value == h.value)  # value == value drops NaN
    lo, hi, mean = conn.execute(select(func.min(h.value), func.max(h.value), func.avg(h.value)).where(*where)).one()
    out: dict[str, Any] = {}
    for a in aggs:
        if a == "min":
            out["min"] = lo
        elif a == "max":
            out["max"] = hi
        elif a == "mean":
            out["mean"] = mean
        elif a == "best":
            out["best"] = lo if goal == "minimize" else hi
        elif a in ("first", "last"):
            order = h.step.asc() if a == "first" else h.step.desc()
            out[a] = conn.execute(select(h.value).where(h.run_pk == run_pk, h.key_id == key_id).order_by(order).limit(1)).scalar()
    return out
