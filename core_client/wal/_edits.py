"""Changes to a stored run made after it ended (``Api().run(...).update()``), written to the run's own WAL.

The WAL stays the source of truth: an edit is an UPDATE / CONFIG / SUMMARY record appended
after the run's last record, the same records the run itself writes, so ingest stores it,
a store rebuilt from the WALs keeps it, and a later resume starts from it.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator

from .._errors import StoreError, UsageError
from ..store._layout import log_path
from ..store._liveness import looks_crashed
from ._logfile import log_exists
from ._wal import RecordType, WalReader, WalWriter

__all__ = ["append_edits", "ended_log"]


def _tail(path: str) -> tuple[int, int, dict[str, Any] | None]:
    """(last seq, offset past the last whole record, the last RUN record when no EXIT follows it)."""
    import json

    last_seq, end, live = 0, 0, None
    for rtype, seq, buf, start, stop, rec_end in WalReader(path).scan():
        last_seq, end = seq, rec_end
        if rtype == RecordType.RUN:
            live = json.loads(bytes(buf[start:stop]))
        elif rtype == RecordType.EXIT:
            live = None
    return last_seq, end, live


_BUSY_WAIT = 5.0  # seconds to wait for the worker's compressor or another editor to let go of an ended run's log


def _exclusive_writer(path: str, still: str) -> WalWriter:
    """The log opened exclusively: one editor at a time (two would number their records alike), never while the run
    writes. The store's worker holds it exclusively for a moment while it compresses an ended run's log: then wait."""
    deadline = time.monotonic() + _BUSY_WAIT
    while True:
        try:
            return WalWriter(path, exclusive=True)
        except BlockingIOError:
            try:
                live = _tail(path)[2] is not None
            except FileNotFoundError:  # compressed meanwhile: the next try opens it plain again
                live = False
            if live or time.monotonic() > deadline:
                raise UsageError(still) from None
            time.sleep(0.05)


@contextmanager
def ended_log(root: str, run_id: str, what: str = "change") -> Iterator[tuple[WalWriter, int, int]]:
    """``with ended_log(root, run_id) as (writer, last_seq, end):`` run ``run_id``'s log, held exclusively,
    after checking the run has ended (an edit or a delete may not race the run that writes it).

    Raises:
        UsageError: the run is still running (``what`` it from the run itself, or after it ends).
        StoreError: the log is missing, or has bytes after its last whole record.
    """
    path = log_path(root, run_id)
    if not log_exists(path):
        raise StoreError(f"run {run_id}'s log {path} is missing; the store cannot record a {what} to it")
    still = (f"run {run_id} is still running; change it from that process (run.name = ..., run.tags = ..., "
             "run.config[...] = ...) or after it ends") if what == "change" else (
             f"run {run_id} is still running; {what} it after it ends (or after its process is stopped)")
    writer = _exclusive_writer(path, still)
    try:
        last_seq, end, live = _tail(path)
        if live is not None:
            if not looks_crashed(root, run_id, live.get("pid"), live.get("host"), heartbeat_at=time.time()):
                raise UsageError(still.replace("still running;", f"still running (process {live.get('pid')} on {live.get('host')});"))
        size = os.path.getsize(path)
        if end < size:
            raise StoreError(
                f"{path} has {size - end} bytes after its last whole record; nothing was changed. "
                "`tracklet doctor` checks the log."
            )
        yield writer, last_seq, end
    finally:
        writer.close()


def append_edits(root: str, run_id: str, records: list[tuple[int, dict[str, Any]]]) -> None:
    """Append ``records`` (type, JSON object) to run ``run_id``'s WAL in store ``root``.

    Raises:
        UsageError: the run is still running (change it from the run itself).
        StoreError: the log is missing, or has bytes after its last whole record.
    """
    path = log_path(root, run_id)
    with ended_log(root, run_id) as (writer, last_seq, _end):
        writer.seq = last_seq + 1
        for rtype, obj in records:
            writer.append_json(rtype, obj)
        written = writer.flush()
        writer.sync()
    if not written or writer.error is not None:
        raise StoreError(f"could not write the change to {path}: {writer.error}")
