"""The rest of wandb's ``Run``: files and code kept with the run, alerts, preemption, and models.

A mixin of ``Run`` (kept here so ``_run.py`` stays the logging path). Nothing here is on the
training loop's hot path; heavy work is imported inside the method that needs it.
"""

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

from .._errors import UsageError, warn_once
from ..wal._wal import RecordType

__all__ = ["RunExtras"]

_LEVELS = ("INFO", "WARN", "ERROR")


class RunExtras:
    """``save``, ``log_code``, ``alert``, ``mark_preempting``, ``log_model``, ``use_model``, ``link_model``."""

    # -- files ---------------------------------------------------------------------------------------
    def save(self, glob_str: Any, base_path: Any = None, policy: str = "live", glob: bool = True) -> list[str]:
        """Keep files with the run: copies of what ``glob_str`` matches go to the run folder's ``files/``.

        Example:
            >>> run.save("checkpoints/*.pt")                      # files/checkpoints/epoch1.pt, ...
            >>> run.save("/data/out/*.json", base_path="/data")  # files/out/a.json, ...

        Args:
            glob_str: a path or glob pattern; relative paths are taken from the working folder.
            base_path: the folder whose layout is kept below ``files/`` (default: the working
                folder; for an absolute path, its last folder).
            policy: ``live`` (default) and ``end`` copy now and again when the run ends, so the
                last content is kept; ``now`` copies once.
            glob: False takes ``glob_str`` as a literal path.
        Returns:
            The paths of the copies.
        Raises:
            UsageError: a bad policy, or a base_path that is not above the files.
        """
        from ._run_files import save_files

        return save_files(self, glob_str, base_path, policy, glob)

    def _files_at_end(self) -> dict[str, str]:
        """Copies to refresh when the run ends (``live``/``end`` saves): destination -> source."""
        pending = self.__dict__.get("_saved_at_end")
        if pending is None:
            from ._run_files import copy_at_end

            pending = self.__dict__["_saved_at_end"] = {}
            self._on_finish.append(lambda run: copy_at_end(pending))
        return pending

    def log_code(
        self,
        root: str | None = ".",
        name: str | None = None,
        include_fn: Any = None,
        exclude_fn: Any = None,
    ) -> Any:
        """Keep the source code with the run: the ``.py`` files under ``root`` as a ``code`` artifact.

        ``include_fn`` / ``exclude_fn`` take ``(path, root)`` or ``(path)`` and return a bool, as in
        wandb. By default hidden folders, virtualenvs, ``__pycache__``, ``wandb/`` and the store are
        left out. Returns the artifact (None when no file matched); its name is
        ``source-<project>-<script>`` unless ``name`` is given, so each script's code has versions.

        Example:
            >>> run.log_code(".", include_fn=lambda path: path.endswith((".py", ".yaml")))
        """
        if self._closed is not None:
            raise UsageError(f"run {self._id} has finished; call log_code() before finish()")
        from ._run_files import log_code

        return log_code(self, root, name, include_fn, exclude_fn)

    # -- alerts and preemption -----------------------------------------------------------------------
    def alert(self, title: str, text: str, level: Any = None, wait_duration: Any = None) -> None:
        """Record an alert in the run and print it (tracklet sends no email or Slack message).

        Example:
            >>> run.alert(title="loss diverged", text=f"loss {loss:.3g} at step {step}", level="WARN")

        Args:
            level: ``"INFO"`` (default), ``"WARN"``, ``"ERROR"`` or a ``tracklet.AlertLevel``.
            wait_duration: seconds (or a ``timedelta``) before an alert with the same title is
                printed again (default 60); every alert is recorded.
        Raises:
            UsageError: an empty title, a level or wait_duration that is not one of the above.
        """
        if not isinstance(title, str) or not title.strip():
            raise UsageError(f"alert(title=...) takes a non-empty string; got {title!r}")
        if not isinstance(text, str):
            raise UsageError(f"alert(text=...) takes a string; got {type(text).__name__}")
        level_name = _level(level)
        wait = _seconds(wait_duration)
        now = time.time()
        shown = self.__dict__.setdefault("_alerts_shown", {})
        show = now - shown.get(title, float("-inf")) >= wait
        if show:
            shown[title] = now
            self._say_alert(f"tracklet: alert [{level_name}] {title}: {text}")
        if self._closed is not None:
            warn_once(f"alert-after-finish:{self._id}", f"tracklet: alert() after run {self._id} finished is printed, not recorded.")
            return
        if not self.disabled:
            self._record_json(
                RecordType.ALERT,
                {"t": now, "title": title, "text": text, "level": level_name, "wait_duration": wait, "shown": show},
            )

    def _say_alert(self, line: str) -> None:
        console = self._console  # the terminal itself: the alert is recorded once, as an alert
        stream = console.terminal("stderr") if console is not None else sys.stderr
        try:
            stream.write(line + "\n")
            stream.flush()
        except Exception:  # printing never stops training
            pass

    def mark_preempting(self) -> None:
        """Say the run expects to be stopped (a spot instance or a scheduler's notice) and resumed.

        Everything recorded so far is written through to disk now, and the mark is kept in the
        run's log (``tracklet show --logs``). Continue it later with ``init(id=run.id, resume="allow")``.
        """
        if self._closed is not None or self.disabled:
            return
        self._record_json(RecordType.PREEMPTING, {"t": time.time()})
        with self._lock:
            self._writer.flush()
            self._writer.sync()
        if self.mode == "local" and self._dir is not None:
            from ..store.sql import wake_worker

            self._start_worker()
            wake_worker(self._settings.dir)

    # -- models ----------------------------------------------------------------------------------------
    def log_model(self, path: Any, name: str | None = None, aliases: list[str] | None = None) -> Any:
        """Log the file or folder at ``path`` as a ``model`` artifact (wandb's ``log_model``).

        ``name`` defaults to ``run-<run id>-<file or folder name>``; ``aliases`` to ``["latest"]``.
        A ``s3://`` / ``gs://`` / ``https://`` path is recorded as a reference. Returns the artifact.

        Example:
            >>> run.log_model("out/adapter", name="llama3-lora", aliases=["best"])
        """
        return self.log_artifact(_model_artifact(self, path, name), aliases=aliases)

    def use_model(self, name: str) -> str:
        """Use a logged model artifact as this run's input and download it; returns the local path.

        When the model is one file, the path of that file; else the folder.

        Raises:
            UsageError: no such artifact, or one whose type does not contain "model".
        """
        art = self.use_artifact(name)
        if "model" not in str(art.type).lower():
            raise UsageError(f"use_model({name!r}): artifact {art.name} is of type {art.type!r}; use_model() takes model artifacts (use use_artifact())")
        path = art.download()
        entries = os.listdir(path)
        return os.path.join(path, entries[0]) if len(entries) == 1 and os.path.isfile(os.path.join(path, entries[0])) else path

    def link_model(
        self, path: Any, registered_model_name: str, name: str | None = None, aliases: list[str] | None = None
    ) -> Any:
        """Log ``path`` as a model artifact (as ``log_model``) and link it to ``registry/<registered_model_name>``.

        Unchanged content is not stored again: the version with the same files is linked.
        Returns the artifact.

        Example:
            >>> run.link_model("out/adapter", "llama3-chat", aliases=["staging"])
        """
        if not isinstance(registered_model_name, str) or "/" in registered_model_name or ":" in registered_model_name:
            raise UsageError(f"link_model(registered_model_name={registered_model_name!r}) takes a name, e.g. 'llama3-chat', not a path")
        art = _model_artifact(self, path, name)
        self.link_artifact(art, f"registry/{registered_model_name}", aliases=aliases)
        return art


