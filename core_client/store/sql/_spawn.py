"""The folder's ingest worker: starting, waking and finding it, and the active marker a local run leaves for it.

One worker process per store folder (``python -m tracklet.store.sql._worker DIR``) tails the WALs of
active runs into the SQLite store. It holds ``DIR/.worker.lock``; when nothing is active for
a while it exits. Starting it costs a ``posix_spawn`` (about 0.3 ms); the store's import
and the ingest run in that process, never in the training loop.

A run starts it when it first has records worth storing soon (its first metric key, an
artifact version) or one second in, whichever comes first, and at ``finish()`` at the
latest: a script that only logs an artifact and ends does not share its CPU with the
worker's start-up (~0.3 s of imports). Until then every reader stores what it reads first.
"""

from __future__ import annotations

import os
import sys

__all__ = [
    "ACTIVE",
    "INGEST_ERROR",
    "LOCK",
    "STALE_AFTER",
    "wake_path",
    "ensure_worker",
    "make_store_dir",
    "ingest_problem",
    "reap_workers",
    "register_active_run",
    "wake_worker",
]

from .._layout import ACTIVE, INGEST_ERROR, LOCK
from .._liveness import STALE_AFTER
_spawned: dict[int, str] = {}  # workers this process started (pid -> store folder) and has not reaped


def make_store_dir(root: str, private: bool | None = None) -> None:
    """Create the store folder if it is missing: private to the user (0700) unless ``private`` is false
    (``TRACKLET_PRIVATE=false``: the umask decides, for a folder a group shares). What is inside a
    private folder is out of others' reach whatever its own mode; an existing folder is left as it is.
    """
    if os.path.isdir(root):
        return
    if private is None:
        from ..._settings import resolve_settings

        private = resolve_settings({"dir": root}).private
    parent = os.path.dirname(os.path.abspath(root))
    os.makedirs(parent, exist_ok=True)
    try:
        os.mkdir(root, 0o700 if private else 0o777)
    except FileExistsError:
        pass


def register_active_run(root: str, run_id: str) -> None:
    """Leave a marker for the worker; the run starts one (:func:`ensure_worker`) when it first has work for it.

    The marker comes first, so a worker started at any later moment finds the run.
    """
    active = os.path.join(root, ACTIVE)
    os.makedirs(active, exist_ok=True)
    with open(os.path.join(active, run_id), "w"):
        pass


def worker_running(root: str) -> bool | None:
    """True if a worker holds the store's lock, or one this process started for it is still starting.

    None where locks are unavailable.
    """
    try:
        import fcntl
    except ImportError:
        return None
    fd = os.open(os.path.join(root, LOCK), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases a lock we took
    reap_workers()
    root = os.path.abspath(root)
    return any(r == root for r in _spawned.values())  # spawned, not exited, not yet holding the lock


def wake_path(root: str, create: bool = False) -> str | None:
    """The named pipe that wakes the worker of ``root``: in this user's runtime folder, not in the store.

    Kept out of the store so that copying or archiving a store folder never meets a pipe (a zip
    of it would wait forever reading one). None where no private runtime folder can be had.
    """
    from ..._ids import path_key

    try:
        runtime = os.environ.get("XDG_RUNTIME_DIR")
        tmp = os.environ.get("TMPDIR") or "/tmp"
        folder = os.path.join(runtime, "tracklet") if runtime else os.path.join(tmp, f"tracklet-{os.getuid()}")
        if create:
            os.makedirs(folder, mode=0o700, exist_ok=True)
        st = os.stat(folder)
    except (OSError, AttributeError):  # AttributeError: no os.getuid (Windows)
        return None
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None  # someone else's, or open to others: not a place to take signals from
    # two stores sharing a key only lose the wake-up
    return os.path.join(folder, f"{path_key(os.path.realpath(root))}.wake")


def wake_worker(root: str) -> None:
    """Ask the store's worker to look at the runs' logs now rather than at its next poll.

    A byte into the worker's named pipe (about 20 us; see :func:`wake_path`). Without a worker, or where named pipes do
    not exist, it does nothing: the worker's polling, or the reader's own catch-up, stores the records.
    """
    path = wake_path(root)
    if path is None:
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except (OSError, AttributeError):  # ENXIO: nobody is reading; ENOENT: no worker yet; no O_NONBLOCK
        return
    try:
        os.write(fd, b"!")
    except OSError:  # EAGAIN: the pipe is full, so the worker is already due to wake
        pass
    finally:
        os.close(fd)


# Niced first thing, before the imports, and without garbage collection while importing: the
# worker's start-up should cost the training process that spawned it as little as it can.
# Not SCHED_IDLE, although nice 10 protects little on 2 cores (a 200 MiB upload beside a starting
# worker: 218 ms at nice 10, 161 ms at SCHED_IDLE, 139 ms alone): an idle-priority worker gets
# nothing while training keeps every core busy, and the run's metrics would wait in its log for
# the run's whole length. The start-up is kept out of the way by starting late instead (module doc).
_BOOTSTRAP = (
    "import gc, os, sys\n"
    "gc.disable()\n"  # while importing (SQLAlchemy: ~0.2 s of CPU, a fifth of it collections); on again in serve()
    "try:\n    os.nice(10)\nexcept OSError:\n    pass\n"
    "del sys.path[0]\n"
    "from tracklet.store.sql._worker import main\n"
    "sys.exit(main())"
)


def ensure_worker(root: str) -> int | None:
    """Spawn a worker for ``root`` unless one runs; returns its pid (None if none was started)."""
    if os.environ.get("TRACKLET_WORKER") == "off" or worker_running(root) is not False:
        return None
    devnull = os.devnull
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, devnull, os.O_WRONLY, 0),
    ]
    try:
        pid = os.posix_spawn(
            sys.executable,
            # not "-m": that puts the working folder first on sys.path, where a store folder
            # named "tracklet" would shadow the package
            [sys.executable, "-c", _BOOTSTRAP, root],
            dict(os.environ),
            file_actions=actions,
            # its own process group: a Ctrl-C (or a kill of the job's group) does not reach it;
            # the same session, so that its priority counts against the training process's
            # (Linux's autogroup scheduler weighs sessions against each other, not processes)
            setpgroup=0,
        )
    except (OSError, AttributeError):
        return None  # readers catch up on the WAL; nothing is lost
    _spawned[pid] = os.path.abspath(root)
    return pid


def reap_workers() -> None:
    """Collect workers that have exited, so they do not linger as zombies while training goes on."""
    for pid in list(_spawned):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            _spawned.pop(pid, None)  # another thread may have reaped it too


def ingest_problem(run_dir: str) -> str | None:
    """Why the worker could not store this run's records, if it could not (one stat otherwise)."""
    try:
        with open(os.path.join(run_dir, INGEST_ERROR), encoding="utf-8") as f:
            return f.read().strip() or "unknown error"
    except OSError:
        return None
