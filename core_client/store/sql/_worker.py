"""The ingest worker: ``python -m tracklet.store.sql._worker DIR`` tails active runs' WALs into DIR's store
(and, while a run is active, the trace logs of ops in DIR/traces, once a second).

Started by ``init`` (see ``_spawn``); one per store folder, guarded by ``DIR/.worker.lock``.
It exits after ``IDLE_EXIT`` seconds with no active run. Problems go to ``DIR/worker.log``.
"""

from __future__ import annotations

import gc
import os
import sys
import time
import traceback

from ..._errors import StoreDamagedError
from .._layout import ACTIVE, INGEST_ERROR, LOCK, log_path, run_dir
from ._spawn import wake_path
from ...wal._logfile import remove_if_present

__all__ = ["main", "serve"]

IDLE_EXIT = 30.0
# A run's log is compressed once the run has ended this long ago and no run is active (a quick
# resume, such as Lightning's test() after fit(), finds it plain); TRACKLET_COMPRESS_AFTER, < 0: never.
COMPRESS_AFTER = 10.0
POLL = 0.05  # between looks at the active runs' log sizes: a stat each, so new records show up fast
IDLE_SLEEP = 0.5  # when no run is active
STATE_CHECK = 1.0  # how often a quiet run is asked whether it ended (its process may have died)


def _log(root: str, message: str) -> None:
    try:
        with open(os.path.join(root, "worker.log"), "a", encoding="utf-8") as f:
            f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} pid {os.getpid()}: {message}\n")
    except OSError:
        pass


def _active(root: str) -> list[str]:
    try:
        return os.listdir(os.path.join(root, ACTIVE))
    except FileNotFoundError:
        return []


def _try_lock(fd: int) -> bool:
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _note_failure(root: str, run_id: str, error: str) -> None:
    """Leave the reason beside the run's log, where ``finish()`` looks before it says goodbye."""
    try:
        with open(os.path.join(run_dir(root, run_id), INGEST_ERROR), "w", encoding="utf-8") as f:
            f.write(error)
    except OSError:
        pass


def _give_up(root: str, run_ids: list[str], error: Exception) -> None:
    """The store's database is damaged: say so beside every active run (``finish()`` reads it) and stop.

    Serving on would only fail again at every poll; the runs' logs keep every record, and the
    rebuild that the message names stores them.
    """
    for run_id in run_ids:
        _note_failure(root, run_id, str(error))
    _log(root, f"stopped: {error}")