def _level(level: Any) -> str:
    value = getattr(level, "value", level)
    text = "INFO" if value is None else str(value).upper()
    if text not in _LEVELS:
        raise UsageError(f"alert(level={level!r}) is not one of INFO, WARN, ERROR")
    return text


def _seconds(wait: Any) -> float:
    if wait is None:
        return 60.0
    total = getattr(wait, "total_seconds", None)
    seconds = total() if callable(total) else wait
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds >= 0:
        raise UsageError(f"alert(wait_duration={wait!r}) takes seconds (a number >= 0) or a timedelta")
    return float(seconds)


def _model_artifact(run: Any, path: Any, name: str | None) -> Any:
    from ..artifacts._artifact import Artifact, REFERENCE_SCHEMES

    if not isinstance(path, (str, os.PathLike)):
        raise UsageError(f"a model path is a file, a folder or a URL; got {type(path).__name__}")
    path = os.fspath(path)
    is_ref = path.split("://", 1)[0] in REFERENCE_SCHEMES and "://" in path
    if not is_ref and not os.path.exists(path):
        raise UsageError(f"model path {path!r} does not exist; pass the file or folder the model was saved to")
    if name is None:
        base = path.rstrip("/").rsplit("/", 1)[-1] if is_ref else os.path.basename(os.path.abspath(path))
        name = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in f"run-{run.id}-{base}")[:128]
    art = Artifact(name, "model")
    if is_ref:
        art.add_reference(path)
    elif os.path.isdir(path):
        art.add_dir(path)
    else:
        art.add_file(path)
    return art
