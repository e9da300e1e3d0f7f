"""Files kept with a run: ``run.save`` copies them into ``runs/<id>/files/``; ``run.log_code`` logs the source.

``Api().run(...).files()`` reads ``files/`` back as wandb's ``File`` objects.
"""

from __future__ import annotations

import os
import shutil
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

from .._errors import UsageError, warn_once
from ..wal._wal import RecordType

__all__ = ["FILES_DIR", "POLICIES", "File", "list_files", "log_code", "save_files"]

FILES_DIR = "files"  # inside the run's folder, as wandb's run.dir is its files folder
POLICIES = ("live", "now", "end")


def save_files(run: Any, glob_str: Any, base_path: Any, policy: str, use_glob: bool) -> list[str]:
    """Copy the files ``glob_str`` matches into the run's ``files/``, keeping their folders under ``base_path``.

    Returns the paths of the copies. ``live`` and ``end`` copy again when the run finishes (the
    last content is kept); ``now`` copies once.
    """
    if isinstance(glob_str, bytes):
        glob_str = glob_str.decode("utf-8")
    if not isinstance(glob_str, (str, os.PathLike)) or not os.fspath(glob_str):
        raise UsageError(f"save() takes a file path or glob pattern, e.g. save('checkpoints/*.pt'); got {glob_str!r}")
    glob_str = os.fspath(glob_str)
    if policy not in POLICIES:
        raise UsageError(f"save(policy={policy!r}) is not one of live (the default), now, end")
    if glob_str.startswith(("s3://", "gs://", "http://", "https://")):
        warn_once(
            f"save-url:{glob_str}",
            f"tracklet: save({glob_str!r}) names a URL, not a local file; nothing saved. "
            "Record it with an artifact: artifact.add_reference(url).",
        )
        return []
    pattern = os.path.abspath(glob_str)
    if base_path is not None:
        base = os.path.abspath(os.fspath(base_path))
    elif not os.path.isabs(glob_str):
        base = os.getcwd()
    else:
        base = os.path.dirname(os.path.dirname(pattern))  # as wandb: an absolute path keeps its last folder
    if os.path.relpath(pattern, base).split(os.sep)[0] == "..":
        raise UsageError(f"save(): base_path {os.fspath(base_path)!r} is not a folder above {glob_str!r}; pass one that is, or leave it out")
    if run.dir is None:
        return []  # a disabled run keeps nothing
    if run._closed is not None:
        warn_once(f"save-after-finish:{run.id}", f"tracklet: save() after run {run.id} finished is ignored.")
        return []
    if use_glob:
        import glob

        sources = sorted(glob.glob(pattern))
    else:
        sources = [pattern] if os.path.exists(pattern) else []
    sources = [s for s in sources if os.path.isfile(s)]
    if not sources:
        warn_once(f"save-nothing:{pattern}", f"tracklet: save({glob_str!r}) matched no file; nothing was saved.")
        return []
    files_root = os.path.join(run.dir, FILES_DIR)
    saved = []
    for src in sources:
        rel = _name_in_run(run.dir, files_root, src, base)
        dest = os.path.join(files_root, rel)
        try:
            _copy(src, dest)
            size = os.path.getsize(dest)
        except OSError as e:  # a tracking failure: the script goes on
            warn_once(f"save-copy:{src}", f"tracklet: could not copy {src} into {files_root} ({e}); it is not saved.")
            continue
        saved.append({"path": rel.replace(os.sep, "/"), "source": src, "size": size, "policy": policy})
        if policy != "now":
            run._files_at_end()[dest] = src
    if saved:
        run._record_json(RecordType.FILES, {"t": time.time(), "files": saved})
    return [os.path.join(files_root, *e["path"].split("/")) for e in saved]


def _name_in_run(run_dir: str, files_root: str, src: str, base: str) -> str:
    """Where ``src`` goes under ``files/``: its path below ``base``, or below the run's folder if it is in it."""
    for top in (files_root, run_dir):  # a file written into run.dir (a wandb habit) keeps its place there
        rel = os.path.relpath(src, top)
        if rel.split(os.sep)[0] != "..":
            return rel
    return os.path.relpath(src, base)


def _copy(src: str, dest: str) -> None:
    if os.path.abspath(src) == os.path.abspath(dest):
        return
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    if os.path.islink(dest):
        os.remove(dest)  # never write through a link into somewhere else
    shutil.copy2(src, dest)


def copy_at_end(pending: dict[str, str]) -> None:
    """The run's end: copy ``live``/``end`` files again, so their last content is what is kept."""
    for dest, src in pending.items():
        try:
            if os.path.isfile(src):
                _copy(src, dest)
        except OSError as e:
            warn_once(f"save-copy:{src}", f"tracklet: could not copy {src} at the run's end ({e}); {dest} holds an earlier copy.")


