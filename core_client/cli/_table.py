"""``tracklet table RUN KEY [--step N] --format csv|parquet|jsonl``: a logged table as a file."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from typing import Any

from .._errors import UsageError

__all__ = ["add_parser"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("table", help="write a table a run logged (tracklet.Table) to CSV, Parquet or JSON lines")
    p.add_argument("run", help="run id, project/run_id, or 'latest' for the newest run")
    p.add_argument("key", help="the key it was logged under, e.g. eval/predictions")
    p.add_argument("--step", type=int, help="the version logged at this step (default: the latest)")
    p.add_argument("--format", choices=["csv", "parquet", "jsonl"], default="csv")
    p.add_argument("--output", "-o", help="file to write (default: stdout for csv and jsonl; KEY.parquet for parquet)")
    p.add_argument("--dir", help="the store folder (default: TRACKLET_DIR or ./tracklet-runs)")
    p.set_defaults(func=cmd_table)


def _cell(value: Any) -> Any:
    """A cell as plain JSON: a media cell becomes its kind and caption (its bytes stay in the store)."""
    from ..media import Media

    if isinstance(value, Media):
        return {"_type": value.kind, **({"caption": value.caption} if getattr(value, "caption", None) else {})}
    return value


def cmd_table(args: argparse.Namespace) -> int:
    from .. import Api

    api = Api(dir=args.dir)
    if args.run == "latest":
        newest = api.runs(order="-created_at")
        if not newest:
            raise UsageError(f"no runs in {api.dir} yet")
        run = newest[0]
    else:
        run = api.run(args.run)
    table = run.table(args.key, step=args.step)
    out = args.output or ("-" if args.format != "parquet" else args.key.replace("/", "_") + ".parquet")
    if args.format == "parquet":
        if out == "-":
            raise UsageError("parquet cannot go to stdout; pass --output FILE")
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise UsageError('parquet export needs pyarrow. Install it with: pip install "tracklet[media]"') from None
        columns = {}
        for name in table.columns:
            values = [_cell(v) for v in table.get_column(name)]
            if any(isinstance(v, (dict, list)) for v in values):
                values = [None if v is None else json.dumps(v) for v in values]
            columns[name] = values
        pq.write_table(pa.table(columns), out)
    else:
        f = sys.stdout if out == "-" else open(out, "w", newline="", encoding="utf-8")
        try:
            if args.format == "csv":
                w = csv.writer(f)
                w.writerow(table.columns)
                for row in table.data:
                    w.writerow([json.dumps(c) if isinstance(c, (dict, list)) else c for c in map(_cell, row)])
            else:
                for row in table.data:
                    f.write(json.dumps(dict(zip(table.columns, map(_cell, row))), allow_nan=True) + "\n")
        finally:
            if f is not sys.stdout:
                f.close()
    if out != "-":
        print(f"wrote {len(table)} rows x {len(table.columns)} columns to {out}", file=sys.stderr)
    return 0
