"""A run's log arriving in batches over HTTP (``POST /api/v1/runs/{id}/log``): kept and stored.

A folder store's server keeps each run's log where a local run keeps it (``_layout.log_path``), so the
store can be rebuilt from it, catch-up and ``tracklet doctor`` see it, and a run sent to the
server reads as one logged on it. A batch is checked whole first (a header at offset 0, then
whole records with valid CRCs), then only the bytes past what the file holds are appended
(idempotent by offset), then ``ingest_run`` stores them. Appends to one run are serialised by an
exclusive ``flock`` on the log (safe across server processes on one folder) and, within a
process, by a lock per run, so two requests never interleave their bytes.

A database store (PostgreSQL: a team server's replicas) keeps no log file: ``append_to_database``
checks the batch the same way and stores its records with ``ingest_bytes``, idempotent by offset
in the database itself, so any replica may take any batch of any run.
"""

from __future__ import annotations

import json
import os
import struct
import threading
import time
import zlib
from typing import Any, Callable

from sqlalchemy import Engine, select

from ..._errors import SyncError, UsageError
from ..._ids import check_run_id
from ...wal._logfile import log_exists, log_size, open_for_append
from ...wal._wal import (
    HEADER, HEADER_SIZE, MAGIC, MAX_RECORD, PREFIX, VERSION, RecordType, encode_json_records, identity_of_log, log_identity,
)
from .._liveness import STALE_AFTER
from .. import _layout as L
from . import _schema as S
from ._ingest import ingest_bytes, ingest_run

__all__ = ["LOCK_WAIT", "append_log", "append_to_database", "check_batch", "edit_in_database", "first_run_record_of", "log_path", "log_position"]

LOCK_WAIT = 30.0  # seconds a batch waits for another writer of the same run before a 409
_BODY_HEAD = struct.Struct("<BQ")
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def log_path(root: str, run_id: str) -> str:
    """Where the store folder ``root`` keeps run ``run_id``'s log (the id checked: no ``..`` or separators)."""
    check_run_id(run_id)
    folder, path = L.run_dir(root, run_id), L.log_path(root, run_id)
    if os.path.islink(folder) or os.path.islink(path):  # placed there by hand: it could point anywhere
        raise UsageError(f"run {run_id!r}'s folder or log in the store is a symbolic link; the server does not follow links")
    return path


def _stored(engine: Engine, run_id: str) -> tuple[int, str | None] | None:
    with engine.connect() as conn:
        row = conn.execute(select(S.runs.c.wal_offset, S.runs.c.log_id).where(S.runs.c.run_id == run_id)).first()
        conn.rollback()
    return (int(row[0]), row[1]) if row else None


def log_position(engine: Engine, root: str, run_id: str) -> dict[str, Any]:
    """``{"offset": bytes held, "log_id": ...}`` of a run's log in the store folder ``root`` (0 and None if unknown)."""
    path = log_path(root, run_id)
    if log_exists(path):
        size = log_size(path)
        if size is None:  # compressed: the store held it whole before it was compressed
            found = _stored(engine, run_id)
            size = found[0] if found else 0
        return {"offset": size, "log_id": identity_of_log(path)}
    found = _stored(engine, run_id)
    return {"offset": found[0] if found else 0, "log_id": found[1] if found else None}


def check_batch(data: bytes, offset: int) -> list[int]:
    """The offsets (relative to ``data``) where each whole record of a batch starts, plus its end.

    Raises ``UsageError`` unless ``data`` is whole records with valid CRCs (after the 16-byte
    header, when ``offset`` is 0): a batch is stored whole or not at all.
    """
    pos = 0
    if offset == 0:
        if len(data) < HEADER_SIZE:
            raise UsageError(f"a log starts with its {HEADER_SIZE}-byte header; got {len(data)} bytes")
        magic, version, _ = HEADER.unpack_from(data, 0)
        if magic != MAGIC:
            raise UsageError("the body is not a tracklet log: it does not start with the log header (docs/wal-format.md)")
        if version > VERSION:
            raise UsageError(f"the log uses format {version}, newer than this server reads ({VERSION}): upgrade the server")
        pos = HEADER_SIZE
    elif offset < HEADER_SIZE:
        raise UsageError(f"offset {offset} is inside the log's {HEADER_SIZE}-byte header: send from 0")
    bounds = [0, pos] if pos else [0]
    unpack_prefix, crc32, n = PREFIX.unpack_from, zlib.crc32, len(data)
    view = memoryview(data)
    while pos < n:
        if n - pos < 8:
            raise UsageError(f"the batch ends inside a record at byte {offset + pos}: send whole records")
        length, crc = unpack_prefix(data, pos)
        if length < 9 or length > MAX_RECORD:
            raise UsageError(f"no log record at byte {offset + pos} (length {length}): the batch is not whole records of a log")
        end = pos + 8 + length
        if end > n:
            raise UsageError(f"the batch ends inside a record at byte {offset + pos}: send whole records")
        if crc32(view[pos + 8 : end]) != crc:
            raise UsageError(f"the record at byte {offset + pos} fails its CRC check: the batch was damaged on the way")
        pos = end
        bounds.append(pos)
    return bounds


