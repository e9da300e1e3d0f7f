"""``tracklet runs`` (a table of runs) and ``tracklet show RUN`` (one run, with a sparkline per metric)."""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any

from .._errors import UsageError
from ._sparkline import sparkline

__all__ = ["add_parsers", "format_table"]


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("runs", help="list runs, newest first")
    p.add_argument("--dir", help="the store folder (default: TRACKLET_DIR or ./tracklet-runs)")
    p.add_argument("--project", "-p", help="only this project")
    p.add_argument("--state", choices=["running", "finished", "failed", "crashed", "stopped"], help="only runs in this state")
    p.add_argument("--tag", action="append", default=[], help="only runs with this tag (repeatable)")
    p.add_argument("--filter", "-f", action="append", default=[], metavar="FIELD=VALUE",
                   help="e.g. config.lr=0.001 or group=sweep-3 (repeatable; values are read as JSON when they parse)")
    p.add_argument("--order", default="-created_at", help="sort field, '-' for descending (default -created_at)")
    p.add_argument("--limit", "-n", type=int, default=50, help="at most this many runs (default 50; 0 for all)")
    p.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    p.set_defaults(func=cmd_runs)
    rsub = p.add_subparsers(dest="runs_command", metavar="ACTION")
    rm = rsub.add_parser("rm", help="delete ended runs (their history, media entries, logs and files; blobs and artifacts stay)")
    rm.add_argument("runs", nargs="+", metavar="RUN", help="run id or project/run_id")
    rm.add_argument("--dir", help="the store folder (default: TRACKLET_DIR or ./tracklet-runs)")
    rm.add_argument("--yes", "-y", action="store_true", help="delete without asking")
    rm.set_defaults(func=cmd_rm)

    s = sub.add_parser("show", help="show one run: config, summary, a sparkline of each metric")
    s.add_argument("run", help="run id, project/run_id, or 'latest' for the newest run")
    s.add_argument("--dir", help="the store folder (default: TRACKLET_DIR or ./tracklet-runs)")
    s.add_argument("--width", type=int, default=40, help="sparkline width in characters")
    s.add_argument("--logs", type=int, default=10, metavar="N", help="show the last N lines of console output")
    s.add_argument("--system", action="store_true", help="also chart system metrics")
    s.set_defaults(func=cmd_show)


def _parse_filters(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise UsageError(f"--filter {item!r} must be FIELD=VALUE, e.g. config.lr=0.001")
        field, raw = item.split("=", 1)
        try:
            out[field] = json.loads(raw)
        except ValueError:
            out[field] = raw
    return out


def format_table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    s = int(seconds)
    if s < 60:
        return f"{seconds:.1f}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if math.isnan(v) or math.isinf(v):
            return str(v)
        return f"{v:.6g}"
    if isinstance(v, (dict, list)):
        return json.dumps(v, default=str)
    return str(v)


def cmd_runs(args: argparse.Namespace) -> int:
    from .. import Api

    filters = _parse_filters(args.filter)
    if args.state:
        filters["state"] = args.state
    if args.tag:
        filters["tags"] = {"$in": args.tag}
    found = Api(dir=args.dir).runs(args.project, filters=filters or None, order=args.order)
    if args.limit:
        found = found[: args.limit]
    if args.json:
        for r in found:
            print(json.dumps({"id": r.id, "name": r.name, "project": r.project, "state": r.state,
                              "created_at": r.created_at, "runtime": r.runtime, "last_step": r.last_step,
                              "tags": r.tags, "config": r.config, "summary": r.summary}, default=str))
        return 0
    if not found:
        print("no runs" + (f" in project {args.project}" if args.project else ""))
        return 0
    rows = [
        [r.id, r.name or "", r.project, r.state, time.strftime("%Y-%m-%d %H:%M", time.localtime(r.start_time)),
         _duration(r.runtime), "" if r.last_step is None else str(r.last_step), ",".join(r.tags)]
        for r in found
    ]
    print(format_table(["ID", "NAME", "PROJECT", "STATE", "CREATED", "RUNTIME", "STEP", "TAGS"], rows))
    return 0


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict) and v and not prefix.startswith("summary"):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = v
    return out


