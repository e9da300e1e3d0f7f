"""``tracklet sync PATH...``: ingest offline (or not yet ingested) runs into a store, idempotently."""

from __future__ import annotations

import argparse
import os
import shutil
from typing import Any

from .._errors import UsageError

__all__ = ["add_parser", "find_wals"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("sync", help="ingest offline runs (run folders or store folders) into a store")
    p.add_argument("paths", nargs="+", metavar="PATH", help="a run folder (holding run.tlog) or a folder of runs")
    p.add_argument("--dir", help="the store to sync into (default: the store the runs sit in, else TRACKLET_DIR or ./tracklet-runs)")
    p.set_defaults(func=cmd_sync)


def find_wals(path: str) -> list[str]:
    """The run logs under ``path``: a run folder, a ``runs/`` folder, or a store folder."""
    path = os.path.abspath(path)
    if os.path.isfile(path) and path.endswith(".tlog"):
        return [path]
    if os.path.isfile(os.path.join(path, "run.tlog")):
        return [os.path.join(path, "run.tlog")]
    base = os.path.join(path, "runs") if os.path.isdir(os.path.join(path, "runs")) else path
    if not os.path.isdir(base):
        raise UsageError(f"{path} is not a run folder or a folder of runs")
    return sorted(
        os.path.join(base, d, "run.tlog") for d in os.listdir(base) if os.path.isfile(os.path.join(base, d, "run.tlog"))
    )


def _store_of(wal: str) -> str | None:
    """The store folder a WAL sits in (``STORE/runs/ID/run.tlog``), if it sits in one."""
    runs = os.path.dirname(os.path.dirname(wal))
    return os.path.dirname(runs) if os.path.basename(runs) == "runs" else None


def cmd_sync(args: argparse.Namespace) -> int:
    from .._settings import resolve_settings
    from .._store import ingest_run, mark_crashed, open_local
    from ._progress import Progress

    wals = [w for p in args.paths for w in find_wals(p)]
    if not wals:
        print("nothing to sync: no run logs found")
        return 0
    target_given = resolve_settings({"dir": args.dir}).dir if args.dir else None
    plan = []
    for wal in wals:
        root = target_given or _store_of(wal) or resolve_settings({}).dir
        run_id = os.path.basename(os.path.dirname(wal))
        home = os.path.join(root, "runs", run_id, "run.tlog")
        plan.append((wal, root, run_id, home))
    total = sum(os.path.getsize(w) for w, *_ in plan)
    bar = Progress(total, "syncing")
    done = records = 0
    roots = set()
    for wal, root, run_id, home in plan:
        if os.path.abspath(wal) != os.path.abspath(home):
            # keep each run's log beside its store, so later catch-ups and resumes find it
            if os.path.exists(home) and os.path.getsize(home) > os.path.getsize(wal):
                raise UsageError(f"{home} already holds a longer log for run {run_id}; not overwriting it with {wal}")
            os.makedirs(os.path.dirname(home), exist_ok=True)
            shutil.copy2(wal, home)
        engine = open_local(root)
        roots.add(root)
        base = done
        records += ingest_run(engine, home, run_id, progress=lambda pos, size, base=base: bar.update(base + pos))
        done = base + os.path.getsize(wal)
        bar.update(done)
    bar.close()
    from .._store import checkpoint

    for root in roots:
        mark_crashed(open_local(root), root)
        checkpoint(open_local(root))
    print(f"synced {len(plan)} run(s), {records} new record(s) into {', '.join(sorted(roots))}")
    return 0
