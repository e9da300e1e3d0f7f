"""``tracklet doctor``: where data goes, what is installed, and whether the store is healthy."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

__all__ = ["add_parser"]

OPTIONAL = ("sqlalchemy", "psutil", "pandas", "pyarrow", "nvidia-ml-py", "torch", "transformers",
            "lightning", "pytorch-lightning", "accelerate", "peft", "numpy")


def add_parser(sub: Any) -> None:
    p = sub.add_parser("doctor", help="say where data goes, what is installed, and check the store")
    p.add_argument("--dir", help="the store folder to check (default: TRACKLET_DIR or ./tracklet)")
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
    from .._local import worker_running
    from .._settings import resolve_settings, settings_file

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
        runs_dir = os.path.join(s.dir, "runs")
        n_logs = len(os.listdir(runs_dir)) if os.path.isdir(runs_dir) else 0
        print(f"  folder           {s.dir} ({_dir_size(s.dir) / 2**20:.1f} MB, {n_logs} run logs)")
        try:
            from .. import Api

            api = Api(dir=s.dir)
            projects = api.projects()
            print(f"  database         ok: {len(projects)} project(s), {sum(p.run_count for p in projects)} run(s)")
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
        from .._system import _nvml_devices

        devices = _nvml_devices()
        gpu = ", ".join(d["name"] for d in devices) if devices else "NVML present, no GPU found"
    print(f"\nGPU: {gpu}")
    return 0 if ok else 1