def first_run_record_of(data: bytes, offset: int) -> dict[str, Any] | None:
    """The first RUN record of a checked batch that starts the log (offset 0), else None."""
    if offset != 0 or len(data) < HEADER_SIZE + 17:
        return None
    length = PREFIX.unpack_from(data, HEADER_SIZE)[0]
    rtype, _ = _BODY_HEAD.unpack_from(data, HEADER_SIZE + 8)
    if rtype != RecordType.RUN:
        return None
    try:
        found = json.loads(data[HEADER_SIZE + 17 : HEADER_SIZE + 8 + length])
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def _run_lock(root: str, run_id: str) -> threading.Lock:
    key = f"{os.path.abspath(root)}\0{run_id}"
    with _locks_guard:
        lock = _locks.get(key)
        if lock is None:
            lock = _locks[key] = threading.Lock()
        return lock


def _open_exclusive(path: str, wait: float) -> int:
    """The log opened for appending under an exclusive ``flock``; waits up to ``wait`` s for another writer."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return open_for_append(path, 0o600, exclusive=True)
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise SyncError(
                    f"the log of run {os.path.basename(os.path.dirname(path))!r} is being written by another process "
                    "on the server (a local run with this id, or another request): retry later"
                ) from None
            time.sleep(0.01)


def append_log(
    engine: Engine, root: str, run_id: str, offset: int, data: bytes, log_id: str | None = None, blob_store: Callable[[], Any] | None = None,
) -> int:
    """Keep ``data`` (the run's log from ``offset``) in ``root/runs/<id>/run.tlog`` and store its records.

    Returns the bytes held now. Raises ``UsageError`` for bytes that are not whole log records (nothing
    written) and ``SyncError`` for a gap (``offset`` past what is held) or a log that is not the one held
    under this run id; ``SyncError.offset`` then says the bytes held. Bytes written but not stored (the
    store refuses what the log holds) are logged on the server and answered as held.
    """
    path = log_path(root, run_id)
    bounds, log_id, starts_run = _checked_batch(data, offset, log_id)
    with _run_lock(root, run_id):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        existed = log_exists(path)
        fd = _open_exclusive(path, LOCK_WAIT)
        try:
            held = os.fstat(fd).st_size
            if existed and held:
                here = identity_of_log(path)
            else:
                stored = _stored(engine, run_id)
                here = stored[1] if stored else None
            skip = _new_from(run_id, offset, len(data), held, here, log_id, bounds, starts_run)
            if skip is not None:
                _write_all(fd, memoryview(data)[skip:])
                held += len(data) - skip
        finally:
            if not existed and held == 0:  # refused before a byte was written: leave no empty log behind
                _remove_empty(path)
            os.close(fd)
        try:
            ingest_run(engine, path, run_id, blob_store=blob_store)
        except SyncError as e:
            # The bytes are kept: the log is the source of truth, and a rebuilt store reads them. A refusal
            # here would tell the client its log was not taken (it reads a 409 as "another log").
            import logging

            logging.getLogger("tracklet.server").error("run %s: its log's bytes up to %d are kept but not stored: %s", run_id, held, e)
    return held


def append_to_database(engine: Engine, run_id: str, offset: int, data: bytes, log_id: str | None = None, blob_store: Callable[[], Any] | None = None) -> int:
    """Store ``data`` (run ``run_id``'s log from ``offset``) in a database store that keeps no log file.

    The same checks and answers as :func:`append_log`: ``UsageError`` for bytes that are not whole
    log records (nothing stored), ``SyncError`` with ``.offset`` for a gap or another log under this id.
    """
    check_run_id(run_id)
    bounds, log_id, starts_run = _checked_batch(data, offset, log_id)
    found = _stored(engine, run_id)
    held, here = found if found else (0, None)
    if _new_from(run_id, offset, len(data), held, here, log_id, bounds, starts_run) is None:
        return held  # a replay of what is held
    try:
        return ingest_bytes(engine, run_id, offset, data, log_id, blob_store=blob_store)
    except SyncError as e:
        raise _refused(str(e), e.offset if e.offset is not None else held) from None


def edit_in_database(engine: Engine, run_id: str, records: list[tuple[int, dict[str, Any]]]) -> None:
    """Append edits to a finished run of a database store, as records after the last one it holds.

    The store keeps no log file, so the edits become the next bytes of the run's log (numbered after its
    last record) and go in as a batch would: a rebuilt or replicated store has them too.
    Raises ``UsageError`` for an unknown or still-running run; ``SyncError`` when another edit or batch
    landed meanwhile (nothing stored: try again).
    """
    with engine.connect() as conn:
        row = conn.execute(
            select(S.runs.c.state, S.runs.c.heartbeat_at, S.runs.c.wal_seq, S.runs.c.wal_offset, S.runs.c.log_id)
            .where(S.runs.c.run_id == run_id)
        ).first()
        conn.rollback()
    if row is None:
        raise UsageError(f"no run {run_id!r} in this store")
    state, heartbeat_at, last_seq, held, log_id = row
    if state == "running" and time.time() - (heartbeat_at or 0.0) <= STALE_AFTER:
        raise UsageError(
            f"run {run_id} is still running; change it from that process (run.name = ..., run.tags = ..., "
            "run.config[...] = ...) or after it ends"
        )
    data = encode_json_records(int(last_seq) + 1, records)
    if ingest_bytes(engine, run_id, int(held), data, log_id) != int(held) + len(data):
        raise SyncError(f"run {run_id!r} changed while this edit was stored (another edit at the same moment?); try again")


def _checked_batch(data: bytes, offset: int, log_id: str | None) -> tuple[list[int], str | None, bool]:
    """A batch's record bounds (``check_batch``), its log id (the header's or its first RUN record's), and
    whether it starts the log with a RUN record.

    Raises ``UsageError`` for a negative offset, bytes that are not whole records, or a header that
    names another log than the batch's first record.
    """
    if offset < 0:
        raise UsageError(f"offset must be 0 or more; got {offset}")
    bounds = check_batch(data, offset)
    first = first_run_record_of(data, offset)
    incoming = log_identity(first) if first else None
    if log_id and incoming and log_id != incoming:
        raise UsageError(f"X-Tracklet-Log-Id {log_id!r} is not the log id in the batch's first record ({incoming!r})")
    return bounds, log_id or incoming, first is not None


def _new_from(
    run_id: str, offset: int, size: int, held: int, here: str | None, log_id: str | None, bounds: list[int], starts_run: bool
) -> int | None:
    """Where in a batch the bytes the store lacks start; None when it holds them all (a replay).

    Raises ``SyncError`` (with ``.offset``, the bytes held) for another log under this run id, a gap,
    or a held size that is not a record boundary of the batch.
    """
    if here is not None and log_id is not None and here != log_id:
        raise _refused(
            f"run id {run_id!r} already belongs to another log on this server (log {here}, yours {log_id}): "
            f"it was not stored. Keep both with: tracklet sync <run folder> --new-id",
            held,
        )
    if offset > held:
        raise _refused(f"the batch starts at byte {offset} but the server holds {held} bytes of run {run_id!r}: resend from {held}", held)
    skip = held - offset
    if skip >= size:
        return None
    if skip not in bounds:
        raise _refused(
            f"the server holds {held} bytes of run {run_id!r}, which is not a record boundary of this batch: "
            f"the log differs from the one held; resend from {held}, or sync it with --new-id",
            held,
        )
    if held == 0 and not starts_run:
        raise UsageError("a log's first record is its RUN record; this batch starts with another")
    return skip


def _remove_empty(path: str) -> None:
    try:
        if os.path.getsize(path) == 0:
            os.remove(path)
        os.rmdir(os.path.dirname(path))
    except OSError:
        pass  # not empty, or gone already


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        wrote = os.write(fd, data)
        data = data[wrote:]
    os.fsync(fd)


def _refused(message: str, held: int) -> SyncError:
    e = SyncError(message)
    e.offset = held  # type: ignore[attr-defined]  # where the client resumes
    return e
