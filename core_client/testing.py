"""Helpers for testing code that logs with tracklet: record into a temporary store and read it back.

Example:
    >>> from tracklet.testing import capture
    >>> with capture() as cap:
    ...     run = tracklet.init(project="demo")
    ...     run.log({"loss": 0.5})
    ...     run.finish()
    >>> cap.run().summary["loss"]
    0.5
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from contextlib import contextmanager
from typing import Any, Iterator

from .api._api import Api
from .api._run import ApiRun
from ._errors import UsageError
from .store._layout import runs_dir

__all__ = ["Captured", "capture"]


class Captured:
    """What was recorded inside a ``capture()`` block, read through ``tracklet.Api``."""

    def __init__(self, root: str) -> None:
        self.dir = root
        self.api = Api(dir=root)

    def runs(self, project: str | None = None) -> list[ApiRun]:
        if not os.path.isdir(runs_dir(self.dir)):
            return []
        return self.api.runs(project, order="+created_at")

    def run(self, run_id: str | None = None) -> ApiRun:
        """The run with ``run_id``, or the only run recorded."""
        if run_id is not None:
            return self.api.run(run_id)
        found = self.runs()
        if len(found) != 1:
            raise UsageError(f"capture() recorded {len(found)} runs; pass run_id= to pick one")
        return found[0]

    def history(self, key: str, run_id: str | None = None) -> list[Any]:
        """Every logged value of ``key``, in step order."""
        return [row[key] for row in self.run(run_id).scan_history(keys=[key])]


@contextmanager
def capture(keep: bool = False, worker: bool = False, **settings: str) -> Iterator[Captured]:
    """Point tracklet at a temporary store for the duration of the block.

    The store stays readable through the ``Captured`` object after the block, and is
    deleted when that object is (unless ``keep=True``). Runs are quiet, sample no system metrics, and (unless ``worker=True``) start no ingest
    worker: reads catch up from the write-ahead log. Extra keyword arguments set
    ``TRACKLET_<NAME>`` variables, e.g. ``capture(project="x")``.
    """
    from .tracking import _init

    root = tempfile.mkdtemp(prefix="tracklet-test-")
    env = {"TRACKLET_DIR": root, "TRACKLET_SILENT": "true", "TRACKLET_SYSTEM_INTERVAL": "0", "TRACKLET_CONSOLE": "off"}
    if not worker:
        env["TRACKLET_WORKER"] = "off"
    env.update({f"TRACKLET_{k.upper()}": str(v) for k, v in settings.items()})
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    captured = Captured(root)
    if not keep:
        weakref.finalize(captured, shutil.rmtree, root, True)
    try:
        yield captured
    finally:
        if _init._current is not None and _init._current.dir and _init._current.dir.startswith(root):
            _init.finish()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
