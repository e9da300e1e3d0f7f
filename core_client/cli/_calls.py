"""``tracklet calls PROJECT [--op OP] [--slowest N]`` and ``tracklet trace CALL_ID``: traced calls in the terminal."""

from __future__ import annotations

import argparse
import time
from typing import Any

__all__ = ["add_parsers", "tree_lines"]


def add_parsers(sub: Any) -> None:
    p = sub.add_parser("calls", help="list a project's traced calls (@tracklet.op)")
    p.add_argument("project", help="project name (entity/project on a server)")
    p.add_argument("--op", help="only the calls of this op")
    p.add_argument("--status", choices=["running", "ok", "error", "cancelled", "crashed"])
    p.add_argument("--roots", action="store_true", help="only the roots of traces")
    p.add_argument("--slowest", type=int, metavar="N", help="the N slowest calls, slowest first")
    p.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    p.add_argument("--dir", help="the store folder (default: TRACKLET_DIR or ./tracklet-runs)")
    p.set_defaults(func=cmd_calls)
    t = sub.add_parser("trace", help="print the call tree of a call's trace, with latency and tokens per call")
    t.add_argument("call_id", help="any call of the trace (tracklet calls lists ids)")
    t.add_argument("--dir", help="the store folder (default: TRACKLET_DIR or ./tracklet-runs)")
    t.set_defaults(func=cmd_trace)


def _tokens(c: Any) -> str:
    return f"{c['total_tokens']} tok" if c["total_tokens"] else ""


def _ms(c: Any) -> str:
    return "running" if c["latency_ms"] is None else f"{c['latency_ms']:.2f} ms"


def cmd_calls(args: argparse.Namespace) -> int:
    from .. import Api

    api = Api(dir=args.dir)
    filters = {"op": args.op, "status": args.status, "roots": args.roots or None}
    if args.slowest:
        calls = api.calls(args.project, filters, order="-latency_ms", limit=args.slowest)
    else:
        calls = api.calls(args.project, filters, order="-started_at", limit=args.limit)
    if not calls:
        print(f"no calls in project {args.project!r}")
        return 0
    print(f"{'id':<16} {'op':<32} {'status':<9} {'latency':>11} {'tokens':>10} {'cost $':>9}  started")
    for c in calls:
        cost = "" if c["cost"] is None else f"{c['cost']:.5f}"
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(c["started_at"]))
        print(f"{c['id']:<16} {c['op_name'][:32]:<32} {c['status']:<9} {_ms(c):>11} {_tokens(c):>10} {cost:>9}  {started}")
    return 0


def tree_lines(calls: list[dict[str, Any]]) -> list[str]:
    """The lines of a trace's tree: each call under its parent, with status, latency and tokens."""
    children: dict[Any, list[dict[str, Any]]] = {}
    ids = {c["id"] for c in calls}
    for c in calls:
        children.setdefault(c["parent_id"] if c["parent_id"] in ids else None, []).append(c)
    lines: list[str] = []

    def walk(c: dict[str, Any], prefix: str, last: bool, top: bool) -> None:
        mark = "" if top else ("└─ " if last else "├─ ")
        flag = "" if c["status"] == "ok" else f" [{c['status']}]"
        extra = " ".join(x for x in (_ms(c), _tokens(c), "" if c["cost"] is None else f"${c['cost']:.5f}") if x)
        lines.append(f"{prefix}{mark}{c['op_name']}{flag}  {extra}  ({c['id']})")
        kids = children.get(c["id"], [])
        for i, k in enumerate(kids):
            walk(k, prefix + ("" if top else ("   " if last else "│  ")), i == len(kids) - 1, False)

    for root in children.get(None, []):
        walk(root, "", True, True)
    return lines


def cmd_trace(args: argparse.Namespace) -> int:
    from .. import Api

    api = Api(dir=args.dir)
    call = api.call(args.call_id)
    for line in tree_lines([c.to_dict() for c in call.trace()]):
        print(line)
    return 0
