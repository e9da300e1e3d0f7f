"""``tracklet doctor``: where data goes, what is installed, and whether the store is healthy."""

from __future__ import annotations

import argparse
import os

from ..store._layout import runs_dir
import sys
from typing import Any

__all__ = ["add_parser"]

OPTIONAL = ("sqlalchemy", "psutil", "pandas", "pyarrow", "nvidia-ml-py", "torch", "transformers",
            "lightning", "pytorch-lightning", "accelerate", "peft", "numpy")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("doctor", help="say where data goes, what is installed, and check the store")
    p.add_argument("--dir", help="the store folder to check (default: TRACKLET_DIR or ./tracklet-runs)")
    p.add_argument("--rebuild", action="store_true",
                   help="move the store's database aside (kept, not deleted) and make it anew from the runs' logs")
    p.set_defaults(func=cmd_doctor)


def _version(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _dir_size(path: str) -> int:
    total = 0
    for base, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(base, f))
            except OSError:
                pass
    return total


class _Skip(Exception):
    """Nothing more to ask of a database that failed its check."""


def _rebuild(root: str) -> None:
    from ..store.sql import rebuild

    print(f"  rebuild          moving the database aside and reading every run log under {os.path.join(root, 'runs')} ...")
    done = rebuild(root)
    if done["moved_to"]:
        print(f"  rebuild          the old database is kept as {done['moved_to']}")
    print(f"  rebuild          {done['runs']} run(s), {done['records']} record(s) stored from their logs")
    for wal, why in done["refused"]:
        print(f"  rebuild          PROBLEM: {wal} could not be stored: {why}")
    print("  rebuild          not in any log, so not rebuilt: changes made with tracklet.Api outside a run "
          "(artifact aliases and deletions, registry links); the old database holds them")


def _describe(p: dict[str, Any]) -> str:
    if p["kind"] == "damaged":
        return f"run {p['run_id']}: {p['bytes']} bytes skipped at offset {p['offset']} of its log (damaged; the records after them are stored)"
    records = f"{p['records']} record(s), " if p["records"] is not None else ""
    return f"run {p['run_id']}: {records}{p['bytes']} bytes lost ({p['detail']})"


# read by the integrations, not by init(): TRACKLET_* first, then the wandb name
INTEGRATION_ENV = {"TRACKLET_LOG_MODEL": "WANDB_LOG_MODEL", "TRACKLET_WATCH": "WANDB_WATCH"}


def _environment_lines(s: Any) -> list[str]:
    """Which TRACKLET_* and WANDB_* variables are set, which of them won, and which are ignored."""
    from .._settings import ENV, WANDB_ENV

    env = os.environ
    used = set(s.sources.values())
    lines = []
    tracklet_vars = [v for v in (*ENV.values(), *INTEGRATION_ENV) if env.get(v)]
    if tracklet_vars:
        lines.append(f"environment      {', '.join(tracklet_vars)}")
    wandb_vars = sorted(v for v in env if v.startswith("WANDB_") and env[v])
    by_wandb = {w: ENV[n] for n, w in WANDB_ENV.items()}
    by_wandb.update({w: t for t, w in INTEGRATION_ENV.items()})
    for var in wandb_vars:
        shadow = by_wandb.get(var)
        if var in used:
            note = "used"
        elif shadow is None:
            note = "ignored (no meaning for a local store)"
        elif env.get(shadow):
            note = f"not used: {shadow} is set"
        elif shadow in INTEGRATION_ENV:
            note = "used by the integrations"
        else:
            note = "not used: an argument wins"
        secret = any(w in var for w in ("KEY", "TOKEN", "SECRET", "PASSWORD", "AUTH"))
        lines.append(f"{var:<16} {'(set, not shown)' if secret else env[var]!s:<40} {note}")
    return lines


def cmd_doctor(args: argparse.Namespace) -> int:
    from .. import __version__
    from ..store.sql import worker_running
    from .._settings import DEFAULT_DIR, LEGACY_DIR, resolve_settings, settings_file

    s = resolve_settings({"dir": args.dir})
    print(f"tracklet {__version__} on Python {sys.version.split()[0]} ({sys.executable})")
    print("\nsettings (value, and where it came from)")
    for name in ("project", "mode", "dir", "console", "system_interval"):
        print(f"  {name:<16} {getattr(s, name)!s:<40} {s.sources.get(name, '')}")
    for name in ("entity", "name", "id", "resume", "tags", "notes", "group", "job_type", "silent"):
        if s.sources.get(name, "default") != "default":  # the rest only when something set them
            print(f"  {name:<16} {getattr(s, name)!s:<40} {s.sources[name]}")
    print(f"  {'settings file':<16} {settings_file()} ({'present' if os.path.isfile(settings_file()) else 'absent'})")
    for line in _environment_lines(s):
        print(f"  {line}")
    print("\nstore")
    ok = True
    if not os.path.isdir(s.dir):
        print(f"  {s.dir} does not exist yet; the first run creates it")
    else:
        runs = runs_dir(s.dir)
        n_logs = len(os.listdir(runs)) if os.path.isdir(runs) else 0
        print(f"  folder           {s.dir} ({_dir_size(s.dir) / 2**20:.1f} MB, {n_logs} run logs)")
        mode = os.stat(s.dir).st_mode & 0o777
        if s.private and mode & 0o077:
            print(f"  note             the folder is open to other users (mode {mode:o}; stores made by this tracklet are "
                  f"private): chmod 700 {s.dir}   (or TRACKLET_PRIVATE=false to share it)")
        if s.sources.get("dir") == "default" and os.path.basename(s.dir) == LEGACY_DIR:
            print(
                f"  note             this store is at the old default ./{LEGACY_DIR}, where a folder can hide an editable "
                f"install of tracklet from `import tracklet`; move it with: mv {LEGACY_DIR} {DEFAULT_DIR}"
            )
        if args.rebuild:
            _rebuild(s.dir)
        from ..store.sql import check_database

        damage = check_database(s.dir)
        if damage is not None:
            ok = False
            print(f"  database         PROBLEM: damaged ({damage}). Nothing the runs recorded is lost: rebuild the "
                  f"store from their logs with: tracklet doctor --rebuild --dir {s.dir}")
        try:
            from .. import Api

            if damage is not None:
                raise _Skip()
            api = Api(dir=s.dir)
            projects = api.projects()
            print(f"  database         ok: {len(projects)} project(s), {sum(p.run_count for p in projects)} run(s)")
            problems = api._problems()
            if problems:
                ok = False
                print(f"  run logs         PROBLEM: {len(problems)} problem(s) in {len({p['run_id'] for p in problems})} run(s)")
                for p in problems:
                    print(f"    {_describe(p)}")
        except _Skip:
            pass
        except Exception as e:  # doctor reports, it does not stop at the first problem
            ok = False
            print(f"  database         PROBLEM: {e}")
        running = worker_running(s.dir)
        print(f"  ingest worker    {'running' if running else 'not running (it starts with the next run)'}")
    print("\npackages")
    for dist in OPTIONAL:
        v = _version(dist)
        print(f"  {dist:<18} {v or '-'}")
    gpu = "no NVML package (pip install nvidia-ml-py for GPU metrics)"
    if _version("nvidia-ml-py"):
        from ..tracking._system import _nvml_devices

        devices = _nvml_devices()
        gpu = ", ".join(d["name"] for d in devices) if devices else "NVML present, no GPU found"
    print(f"\nGPU: {gpu}")
    return 0 if ok else 1