# -- run.log_code ------------------------------------------------------------------------------------
def _is_py(path: str, root: str) -> bool:
    return path.endswith(".py")


_SKIP_DIRS = frozenset(("__pycache__", "node_modules", "site-packages", "wandb", "tracklet-runs"))


def _excluded_by_default(path: str, root: str) -> bool:
    """wandb's default leaves out ``wandb/``; tracklet also leaves out hidden folders, virtualenvs and stores."""
    rel = os.path.relpath(path, root).split(os.sep)[:-1]
    return any(part.startswith(".") or part in _SKIP_DIRS for part in rel)


def _two_args(fn: Any, what: str) -> Callable[[str, str], bool]:
    """wandb's include/exclude functions take ``(path, root)`` or ``(path)``."""
    if not callable(fn):
        raise UsageError(f"log_code({what}=...) takes a function of (path, root) or (path); got {type(fn).__name__}")
    import inspect

    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return fn
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return fn
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) >= 2:
        return fn
    return lambda path, root: fn(path)


def _is_store_or_venv(folder: str, store: str) -> bool:
    return os.path.abspath(folder) == store or os.path.isfile(os.path.join(folder, "pyvenv.cfg"))


def log_code(run: Any, root: Any, name: str | None, include_fn: Any, exclude_fn: Any) -> Any:
    """Log the source files under ``root`` as a ``code`` artifact of the run; None when none match."""
    root = os.path.abspath(os.fspath(root if root is not None else "."))
    if not os.path.isdir(root):
        raise UsageError(f"log_code(root={root!r}): not a folder; pass the folder that holds your code")
    include = _two_args(include_fn if include_fn is not None else _is_py, "include_fn")
    exclude = _two_args(exclude_fn if exclude_fn is not None else _excluded_by_default, "exclude_fn")
    store = os.path.abspath(run._settings.dir)
    found = []
    for folder, subdirs, names in os.walk(root):
        subdirs[:] = sorted(
            d for d in subdirs
            if not _is_store_or_venv(os.path.join(folder, d), store)
            and not (exclude_fn is None and (d.startswith(".") or d in _SKIP_DIRS))  # the default: skip without walking
        )
        for n in sorted(names):
            path = os.path.join(folder, n)
            if include(path, root) and not exclude(path, root):
                found.append(path)
    if not found:
        warn_once(f"log-code-nothing:{root}", f"tracklet: log_code() found no source files under {root}; no code was logged.")
        return None
    from ..artifacts._artifact import Artifact

    art = Artifact(name or _code_name(run, root), "code")
    for path in found:
        art.add_file(path, name=os.path.relpath(path, root).replace(os.sep, "/"))
    return run.log_artifact(art)


def _code_name(run: Any, root: str) -> str:
    """``source-<project>-<script>`` as wandb names it (so each script's code is one artifact with versions)."""
    import sys

    script = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    entry = os.path.relpath(script, root) if script and os.path.isfile(script) else run.id
    if entry.startswith(".."):
        entry = os.path.basename(script)
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in f"source-{run.project}-{entry}")
    return safe[:128]


# -- reading back --------------------------------------------------------------------------------------
class File:
    """A file kept with a run (wandb's ``File``): ``name``, ``size``, ``updated_at``, ``download()``."""

    def __init__(self, path: str, name: str) -> None:
        self._path = path
        self.name = name

    @property
    def size(self) -> int:
        return os.path.getsize(self._path)

    @property
    def updated_at(self) -> str:
        from datetime import datetime, timezone

        return datetime.fromtimestamp(os.path.getmtime(self._path), tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def url(self) -> str:
        return "file://" + self._path

    direct_url = url
    path_uri = url

    def download(self, root: str = ".", replace: bool = False, exist_ok: bool = False, api: Any = None) -> Any:
        """Copy the file to ``root/<name>`` and return it opened for reading, as wandb does.

        Raises:
            UsageError: the file is there already (pass ``replace=True`` or ``exist_ok=True``).
        """
        dest = os.path.abspath(os.path.join(root, *self.name.split("/")))
        if os.path.exists(dest) and not replace:
            if exist_ok:
                return open(dest)  # noqa: SIM115 - wandb returns the open file
            raise UsageError(f"{dest} exists; pass replace=True to overwrite it or exist_ok=True to keep it")
        _copy(self._path, dest)
        return open(dest)  # noqa: SIM115

    def __repr__(self) -> str:
        return f"<File {self.name} ({self.size} bytes)>"


def list_files(run_dir: str) -> list[File]:
    """The files under a run's ``files/`` folder, by name."""
    files_root = os.path.join(run_dir, FILES_DIR)
    out = []
    for folder, _, names in os.walk(files_root):
        for n in names:
            path = os.path.join(folder, n)
            out.append(File(path, os.path.relpath(path, files_root).replace(os.sep, "/")))
    return sorted(out, key=lambda f: f.name)
