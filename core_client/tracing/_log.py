"""The trace log: one append-only file per tracing process, ``DIR/traces/<log_id>.tlog``.

It has the run log's framing (``wal._wal``: length, CRC, seq per record; survives SIGKILL) and three
record types (docs/wal-format.md): TRACE (who writes: project, process, host), CALL_START and
CALL_END. Readers of the store ingest it like a run's log. A call with a start and no end in the
log of a process that is gone is stored as ``crashed``. Every record reaches the OS before the op
returns, so a killed process keeps every call that finished.
"""

from __future__ import annotations

import atexit
import itertools
import os
import threading
import time

from .._errors import warn_once
from .._ids import hostname
from ..store._layout import trace_log_path, traces_dir
from ..wal._wal import RecordType, WalWriter, new_log_id

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["TraceLog"]


class TraceLog:
    """Appends call records for one project to this process's trace log; thread-safe, never raises."""

    def __init__(
        self, root: str, project: str, entity: str | None = None, sample_rate: float = 1.0, server: tuple[str, str | None] | None = None,
        finish_timeout: float = 60.0,
    ) -> None:
        self.root, self.project, self.entity, self.sample_rate = root, project, entity, sample_rate
        self.log_id = new_log_id()
        self.path = trace_log_path(root, self.log_id)
        self._prefix = self.log_id[:10]
        self._ids = itertools.count(1).__next__
        self._lock = threading.Lock()
        self._writer: WalWriter | None = None
        self._uploader: Any = None
        self._finish_timeout = finish_timeout
        try:
            os.makedirs(traces_dir(root), exist_ok=True)
            self._writer = WalWriter(self.path)
            self._writer.append_json(RecordType.TRACE, {
                "log_id": self.log_id, "project": project, "entity": entity or "", "pid": os.getpid(),
                "host": hostname(), "t": time.time(), "sample_rate": sample_rate,
            })
        except OSError as e:
            warn_once(f"trace-log:{root}", f"tracklet: cannot write traces to {self.path} ({e}); ops run untraced")
            self._writer = None
        if server is not None and self._writer is not None:
            from ..remote._uploader import Uploader  # stdlib only: its thread imports requests

            # remote mode: the local trace log is the backlog; the run's uploader thread posts it as it grows
            self._uploader = Uploader(
                server[0], server[1], self.path, f"trace-{self.log_id}", self.log_id, writer=self._writer,
                route=f"/traces/{self.log_id}/log",
            )
            self._uploader.start()
        atexit.register(self.close)

    def new_id(self) -> str:
        """A call id unique across processes: this log's prefix and a counter."""
        return f"{self._prefix}{self._ids():x}"

    def write(self, rtype: int, payload: str) -> None:
        w = self._writer
        if w is None:
            return
        data = payload.encode()
        with self._lock:
            try:
                w.append(rtype, data)
            except Exception as e:  # the writer queues what the disk refuses; anything else is one warning
                warn_once(f"trace-write:{self.path}", f"tracklet: a call record could not be written to {self.path}: {e}")
            if w.error is not None:  # the disk refused it (full): queued in memory
                warn_once(
                    f"trace-disk:{self.path}",
                    f"tracklet: cannot write calls to {self.path} ({w.error}); ops run as usual and their records wait "
                    "in memory until the disk has room (beyond 64 MB the oldest are dropped)",
                )

    def flush(self) -> None:
        w = self._writer
        if w is not None:
            with self._lock:
                w.flush()

    def close(self) -> None:
        """Stop writing; in remote mode wait (up to the ``finish_timeout`` setting) for the server to take the rest."""
        with self._lock:
            writer, self._writer = self._writer, None
            if writer is None:
                return
            writer.flush()
            end = writer.offset
            lost, nbytes = writer.unwritten()
            writer.close()
        if lost:
            warn_once(
                f"trace-lost:{self.path}",
                f"tracklet: {lost} call records ({nbytes} bytes) could not be written to {self.path} ({writer.error or 'disk full'}); "
                "those calls are missing or marked crashed in the store",
            )
        if self._uploader is not None:
            left = self._uploader.finish(end, self._finish_timeout)
            if left:
                warn_once(
                    f"trace-unsent:{self.path}", f"tracklet: {left} bytes of calls did not reach the server; they stay in {self.path}",
                )
