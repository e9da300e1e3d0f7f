"""``tracklet sync PATH...``: ingest offline (or not yet ingested) runs into a store, idempotently."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from typing import Any

from .._errors import UsageError
from ..store._layout import TRACE_LOG_SUFFIX, TRACES, log_path, runs_dir, store_of_log, traces_dir

__all__ = ["add_parser", "find_wals", "log_bytes"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("sync", help="ingest offline runs (run folders or store folders) into a store, or send them to a server")
    p.add_argument("paths", nargs="+", metavar="PATH", help="a run folder (holding run.tlog) or a folder of runs")
    p.add_argument("--dir", help="the store to sync into (default: the store the runs sit in, else TRACKLET_DIR or ./tracklet-runs)")
    p.add_argument("--to", metavar="URL",
                   help="send the runs to this tracklet server (default in remote mode: the configured server)")
    p.add_argument("--new-id", action="store_true",
                   help="store a run whose id the store already gives to another run under a new id (ID-xxxxxx) instead of refusing it")
    p.set_defaults(func=cmd_sync)


def find_wals(path: str) -> list[str]:
    """The run logs under ``path``: a run folder, a ``runs/`` folder, or a store folder."""
    from ..wal._logfile import COMPRESSED, log_exists

    path = os.path.abspath(path)
    if path.endswith(".tlog" + COMPRESSED):
        path = path[: -len(COMPRESSED)]
    if path.endswith(".tlog") and log_exists(path):
        return [] if is_trace_log(path) else [path]
    if os.path.basename(path) == TRACES:
        return []
    if log_exists(os.path.join(path, "run.tlog")):
        return [os.path.join(path, "run.tlog")]
    base = runs_dir(path) if os.path.isdir(runs_dir(path)) else path
    if not os.path.isdir(base):
        raise UsageError(f"{path} is not a run folder or a folder of runs")
    return sorted(os.path.join(base, d, "run.tlog") for d in os.listdir(base) if log_exists(os.path.join(base, d, "run.tlog")))


def is_trace_log(path: str) -> bool:
    """Whether ``path`` is a tracing process's log (``STORE/traces/<log_id>.tlog``), not a run's."""
    return os.path.basename(os.path.dirname(path)) == TRACES and path.endswith(TRACE_LOG_SUFFIX)


def find_trace_logs(path: str) -> list[str]:
    """The trace logs under ``path``: a store folder, its ``traces/`` folder, or one trace log."""
    path = os.path.abspath(path)
    if is_trace_log(path):
        return [path] if os.path.exists(path) else []
    folder = path if os.path.basename(path) == TRACES else traces_dir(path)
    if not os.path.isdir(folder):
        return []
    return sorted(os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(TRACE_LOG_SUFFIX))


def cmd_sync(args: argparse.Namespace) -> int:
    from .._errors import SyncError
    from .._settings import resolve_settings
    from ..store.sql import checkpoint, ingest_run, mark_crashed, open_local
    from ._progress import Progress

    wals = [w for p in args.paths for w in find_wals(p)]
    url = args.to
    if url is None and args.dir is None:
        configured = resolve_settings({})
        url = configured.base_url if configured.mode == "remote" else None
    if url is not None:
        from ..remote._credentials import normalize_url
        from ._sync_to import key_for_url, sync_to

        url = normalize_url(url)
        traces = [t for p in args.paths for t in find_trace_logs(p)]  # a server takes traced calls too
        if not wals and not traces:
            print("nothing to sync: no run or trace logs found")
            return 0
        return sync_to(wals + traces, url, key_for_url(url), new_id=args.new_id)
    if not wals:
        print("nothing to sync: no run logs found")
        return 0
    target_given = resolve_settings({"dir": args.dir}).dir if args.dir else None
    total = sum(log_bytes(w) for w in wals)
    bar = Progress(total, "syncing")
    done = records = 0
    roots: set[str] = set()
    synced: list[str] = []
    renamed: list[tuple[str, str]] = []
    refused: list[tuple[str, str]] = []
    for wal in wals:
        root = target_given or store_of_log(wal) or resolve_settings({}).dir
        run_id = os.path.basename(os.path.dirname(wal))
        base = done
        done += log_bytes(wal)
        try:
            home = _place(wal, root, run_id, args.new_id)
        except SyncError as e:
            refused.append((wal, str(e)))
            bar.update(done)
            continue
        if os.path.basename(os.path.dirname(home)) != run_id:
            renamed.append((run_id, os.path.basename(os.path.dirname(home))))
            run_id = os.path.basename(os.path.dirname(home))
        engine = open_local(root)
        roots.add(root)
        try:
            records += ingest_run(engine, home, run_id, progress=lambda pos, size, base=base: bar.update(base + pos))
        except SyncError as e:
            refused.append((wal, str(e)))
        else:
            synced.append(run_id)
        bar.update(done)
    bar.close()
    for root in roots:
        mark_crashed(open_local(root), root)
        checkpoint(open_local(root))
    print(f"synced {len(synced)} run(s), {records} new record(s) into {', '.join(sorted(roots)) or 'no store'}")
    for old, new in renamed:
        print(f"  run {old} is stored as {new}: its id was taken by another run in the store")
    for wal, why in refused:
        print(f"  NOT SYNCED {wal}: {why}", file=sys.stderr)
    return 1 if refused else 0


def _place(wal: str, root: str, run_id: str, new_id: bool) -> str:
    """Put the log at ``ROOT/runs/ID/run.tlog`` (where catch-ups and resumes look) and return that path.

    A log already there that is another run's (another log identity, or a log that went another
    way from a common start) is never overwritten: ``new_id`` stores the incoming one under a new id,
    otherwise ``SyncError`` says what to do. The same log, shorter or as long, is left as it is.
    """
    from .._errors import SyncError

    from ..wal._logfile import log_exists
    from ..wal._wal import identity_of_log

    home = log_path(root, run_id)
    if os.path.abspath(wal) == os.path.abspath(home):
        return home
    if log_exists(home):
        same = identity_of_log(home) == identity_of_log(wal)
        if same and _is_prefix(home, wal):
            if _length(wal) > _length(home):
                _copy(wal, home)
            return home
        if same and _is_prefix(wal, home):
            return home  # the store holds this log and more of it
        if not new_id:
            what = "another run that took the same id" if not same else "the same run, continued differently elsewhere"
            raise SyncError(
                f"the store {root} already holds a different log for run {run_id!r} ({what}); nothing of it was changed. "
                "To keep both, sync this one under a new id: tracklet sync ... --new-id"
            )
        from .._ids import new_run_id

        while os.path.exists(home):
            home = os.path.join(root, "runs", f"{run_id[:55]}-{new_run_id()[:6]}", "run.tlog")
    _copy(wal, home)
    return home


def log_bytes(wal: str) -> int:
    """The log's size on disk (compressed or not), for the progress bar."""
    from ..wal._logfile import COMPRESSED

    try:
        return os.path.getsize(wal)
    except FileNotFoundError:
        return os.path.getsize(wal + COMPRESSED)


