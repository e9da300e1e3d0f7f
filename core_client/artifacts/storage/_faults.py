"""Fault injection for tests: ways to stop the storage engine at a known point. Never set in normal use."""

from __future__ import annotations

import os

__all__ = ["UploadGate", "upload_gate"]


def upload_gate() -> UploadGate | None:
    """The gate ``TRACKLET_TEST_UPLOAD_GATE`` asks for, or None (always, outside tests)."""
    return UploadGate.from_env()


class UploadGate:
    """A test's hold on uploads: ``TRACKLET_TEST_UPLOAD_GATE=N:FOLDER`` (never set in normal use).

    The N-th file a store puts (counting from 1, across its threads), and every later one, stops
    with its copy complete in a temporary file and not yet published: the first to stop writes
    ``FOLDER/paused`` (JSON: pid, temporary path); all wait until ``FOLDER/go`` exists. So a test
    can kill the process at a known point in the middle of an upload, and know it did.
    """

    def __init__(self, after: int, folder: str) -> None:
        import threading

        self.after, self.folder, self.count, self._lock = after, folder, 0, threading.Lock()

    @classmethod
    def from_env(cls) -> UploadGate | None:
        spec = os.environ.get("TRACKLET_TEST_UPLOAD_GATE")
        if not spec:
            return None
        after, _, folder = spec.partition(":")
        return cls(int(after), folder)

    def reached(self, tmp: str) -> None:
        import json
        import time

        with self._lock:
            self.count += 1
            n = self.count
        if n < self.after:
            return
        if n == self.after:
            note = os.path.join(self.folder, "paused")
            with open(note + ".part", "w") as f:
                json.dump({"pid": os.getpid(), "tmp": tmp}, f)
            os.replace(note + ".part", note)
        while not os.path.exists(os.path.join(self.folder, "go")):
            time.sleep(0.01)