def _show_media(entries: list[dict[str, Any]]) -> None:
    """The run's tables and other media (``run.media()``): per key, its kind, how many versions, and the latest one."""
    if not entries:
        return
    by_key: dict[str, list[dict[str, Any]]] = {}
    for e in entries:
        by_key.setdefault(e["key"], []).append(e)
    print("\ntables and media")
    width = min(32, max(len(k) for k in by_key))
    for key, found in by_key.items():
        steps = sorted({e["step"] for e in found})
        last = max(found, key=lambda e: (e["step"], e["idx"]))
        meta = last["meta"]
        if last["kind"] in ("table", "plot"):
            what = f"{meta.get('rows', '?')} rows x {len(meta.get('columns') or [])} columns"
            if last["kind"] == "plot":
                what = f"{(meta.get('spec') or {}).get('type', '')} chart of {what}"
        elif last["kind"] in ("image", "video") and "width" in meta:
            what = f"{meta['width']}x{meta['height']} {meta.get('format', '')}"
        elif last["kind"] == "histogram":
            what = f"{meta.get('num_bins')} bins over [{_fmt(meta.get('min'))}, {_fmt(meta.get('max'))}]"
        else:
            what = meta.get("format", "") or ""
        items = sum(1 for e in found if e["step"] == last["step"])
        versions = f"{len(steps)} step{'s' if len(steps) != 1 else ''}" + (f", {items} per step" if items > 1 else "")
        print(f"  {key[:width]:<{width}} {last['kind']:<9} {versions:<16} last at step {last['step']}: {what}")
    print("  (export a table with: tracklet table RUN KEY --format csv|parquet|jsonl)")


def cmd_rm(args: argparse.Namespace) -> int:
    """Delete runs after naming them and asking (``--yes`` skips the question; without a terminal it is required)."""
    import sys

    from .. import Api

    api = Api(dir=args.dir)
    runs = [api.run(r) for r in dict.fromkeys(args.runs)]  # every one found before any goes
    for run in runs:
        print(f"  {run.id}  {run.name}  ({run.project}, {run.state})")
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError("tracklet runs rm asks before deleting; pass --yes to delete without a terminal")
        answer = input(f"Delete {len(runs)} run{'s' if len(runs) != 1 else ''} for good? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return 1
    for run in runs:
        run.delete()
        print(f"deleted {run.id}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from .. import Api

    api = Api(dir=args.dir)
    if args.run == "latest":
        newest = api.runs(order="-created_at")
        if not newest:
            raise UsageError(f"no runs in {api.dir} yet")
        run = newest[0]
    else:
        run = api.run(args.run)
    env = run.metadata or {}
    git = env.get("git") or {}
    print(f"{run.name}  ({'/'.join(run.path)})")
    facts = [
        ("state", run.state + (f" (exit code {run.exit_code})" if run.exit_code else "")),
        ("created", run.created_at),
        ("runtime", _duration(run.runtime)),
        ("steps", "" if run.last_step is None else str(run.last_step + 1)),
        ("host", env.get("host", "")),
        ("command", " ".join(env.get("argv") or [])),
        ("git", f"{git.get('commit', '')[:12]}{' (dirty)' if git.get('dirty') else ''}" if git else ""),
        ("group", run.group or ""),
        ("tags", ", ".join(run.tags)),
        ("notes", run.notes or ""),
        ("error", run.error or ""),
    ]
    for label, value in facts:
        if value:
            print(f"  {label:<8} {value}")
    for p in run.problems():
        if p["kind"] == "damaged":
            print(f"  PROBLEM  damaged log: {p['bytes']} bytes at offset {p['offset']} skipped (the records after them are kept)")
        else:
            records = f"{p['records']} record(s), " if p["records"] is not None else ""
            print(f"  PROBLEM  data lost: {records}{p['bytes']} bytes could not be written ({p['detail']})")
    config = _flat(run.config)
    if config:
        print("\nconfig")
        for k in sorted(config):
            print(f"  {k} = {_fmt(config[k])}")
    summary = run.summary
    keys = [k for k in run.keys() if args.system or not k.startswith("system/")]
    charted = set()
    if keys:
        name_w = min(32, max(len(k) for k in keys))
        print(f"\n{'metrics':<{name_w + 2}} {'':<{args.width}}  {'last':<12} {'min':<12} max")
        for key in keys:
            if key.startswith("system/"):
                values = [r[key] for r in run.history(samples=0, keys=[key], pandas=False, stream="system")]
            else:
                values = [r[key] for r in run.scan_history(keys=[key])]
            numbers = [v for v in values if isinstance(v, (int, float))]
            if not numbers:
                continue
            charted.add(key)
            finite = [v for v in numbers if math.isfinite(v)] or [math.nan]
            print(f"  {key[:name_w]:<{name_w}} {sparkline(numbers, args.width):<{args.width}}  "
                  f"{_fmt(numbers[-1]):<12} {_fmt(min(finite)):<12} {_fmt(max(finite))}")
    media = run.media()
    described = {m["key"] for m in media}  # listed below, under tables and media
    rest = {k: v for k, v in summary.items() if k not in charted and k not in described}
    if rest:
        print("\nsummary")
        for k in sorted(rest):
            print(f"  {k} = {_fmt(rest[k])}")
    _show_media(media)
    if args.logs:
        lines = run.output().splitlines()[-args.logs:]
        if lines:
            print(f"\noutput (last {len(lines)} lines)")
            for line in lines:
                print(f"  {line}")
    return 0