def _open_wake(root: str) -> int | None:
    """Our end of the wake-up pipe (``wake_worker`` writes to it); None where named pipes do not exist."""
    path = wake_path(root, create=True)
    if path is None:
        return None
    try:
        os.mkfifo(path, 0o600)
    except FileExistsError:
        pass
    except (OSError, AttributeError):
        return None
    try:
        # read-write, so the pipe always has a writer (us) and never reads as end-of-file
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    except OSError:
        return None
    import stat

    if not stat.S_ISFIFO(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return fd


def _close_wake(root: str, wake: int | None) -> None:
    """Remove our wake-up pipe (so that runtime folders do not fill with the pipes of old stores)."""
    if wake is None:
        return
    ours = os.fstat(wake).st_ino
    os.close(wake)
    path = wake_path(root)
    if path is not None:
        try:
            if os.stat(path).st_ino == ours:  # not the pipe of a newer worker of a store at the same path
                os.unlink(path)
        except OSError:
            pass


def _pause(wake: int | None, seconds: float) -> None:
    """Sleep up to ``seconds``, less if someone writes to the wake-up pipe."""
    if wake is None:
        time.sleep(seconds)
        return
    import select

    ready, _, _ = select.select([wake], [], [], seconds)
    if ready:
        try:
            os.read(wake, 4096)
        except BlockingIOError:
            pass


def _orphaned(root: str, fd: int) -> bool:
    """Whether our lock file was deleted or replaced (the store folder removed): no run can reach us."""
    try:
        return os.stat(os.path.join(root, LOCK)).st_ino != os.fstat(fd).st_ino
    except OSError:
        return True


def _ignore_terminal_signals() -> None:
    """The worker outlives the terminal and the Ctrl-C that stop a training script: it ends by itself when idle."""
    import signal

    for name in ("SIGINT", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)


def serve(root: str, idle_exit: float = IDLE_EXIT) -> None:
    """Ingest active runs until none has been active for ``idle_exit`` seconds."""
    import fcntl

    fd = os.open(os.path.join(root, LOCK), os.O_RDWR | os.O_CREAT, 0o644)
    if not _try_lock(fd):
        return  # another worker serves this store
    wake = _open_wake(root)
    from ._engine import open_local
    from ._ingest import ingest_run

    gc.freeze()  # what the imports made lives as long as the process: keep it out of every collection
    gc.enable()

    engine = None
    compress_after = float(os.environ.get("TRACKLET_COMPRESS_AFTER", COMPRESS_AFTER))
    ended_at: dict[str, float] = {}  # runs this worker saw end, to compress once idle
    idle_since = time.monotonic()
    failures: dict[str, int] = {}
    seen: dict[str, tuple[int, float]] = {}  # run id -> (log size ingested, when its state was checked)
    traces_checked = 0.0  # when the trace logs (the calls of ops, DIR/traces) were last stored
    while True:
        run_ids = _active(root)
        if _orphaned(root, fd):  # the store was deleted, or replaced by a new one at the same path
            _close_wake(root, wake)  # a new store's runs are not ours: its own worker stores them
            return
        if run_ids and engine is None:
            try:
                engine = open_local(root)
            except StoreDamagedError as e:
                _give_up(root, run_ids, e)
                _close_wake(root, wake)
                return
            except Exception as e:
                for run_id in run_ids:
                    _note_failure(root, run_id, f"cannot open the store {root}: {e}")
                time.sleep(IDLE_SLEEP)
                continue
        now = time.monotonic()
        busy = False  # something was ingested in this round
        for run_id in run_ids:
            wal = log_path(root, run_id)
            marker = os.path.join(root, ACTIVE, run_id)
            try:
                size = os.path.getsize(wal)
            except FileNotFoundError:
                size = -1
            done, checked = seen.get(run_id, (-2, 0.0))
            if size == done and now - checked < STATE_CHECK and run_id not in failures:
                continue  # nothing new, and its state was looked at a moment ago
            try:
                busy = ingest_run(engine, wal, run_id) > 0 or busy
                if failures.pop(run_id, None):
                    remove_if_present(os.path.join(run_dir(root, run_id), INGEST_ERROR))
                ended = _ended(engine, root, run_id, wal)
            except FileNotFoundError:
                remove_if_present(marker)
                continue
            except StoreDamagedError as e:
                _give_up(root, run_ids, e)
                _close_wake(root, wake)
                return
            except Exception as e:
                failures[run_id] = failures.get(run_id, 0) + 1
                _note_failure(root, run_id, f"{type(e).__name__}: {e}".splitlines()[0])
                if failures[run_id] in (1, 10, 100):
                    _log(root, f"ingest of {wal} failed ({failures[run_id]}x):\n{traceback.format_exc()}")
                continue
            seen[run_id] = (size, now)
            if ended:
                remove_if_present(marker)
                seen.pop(run_id, None)
                if compress_after >= 0:
                    ended_at[run_id] = time.monotonic()
                _checkpoint(engine, root)
        if engine is not None and run_ids and now - traces_checked >= STATE_CHECK:
            traces_checked = now
            busy = _ingest_traces(engine, root) or busy
        if engine is not None and not busy and _make_blocks(engine, root):
            continue  # between logs: make the chart blocks of what was ingested, a few curves at a time
        if run_ids:
            idle_since = time.monotonic()
        elif ended_at and _compress_one(root, ended_at, compress_after, run_ids):
            continue  # one log at a time, looking for new runs in between
        elif time.monotonic() - idle_since > idle_exit:
            _close_wake(root, wake)  # while we hold the lock: the next worker makes its own
            wake = None
            fcntl.flock(fd, fcntl.LOCK_UN)
            while ended_at and _compress_one(root, ended_at, 0.0, _active(root)):
                pass  # what is left, before this worker goes
            if not _active(root) or not _try_lock(fd):
                # a run registered after our last look either sees the lock free and
                # starts a worker, or is seen here; never neither
                if engine is not None:
                    from ._catchup import mark_crashed

                    mark_crashed(engine, root)
                return
            idle_since = time.monotonic()
            wake = _open_wake(root)  # a run came after all: we serve on
        _pause(wake, POLL if run_ids else IDLE_SLEEP)


def _ingest_traces(engine, root: str) -> bool:  # noqa: ANN001
    """Store what ops traced in this folder while a run is live (readers catch up the rest); True if any."""
    from ._calls import catch_up_traces

    try:
        return catch_up_traces(engine, root) > 0
    except Exception:
        _log(root, f"ingest of the trace logs failed:\n{traceback.format_exc()}")
        return False


def _make_blocks(engine, root: str) -> bool:  # noqa: ANN001
    """Make the chart blocks of up to 8 curves that ingest marked; True if there were any."""
    from ._blocks import refresh
    from ._engine import write_transaction

    try:
        with write_transaction(engine) as conn:
            return refresh(conn, limit=8) > 0
    except Exception as e:  # a reader makes them itself
        _log(root, f"chart blocks skipped: {e}")
        return False


def _compress_one(root: str, ended_at: dict[str, float], after: float, active: list[str]) -> bool:
    """Compress the log of the run that ended longest ago, if that was ``after`` seconds ago and no run is active."""
    if active:
        return False
    run_id = min(ended_at, key=ended_at.__getitem__)
    if time.monotonic() - ended_at[run_id] < after:
        return False
    del ended_at[run_id]
    from ...wal._logfile import compress_log
    from ._lite import stored_offset

    # not done (a writer has it, or the store lacks some of it): it stays plain
    compress_log(log_path(root, run_id), stored_offset(root, run_id))
    return True


def _ended(engine, root: str, run_id: str, wal: str) -> bool:  # noqa: ANN001
    """True once the run has a final state, or its process is gone (then it is marked crashed)."""
    from sqlalchemy import select

    from .._liveness import pid_alive
    from . import _schema as S
    from ._catchup import mark_crashed
    from ._ingest import ingest_run

    with engine.connect() as conn:
        row = conn.execute(select(S.runs.c.state, S.runs.c.pid, S.runs.c.host).where(S.runs.c.run_id == run_id)).first()
        conn.rollback()
    if row is None:
        return False
    if row.state in ("finished", "failed", "crashed"):
        return True
    if pid_alive(row.pid, row.host) is False:
        ingest_run(engine, wal, run_id)  # whatever it wrote just before it died
        mark_crashed(engine, root)
        return True
    return False


def _checkpoint(engine, root: str) -> None:  # noqa: ANN001
    from ._engine import checkpoint

    try:
        checkpoint(engine)
    except Exception as e:  # a busy reader only delays it to the next run's end
        _log(root, f"checkpoint skipped: {e}")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m tracklet.store.sql._worker DIR", file=sys.stderr)
        return 2
    root = os.path.abspath(args[0])
    _ignore_terminal_signals()
    try:
        serve(root, idle_exit=float(os.environ.get("TRACKLET_WORKER_IDLE", IDLE_EXIT)))
    except Exception:
        _log(root, f"worker stopped:\n{traceback.format_exc()}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
