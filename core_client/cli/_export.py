"""``tracklet export RUN --format csv|parquet``: a run's full history as a file."""

from __future__ import annotations

import argparse
import csv
import sys
from typing import Any

from .._errors import UsageError

__all__ = ["add_parser"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("export", help="write a run's history (every step, every metric) to CSV or Parquet")
    p.add_argument("run", help="run id, or project/run_id")
    p.add_argument("--format", choices=["csv", "parquet"], default="csv")
    p.add_argument("--output", "-o", help="file to write (default: RUN_ID.csv / RUN_ID.parquet; '-' for stdout, csv only)")
    p.add_argument("--keys", nargs="+", help="only these metrics (rows that have all of them)")
    p.add_argument("--dir", help="the store folder (default: TRACKLET_DIR or ./tracklet-runs)")
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from .. import Api

    run = Api(dir=args.dir).run(args.run)
    rows = list(run.scan_history(keys=args.keys))
    columns = ["_step", "_runtime", "_timestamp"]
    seen = set(columns)
    for row in rows:
        for k in row:
            if k not in seen:
                seen.add(k)
                columns.append(k)
    out = args.output or f"{run.id}.{args.format}"
    if args.format == "parquet":
        if out == "-":
            raise UsageError("parquet cannot go to stdout; pass --output FILE")
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise UsageError("parquet export needs pyarrow. Install it with: pip install 'tracklet[parquet]'") from None
        table = pa.table({c: [r.get(c) for r in rows] for c in columns})
        pq.write_table(table, out)
    else:
        f = sys.stdout if out == "-" else open(out, "w", newline="", encoding="utf-8")
        try:
            w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)
        finally:
            if f is not sys.stdout:
                f.close()
    if out != "-":
        print(f"wrote {len(rows)} rows x {len(columns)} columns to {out}", file=sys.stderr)
    return 0