def _length(wal: str) -> int:
    """The log's length in bytes of plain log, compressed or not."""
    from ..wal._logfile import log_size, open_log

    size = log_size(wal)
    if size is not None:
        return size
    with open_log(wal) as f:  # gzip cannot seek from the end: count what it gives
        return sum(len(chunk) for chunk in iter(lambda: f.read(1 << 20), b""))


def _is_prefix(short: str, long: str) -> bool:
    """Whether the log ``short`` is the first bytes of the log ``long`` (either may be compressed)."""
    from ..wal._logfile import open_log

    with open_log(short) as a, open_log(long) as b:
        while True:
            chunk = a.read(1 << 20)
            if not chunk:
                return True
            if b.read(len(chunk)) != chunk:
                return False


def _copy(src: str, dst: str) -> None:
    """Copy a log beside its store in full or not at all (a temporary file, then a rename); a compressed log stays so."""
    from ..wal._logfile import COMPRESSED

    os.makedirs(os.path.dirname(dst), mode=0o700, exist_ok=True)
    if not os.path.exists(src):
        src, dst = src + COMPRESSED, dst + COMPRESSED
    tmp = f"{dst}.sync-{os.getpid()}"
    shutil.copy2(src, tmp)
    os.replace(tmp, dst)
    if dst.endswith(COMPRESSED) and os.path.exists(dst[: -len(COMPRESSED)]):
        os.remove(dst[: -len(COMPRESSED)])  # a shorter plain copy of the same log: the compressed one is whole
    elif os.path.exists(dst + COMPRESSED):
        os.remove(dst + COMPRESSED)  # a shorter compressed copy: the plain one is whole
