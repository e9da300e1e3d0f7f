"""``tracklet export RUN --format csv|parquet``: a run's full history as a file.

A media value (table, image, ...) is in its step's row as the history describes it (``_type``, ``digest``,
...); a file cell holds it as JSON text, and so does every cell of a column whose values are not all numbers
or all strings (a key logged as a number at one step and a table at another): one column, one type.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from typing import Any

from .._errors import UsageError

__all__ = ["add_parser"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "export", help="write a run's history (every step, every metric) to CSV or Parquet",
        description="Write a run's history (every step, every metric) to CSV or Parquet. Media values (tables, images, "
        "...) are written as JSON text describing them ({\"_type\": \"image\", \"digest\": ...}); read a value itself "
        "with `tracklet table` or Api().run(...).get_media(key).",
    )
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
    cols = [_cells([r.get(c) for r in rows]) for c in columns]
    out = args.output or f"{run.id}.{args.format}"
    if args.format == "parquet":
        if out == "-":
            raise UsageError("parquet cannot go to stdout; pass --output FILE")
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise UsageError("parquet export needs pyarrow. Install it with: pip install 'tracklet[parquet]'") from None
        table = pa.table(dict(zip(columns, cols)))
        pq.write_table(table, out)
    else:
        f = sys.stdout if out == "-" else open(out, "w", newline="", encoding="utf-8")
        try:
            w = csv.writer(f)
            w.writerow(columns)
            w.writerows(zip(*cols))
        finally:
            if f is not sys.stdout:
                f.close()
    if out != "-":
        print(f"wrote {len(rows)} rows x {len(columns)} columns to {out}", file=sys.stderr)
    return 0


def _cells(values: list[Any]) -> list[Any]:
    """A column's cells for a file: as they are when all numbers, all booleans or all strings (None aside), else JSON text each."""
    kinds = {type(v) if type(v) in (str, bool) else float if type(v) in (int, float) else object for v in values if v is not None}
    if len(kinds) <= 1 and object not in kinds:
        return values
    return [None if v is None else json.dumps(v, separators=(",", ":"), allow_nan=True) for v in values]
