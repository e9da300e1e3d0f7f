"""The run's background thread: environment at start, system metrics every interval, heartbeats."""

from __future__ import annotations

import threading
import time
TYPE_CHECKING = False  # typing is not imported at run time: it costs ~2 ms of the first init()

from .._errors import warn_once
from ..wal._wal import RecordType

if TYPE_CHECKING:
    from ._run import Run

__all__ = ["HEARTBEAT_EVERY", "SETTLE_AFTER", "Background"]

HEARTBEAT_EVERY = 30.0
SETTLE_AFTER = 1.0  # seconds into a run when the worker and system sampling start (sampling at half the interval, if sooner)


class Background:
    """Owns one daemon thread per run; ``stop()`` ends it within a second or two."""

    def __init__(self, run: "Run", interval: float) -> None:
        self._run = run
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name=f"tracklet-{run.id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the thread to end without waiting: a short run's environment is captured meanwhile."""
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=5)

    def _main(self) -> None:
        run = self._run
        started = time.monotonic()
        # Give the GIL back at once: init() is waiting for this thread to start, and the
        # training loop's first steps should not queue behind imports done here.
        self._stop.wait(0.05)
        try:
            from ._system import capture_environment

            # recorded even when finish() is already waiting: a short run keeps its environment too
            run._record_json(RecordType.ENVIRONMENT, capture_environment(run.dir))
        except Exception as e:
            warn_once("environment", f"tracklet: could not record the environment of run {run.id}: {e!r}")
        # The store's worker and the system sampler start a moment into the run, not at init():
        # a script that logs an artifact and ends at once never waits for the worker's start-up
        # (another process, ~0.3 s of CPU) nor for psutil's import (~15 ms holding the GIL).
        settle = min(SETTLE_AFTER, self._interval / 2) if self._interval > 0 else SETTLE_AFTER
        if self._stop.wait(max(0.0, settle - (time.monotonic() - started))):
            return  # finish() is waiting: it starts the worker itself
        run._start_worker()
        sampler = None
        if self._interval > 0:
            try:
                from ._system import SystemSampler

                sampler = SystemSampler(run.dir or ".")
            except Exception as e:
                warn_once("system-metrics", f"tracklet: system metrics are off for this process: {e!r}")
        if self._stop.is_set():
            return  # finish() is waiting: the environment is recorded, nothing else is needed
        last_sample = last_beat = started  # samples fall due every interval from the run's start
        while True:
            due = last_beat + HEARTBEAT_EVERY
            if sampler is not None:
                due = min(due, last_sample + self._interval)
            if self._stop.wait(max(0.0, due - time.monotonic())):
                return
            now = time.monotonic()
            try:
                if sampler is not None and now - last_sample >= self._interval - 0.05:
                    run._record_system(time.time(), sampler.sample())
                    last_sample = last_beat = now
                if now - last_beat >= HEARTBEAT_EVERY - 0.05:
                    run._record_json(RecordType.HEARTBEAT, {"t": time.time()})
                    last_beat = now
                from ..store.sql import reap_workers

                reap_workers()
            except Exception as e:
                warn_once(f"background:{type(e).__name__}", f"tracklet: background sampling failed: {e!r}")
