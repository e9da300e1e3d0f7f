"""``tracklet sweep CONFIG.yaml`` (prints the id), ``tracklet sweep pause|resume|stop|cancel ID``,
``tracklet sweep ls``, and ``tracklet agent SWEEP_ID --count N``."""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from .._errors import UsageError
from ._runs import format_table

__all__ = ["add_parsers"]

_DIR_HELP = "the store folder (default: TRACKLET_DIR or ./tracklet-runs; a server in remote mode)"


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "sweep", help="start a sweep from a YAML config (prints its id), or: sweep ls | pause|resume|stop|cancel ID",
        description="tracklet sweep sweep.yaml | tracklet sweep ls | tracklet sweep pause|resume|stop|cancel SWEEP_ID",
    )
    p.add_argument("config", metavar="CONFIG|ls|pause|resume|stop|cancel",
                   help="a sweep config (YAML or JSON file), or what to do")
    p.add_argument("sweep", nargs="?", metavar="SWEEP_ID", help="the sweep (ID, project/ID or entity/project/ID)")
    p.add_argument("--project", "-p", help="the sweep's project (default: the config's project, TRACKLET_PROJECT)")
    p.add_argument("--entity", "-e", help="the sweep's entity")
    p.add_argument("--name", help="a name for the sweep (default: the config's name)")
    p.add_argument("--dir", help=_DIR_HELP)
    p.set_defaults(func=cmd_sweep)

    a = sub.add_parser("agent", help="run trials of a sweep: the config's program with --key=value arguments")
    a.add_argument("sweep", metavar="SWEEP_ID", help="the sweep (ID, project/ID or entity/project/ID)")
    a.add_argument("--count", type=int, help="run at most this many trials (default: until the sweep has none left)")
    a.add_argument("--project", "-p", help="the sweep's project")
    a.add_argument("--entity", "-e", help="the sweep's entity")
    a.add_argument("--dir", help=_DIR_HELP)
    a.set_defaults(func=cmd_agent)


def cmd_sweep(args: argparse.Namespace) -> int:
    from ..sweeps._sweep import ACTIONS, change_state, find_sweep, open_store

    if args.config == "ls":
        return _list(args)
    if args.config in ACTIONS:
        if not args.sweep:
            raise UsageError(f"tracklet sweep {args.config} needs a sweep: tracklet sweep {args.config} SWEEP_ID")
        store = open_store(args.dir)
        before, after = change_state(store, args.sweep, args.config)
        doc = find_sweep(store, args.sweep)
        print(f"sweep {doc['id']}: {before} -> {after}")
        return 0
    if args.sweep:
        raise UsageError(f"tracklet sweep takes a config file, or an action ({', '.join(ACTIONS)}, ls) and an id; got {args.config!r} {args.sweep!r}")
    from ..sweeps._sweep import sweep

    config = read_config(args.config)
    if args.name:
        config["name"] = args.name
    sweep_id = sweep(config, entity=args.entity, project=args.project, dir=args.dir)
    print(sweep_id)
    return 0


def read_config(path: str) -> dict[str, Any]:
    """A sweep config file: YAML (``.yaml``/``.yml``, PyYAML comes with ``tracklet[sweeps]``) or JSON."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise UsageError(f"cannot read the sweep config {path}: {e.strerror}") from None
    if path.endswith((".yaml", ".yml")):
        try:
            import yaml
        except ImportError:
            raise UsageError("reading a YAML sweep config needs PyYAML: pip install 'tracklet[sweeps]'") from None
        try:
            config = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise UsageError(f"{path} is not valid YAML: {e}") from None
    else:
        try:
            config = json.loads(text)
        except ValueError as e:
            raise UsageError(f"{path} is not JSON ({e}); name a YAML config *.yaml") from None
    if not isinstance(config, dict):
        raise UsageError(f"{path} must hold a mapping (method:, metric:, parameters:, ...); got {type(config).__name__}")
    return config


def _list(args: argparse.Namespace) -> int:
    from ..sweeps._sweep import open_store

    found = open_store(args.dir).sweeps(args.project, args.entity)
    rows = [
        [s["id"], (f"{s['entity']}/" if s["entity"] else "") + s["project"], s["config"].get("method", ""), s["state"],
         str(s["trial_count"]), (s["config"].get("metric") or {}).get("name", ""),
         time.strftime("%Y-%m-%d %H:%M", time.localtime(s["created_at"])), s.get("name") or ""]
        for s in found
    ]
    print(format_table(["ID", "PROJECT", "METHOD", "STATE", "RUNS", "METRIC", "CREATED", "NAME"], rows))
    return 0


def cmd_agent(args: argparse.Namespace) -> int:
    from ..sweeps._agent import agent

    if args.dir:
        os.environ["TRACKLET_DIR"] = os.path.abspath(args.dir)  # the program's runs go where the agent reads
    agent(args.sweep, entity=args.entity, project=args.project, count=args.count, dir=args.dir)
    return 0
