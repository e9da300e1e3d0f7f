"""Checkpoints as model artifacts, for every integration.

Each checkpoint becomes a version of the run's ``model-<run id>`` artifact with aliases ``latest``
and ``step-N`` (``best`` when its metric is the best so far; aliases move to the newest version that
claims them), the metric values in its metadata, and lineage through the run (which links it to
every artifact the run used).

Training waits only for a snapshot: the checkpoint's files are hard-linked into a staging folder
beside them (no bytes copied), and tracklet's upload thread hashes and stores them from there. So
a checkpoint that the framework deletes right after (``save_total_limit``, ``save_top_k``) is still
stored whole. Where hard links are impossible the files are read from where they are.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Any

import tracklet

from ._common import jsonable, warn_once

if TYPE_CHECKING:
    from tracklet import Run

__all__ = ["CheckpointLog", "artifact_name"]


def artifact_name(run: "Run") -> str:
    return f"model-{run.id}"


class CheckpointLog:
    """The checkpoints one integration object has logged, and the staging folders still in use."""

    def __init__(self) -> None:
        self._pending: list[tuple[Any, str | None]] = []  # (artifact, staging folder)
        self.logged: dict[str, float] = {}  # source path -> its mtime when logged
        self._cleanup_at_exit = False

    def __getstate__(self) -> dict[str, Any]:
        """Only what was logged: pending uploads and staging folders belong to this process."""
        return {"logged": dict(self.logged)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()
        self.logged.update(state["logged"])

    def log(
        self,
        run: "Run",
        path: str,
        step: int | None,
        metadata: dict[str, Any],
        best: bool = False,
        extra_aliases: tuple[str, ...] = (),
        file_name: str | None = None,
    ) -> Any:
        """Log the checkpoint file or folder ``path`` as a new version; returns the Artifact (or None)."""
        Artifact = getattr(tracklet, "Artifact", None)
        if Artifact is None or not hasattr(run, "log_artifact"):
            warn_once(
                "no-artifacts",
                "tracklet: this tracklet has no artifacts (tracklet.Artifact), so checkpoints are not recorded; "
                "training goes on.",
            )
            return None
        if not os.path.exists(path):
            warn_once(
                f"checkpoint-missing:{path}",
                f"tracklet: checkpoint {path} is gone before it could be recorded (deleted by checkpoint rotation?); "
                "it is not in the run's artifacts.",
            )
            return None
        self.settle()
        staged, staging = _snapshot(path)
        if staging is not None and not self._cleanup_at_exit:
            atexit.register(self.settle, wait=True)  # runs before tracklet finishes the run at exit
            self._cleanup_at_exit = True
        artifact = Artifact(artifact_name(run), type="model", metadata=jsonable(metadata))
        if os.path.isdir(staged):
            artifact.add_dir(staged)
        else:
            artifact.add_file(staged, name=file_name or os.path.basename(path))
        aliases = ["latest"]
        if step is not None:
            aliases.append(f"step-{step}")
        if best:
            aliases.append("best")
        aliases.extend(extra_aliases)
        run.log_artifact(artifact, aliases=aliases)
        self._pending.append((artifact, staging))
        try:
            self.logged[path] = os.path.getmtime(path)
        except OSError:
            pass
        return artifact

    def settle(self, wait: bool = False) -> None:
        """Remove the staging folders of versions already stored; with ``wait``, wait for all first."""
        still: list[tuple[Any, str | None]] = []
        for artifact, staging in self._pending:
            if wait and artifact.state == "logging":
                try:
                    artifact.wait()
                except Exception as e:  # noqa: BLE001 - the store reported it as a warning already
                    warn_once(f"checkpoint-wait:{artifact.name}", f"tracklet: checkpoint {artifact.name} was not stored: {e}")
            if artifact.state == "logging":
                still.append((artifact, staging))
            elif staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
        self._pending = still


def _snapshot(path: str) -> tuple[str, str | None]:
    """Hard-link ``path`` (a file or folder) into a new staging folder beside it: (staged path, staging folder)."""
    parent = os.path.dirname(os.path.abspath(path))
    try:
        staging = tempfile.mkdtemp(prefix=".tracklet-staging-", dir=parent)
    except OSError:
        return path, None
    target = os.path.join(staging, os.path.basename(path))
    try:
        if os.path.isdir(path):
            shutil.copytree(path, target, copy_function=os.link)
        else:
            os.link(path, target)
    except OSError:  # another filesystem, or no hard links here: read the files where they are
        shutil.rmtree(staging, ignore_errors=True)
        return path, None
    return target, staging
