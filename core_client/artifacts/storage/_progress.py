"""Byte progress for uploads and downloads: a bar on a terminal once the work takes more than a moment."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

__all__ = ["ProgressFn", "TransferProgress"]

ProgressFn = Callable[[int], None]
"""Called with the number of bytes moved since the last call, from any thread."""

_DELAY_S = 0.5  # nothing is drawn for work that finishes sooner


class TransferProgress:
    """A thread-safe byte counter that drives ``tracklet.cli._progress.Progress``.

    Use it as the ``progress`` callback of :meth:`BlobStore.put_many` or :meth:`Manifest.download`:

    >>> with TransferProgress(total_bytes, "Uploading") as progress:
    ...     store.put_many(files, progress=progress)

    It draws only on a terminal (or with ``force=True``), only after half a second, and
    chains to ``callback`` (for example a user's own) if one is given.
    """

    def __init__(
        self,
        total: int,
        label: str,
        stream: TextIO | None = None,
        force: bool = False,
        callback: ProgressFn | None = None,
    ) -> None:
        self.total = total
        self.label = label
        self.stream = stream or sys.stderr
        self.force = force
        self.callback = callback
        self.done = 0
        self._start = time.monotonic()
        self._bar: Any = None
        self._lock = threading.Lock()
        self.enabled = force or (hasattr(self.stream, "isatty") and self.stream.isatty())

    def __call__(self, n: int) -> None:
        with self._lock:
            self.done += n
            if self.enabled:
                if self._bar is None and time.monotonic() - self._start >= _DELAY_S:
                    from ...cli._progress import Progress

                    self._bar = Progress(self.total, self.label, stream=self.stream, force=True)
                    self._bar.start = self._start
                if self._bar is not None:
                    self._bar.update(self.done)
        if self.callback is not None:
            self.callback(n)

    def close(self) -> None:
        """End the bar's line, if one was drawn."""
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None
            self.enabled = False

    def __enter__(self) -> TransferProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
