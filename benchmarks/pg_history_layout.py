"""History on PostgreSQL: one row per point (today's ``history`` table) against chunks of steps.

Starts its own private PostgreSQL cluster (tests/_postgres.py), measures, prints a Markdown report.

    .venv/bin/python benchmarks/pg_history_layout.py            # full size (about 5 min on 2 cores)
    .venv/bin/python benchmarks/pg_history_layout.py --quick    # a tenth of the data

Layouts:
- rows: ``history(run_pk, key_id, step, ts, value)``, primary key (run_pk, key_id, step).
- chunks: ``history_chunks(run_pk, key_id, chunk, n, steps, ts, vals, vmin, vmax)``, one row per run,
  key and ``CHUNK`` consecutive steps (chunk = step // CHUNK); steps/ts as little-endian int64 and
  values as float64 in ``bytea`` (``array.array`` packs and unpacks them at C speed, no numpy).
- rollup (beside either): ``history_rollup(run_pk, key_id, cell, vmin, vmax, vsum, n)``, one row
  per ``ROLLUP`` steps, what a downsampled chart reads.

Measured:
1. ingest: points/s from decoded points (what ``_ingest._decode`` yields) into the table, in
   batches of 90,000 points (ingest's batch), each batch one transaction, idempotent (a replayed
   batch changes nothing). Plus the real ``ingest_run`` from a run's WAL (rows layout, today's code).
2. one run's full curve, 1,000,000 points, to Python lists of steps and values.
3. 100 runs x 1 metric x 100,000 steps downsampled to 1,000 points per run, min/max/mean per bucket.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from array import array

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

from _postgres import PgCluster  # noqa: E402

BATCH = 90_000
ROLLUP = 100

ROWS_DDL = """
CREATE TABLE history (run_pk int NOT NULL, key_id int NOT NULL, step bigint NOT NULL, ts bigint NOT NULL,
                      value double precision, PRIMARY KEY (run_pk, key_id, step));
"""
CHUNKS_DDL = """
CREATE TABLE history_chunks (run_pk int NOT NULL, key_id int NOT NULL, chunk bigint NOT NULL, n int NOT NULL,
                             steps bytea NOT NULL, ts bytea NOT NULL, vals bytea NOT NULL,
                             vmin double precision, vmax double precision,
                             PRIMARY KEY (run_pk, key_id, chunk));
"""
ROLLUP_DDL = """
CREATE TABLE history_rollup (run_pk int NOT NULL, key_id int NOT NULL, cell bigint NOT NULL,
                             vmin double precision, vmax double precision, vsum double precision, n int NOT NULL,
                             PRIMARY KEY (run_pk, key_id, cell));
"""


def points(run_pk: int, keys: int, steps: int, start: int = 0):
    """(run_pk, key_id, step, ms, value) in WAL order: step by step, every key."""
    for s in range(start, start + steps):
        ms = s * 3
        for k in range(keys):
            yield (run_pk, k, s, ms, ((s * 7919 + k * 104729) % 1000) / 1000.0)


# -- rows -------------------------------------------------------------------------------------------
def rows_executemany(conn, batch):
    """Today's PostgreSQL path in _ingest._upsert_points: one INSERT ... ON CONFLICT per point, executemany."""
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO history (run_pk, key_id, step, ts, value) VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (run_pk, key_id, step) DO UPDATE SET ts = excluded.ts, value = excluded.value",
            batch,
        )


def rows_copy_upsert(conn, batch):
    """COPY (binary) into a temporary table, then one INSERT ... SELECT ... ON CONFLICT DO UPDATE."""
    last = {(p[1], p[2]): p for p in batch}  # a step logged twice in one batch: the last value wins
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS hist_in (run_pk int, key_id int, step bigint, ts bigint, value double precision) "
            "ON COMMIT DELETE ROWS"
        )
        with cur.copy("COPY hist_in FROM STDIN (FORMAT BINARY)") as cp:
            cp.set_types(["int4", "int4", "int8", "int8", "float8"])
            for p in last.values():
                cp.write_row(p)
        cur.execute(
            "INSERT INTO history SELECT * FROM hist_in "
            "ON CONFLICT (run_pk, key_id, step) DO UPDATE SET ts = excluded.ts, value = excluded.value"
        )


def rows_copy_plain(conn, batch):
    """COPY straight into the table: no conflict handling (not idempotent), the ceiling for this layout."""
    with conn.cursor() as cur:
        with cur.copy("COPY history FROM STDIN (FORMAT BINARY)") as cp:
            cp.set_types(["int4", "int4", "int8", "int8", "float8"])
            for p in batch:
                cp.write_row(p)


def rows_read_curve(conn, run_pk, key_id):
    with conn.cursor() as cur:
        cur.execute("SELECT step, value FROM history WHERE run_pk = %s AND key_id = %s ORDER BY step", (run_pk, key_id))
        rows = cur.fetchall()
    return [r[0] for r in rows], [r[1] for r in rows]


def rows_downsample(conn, run_pks, key_id, lo, hi, buckets):
    width = max(1, -(-(hi - lo) // buckets))
    with conn.cursor() as cur:
        cur.execute(
            "SELECT run_pk, (step - %s) / %s AS b, avg(step), avg(value), min(value), max(value) FROM history "
            "WHERE run_pk = ANY(%s) AND key_id = %s AND step >= %s AND step < %s GROUP BY 1, 2 ORDER BY 1, 2",
            (lo, width, list(run_pks), key_id, lo, hi),
        )
        return cur.fetchall()


# -- chunks -----------------------------------------------------------------------------------------
def _merge(existing, new):
    """Merge (step, ts, value) points into a chunk's arrays: the later point of a step wins, steps sorted."""
    merged = {}
    if existing is not None:
        st, ts, vs = (array("q", existing[0]), array("q", existing[1]), array("d", existing[2]))
        merged = {s: (t, v) for s, t, v in zip(st, ts, vs)}
    for s, t, v in new:
        merged[s] = (t, v)
    steps = sorted(merged)
    st = array("q", steps)
    ts = array("q", [merged[s][0] for s in steps])
    vs = array("d", [merged[s][1] for s in steps])
    return st, ts, vs


def chunks_write(conn, batch, chunk_steps, rollup=False):
    """Group the batch by (run, key, chunk); read the chunks it touches that exist, merge, upsert."""
    groups: dict[tuple[int, int, int], list] = {}
    for run_pk, k, s, ms, v in batch:
        groups.setdefault((run_pk, k, s // chunk_steps), []).append((s, ms, v))
    with conn.cursor() as cur:
        # which chunks exist already (the partial last chunk of each key, in an appending run)
        run_pk = batch[0][0]
        keys = sorted({g[1] for g in groups})
        lo = min(g[2] for g in groups)
        cur.execute(
            "SELECT key_id, chunk, steps, ts, vals FROM history_chunks WHERE run_pk = %s AND key_id = ANY(%s) AND chunk >= %s FOR UPDATE",
            (run_pk, keys, lo),
        )
        existing = {(run_pk, r[0], r[1]): (r[2], r[3], r[4]) for r in cur.fetchall()}
        out = []
        for (rp, k, c), pts in groups.items():
            old = existing.get((rp, k, c))
            if old is None and all(pts[i][0] < pts[i + 1][0] for i in range(len(pts) - 1)):
                st = array("q", [p[0] for p in pts])
                ts = array("q", [p[1] for p in pts])
                vs = array("d", [p[2] for p in pts])
            else:
                st, ts, vs = _merge(old, pts)
            out.append((rp, k, c, len(st), st.tobytes(), ts.tobytes(), vs.tobytes(), min(vs), max(vs)))
        cur.executemany(
            "INSERT INTO history_chunks VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (run_pk, key_id, chunk) DO UPDATE "
            "SET n = excluded.n, steps = excluded.steps, ts = excluded.ts, vals = excluded.vals, vmin = excluded.vmin, vmax = excluded.vmax",
            out,
        )
        if rollup:
            _write_rollup(cur, out, chunk_steps)


def _write_rollup(cur, chunks, chunk_steps):
    """Recompute the rollup cells of the chunks just written (a cell lies inside one chunk)."""
    rows = []
    for rp, k, c, n, stb, _tsb, vb, _mn, _mx in chunks:
        st, vs = array("q"), array("d")
        st.frombytes(stb)
        vs.frombytes(vb)
        cells: dict[int, list] = {}
        for s, v in zip(st, vs):
            cells.setdefault(s // ROLLUP, []).append(v)
        rows += [(rp, k, cell, min(v), max(v), sum(v), len(v)) for cell, v in cells.items()]
    cur.executemany(
        "INSERT INTO history_rollup VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (run_pk, key_id, cell) DO UPDATE "
        "SET vmin = excluded.vmin, vmax = excluded.vmax, vsum = excluded.vsum, n = excluded.n",
        rows,
    )


def chunks_read_curve(conn, run_pk, key_id):
    steps, vals = array("q"), array("d")
    with conn.cursor() as cur:
        cur.execute("SELECT steps, vals FROM history_chunks WHERE run_pk = %s AND key_id = %s ORDER BY chunk", (run_pk, key_id))
        for st, vs in cur:
            steps.frombytes(st)
            vals.frombytes(vs)
    return steps.tolist(), vals.tolist()


def chunks_downsample(conn, run_pks, key_id, lo, hi, buckets, chunk_steps):
    """Fetch the chunks of the range, cut each run's values into buckets in Python (min/max/sum on slices, C speed)."""
    width = max(1, -(-(hi - lo) // buckets))
    out = []
    with conn.cursor() as cur:
        cur.execute(
            "SELECT run_pk, steps, vals FROM history_chunks WHERE run_pk = ANY(%s) AND key_id = %s AND chunk >= %s AND chunk <= %s "
            "ORDER BY run_pk, chunk",
            (list(run_pks), key_id, lo // chunk_steps, (hi - 1) // chunk_steps),
        )
        per_run: dict[int, tuple[array, array]] = {}
        for rp, st, vs in cur:
            a = per_run.setdefault(rp, (array("q"), array("d")))
            a[0].frombytes(st)
            a[1].frombytes(vs)
    for rp, (st, vs) in per_run.items():
        # dense steps (the common case: one point per step) let buckets be slices; sparse ones would bisect
        i, n = 0, len(st)
        while i < n:
            b = (st[i] - lo) // width
            j = min(n, i + width)
            while j > i and (st[j - 1] - lo) // width != b:
                j -= 1
            part = vs[i:j]
            out.append((rp, b, (st[i] + st[j - 1]) / 2, sum(part) / len(part), min(part), max(part)))
            i = j
    return out


def rollup_downsample(conn, run_pks, key_id, lo, hi, buckets):
    """Downsample from the rollup cells: each cell goes wholly to the bucket its first step falls in."""
    width = max(1, -(-(hi - lo) // buckets))
    width = max(ROLLUP, width // ROLLUP * ROLLUP)  # buckets made of whole cells
    with conn.cursor() as cur:
        cur.execute(
            "SELECT run_pk, (cell * %s - %s) / %s AS b, sum(vsum) / sum(n), min(vmin), max(vmax) FROM history_rollup "
            "WHERE run_pk = ANY(%s) AND key_id = %s AND cell >= %s AND cell < %s GROUP BY 1, 2 ORDER BY 1, 2",
            (ROLLUP, lo, width, list(run_pks), key_id, lo // ROLLUP, -(-hi // ROLLUP)),
        )
        return cur.fetchall()


# -- the runs ---------------------------------------------------------------------------------------
def timed(fn, repeats=3):
    times = []
    result = None
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times), max(times), result


def ingest_rate(conn, write, total_points, keys, run_pk):
    """Points/s writing ``total_points`` in batches, one transaction per batch."""
    steps = total_points // keys
    per_batch = BATCH // keys
    t = time.perf_counter()
    for start in range(0, steps, per_batch):
        batch = list(points(run_pk, keys, min(per_batch, steps - start), start))
        with conn.transaction():
            write(conn, batch)
    return total_points / (time.perf_counter() - t)


def table_size(conn, *tables):
    with conn.cursor() as cur:
        return sum(cur.execute("SELECT pg_total_relation_size(%s)", (t,)).fetchone()[0] for t in tables)


def reset(conn, *ddl):
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS history, history_chunks, history_rollup")
        for d in ddl:
            cur.execute(d)
    conn.commit()


def _executemany_points(conn, run_pk, hist):
    """The PostgreSQL branch of ``_ingest._upsert_points`` before ``_pg_ingest``: one INSERT per point."""
    row = f"(%s, %s, %s, %s, {int(run_pk)})"
    conn.exec_driver_sql(
        "INSERT INTO history (key_id, step, ts, value, run_pk) VALUES " + row
        + " ON CONFLICT (run_pk, key_id, step) DO UPDATE SET ts = excluded.ts, value = excluded.value",
        hist,
    )


def real_ingest(pg: PgCluster, points_total: int, keys: int) -> dict[str, float]:
    """The real path: a run's WAL (written by tracklet.init/log) through ingest_run, points/s by target."""
    import tracklet
    import tracklet.store.sql._pg_ingest as pg_ingest
    from tracklet.store.sql._engine import close_all, make_engine
    from tracklet.store.sql._ingest import ingest_run
    from tracklet.store.sql._migrate import migrate

    rates = {}
    with tempfile.TemporaryDirectory() as d:
        os.environ.update(TRACKLET_DIR=d, TRACKLET_WORKER="off", TRACKLET_SILENT="true", TRACKLET_SYSTEM_INTERVAL="0")
        run = tracklet.init(project="bench")
        names = [f"m{k}" for k in range(keys)]
        for s in range(points_total // keys):
            run.log(dict(zip(names, (s * 0.001 + k for k in range(keys)))))
        run.finish()
        wal = os.path.join(d, "runs", run.id, "run.tlog")
        copy_path = pg_ingest.upsert_points
        for name, target, points_path in (
            ("PostgreSQL, executemany (before this branch)", "pg", _executemany_points),
            ("PostgreSQL, COPY path (_pg_ingest)", "pg", copy_path),
            ("SQLite (reference)", f"sqlite:///{d}/bench.db", None),
        ):
            if target == "pg":
                target = pg.create_database()
                migrate(target)
            pg_ingest.upsert_points = points_path or copy_path
            engine = make_engine(target)
            t = time.perf_counter()
            ingest_run(engine, wal, run.id)
            rates[name] = points_total / (time.perf_counter() - t)
            engine.dispose()
        pg_ingest.upsert_points = copy_path
        close_all()
    return rates


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="a tenth of the data")
    ap.add_argument("--chunk", type=int, default=1000, help="steps per chunk")
    ap.add_argument("--fast-unsafe", action="store_true", help="fsync, synchronous_commit and full_page_writes off, as the test cluster")
    args = ap.parse_args()
    scale = 10 if args.quick else 1
    chunk = args.chunk
    ingest_points = 2_000_000 // scale
    curve_steps = 1_000_000 // scale
    runs, run_steps = 100, 100_000 // scale
    keys = 10

    import psycopg

    started = time.time()
    settings = {"shared_buffers": "1GB", "max_wal_size": "4GB", "checkpoint_timeout": "30min"}
    if not args.fast_unsafe:  # a server's durability: the test cluster turns these off
        settings.update(fsync="on", synchronous_commit="on", full_page_writes="on")
    with PgCluster(settings=settings) as pg:
        pg.create_database("bench")
        dsn = f"host=127.0.0.1 port={pg.port} user=postgres dbname=bench"
        results: dict[str, str] = {}
        with psycopg.connect(dsn) as conn:
            # 1. ingest
            rows, chunks, chunks_rollup = ["history"], ["history_chunks"], ["history_chunks", "history_rollup"]
            for name, tables, write in (
                ("rows: executemany INSERT ... ON CONFLICT (today)", rows, rows_executemany),
                ("rows: COPY into a temp table + INSERT ... SELECT ... ON CONFLICT", rows, rows_copy_upsert),
                ("rows: plain COPY (not idempotent; ceiling)", rows, rows_copy_plain),
                (f"chunks of {chunk} steps (bytea), read-merge-upsert", chunks, lambda c, b: chunks_write(c, b, chunk)),
                (f"chunks of {chunk} + rollup of {ROLLUP} steps", chunks_rollup, lambda c, b: chunks_write(c, b, chunk, True)),
            ):
                ddl = "".join({"history": ROWS_DDL, "history_chunks": CHUNKS_DDL, "history_rollup": ROLLUP_DDL}[t] for t in tables)
                reset(conn, ddl)
                n = ingest_points if "executemany" not in name else ingest_points // 4
                rate = ingest_rate(conn, write, n, keys, run_pk=1)
                size = table_size(conn, *tables)
                print(f"ingest {name}: {rate:,.0f} points/s ({n:,} points, {size / n:.1f} B/point)", flush=True)
                results[f"ingest:{name}"] = f"{rate:,.0f} points/s, {size / n:.1f} bytes/point on disk"

            # 2. + 3. reads: load the data with the fastest path of each layout
            reset(conn, ROWS_DDL, CHUNKS_DDL, ROLLUP_DDL)
            t = time.perf_counter()
            for rp, steps in [(1, curve_steps)] + [(100 + r, run_steps) for r in range(runs)]:
                for start in range(0, steps, BATCH):
                    batch = list(points(rp, 1, min(BATCH, steps - start), start))
                    with conn.transaction():
                        rows_copy_plain(conn, batch)
                        chunks_write(conn, batch, chunk, rollup=True)
            conn.commit()
            conn.autocommit = True
            for table in ("history", "history_chunks", "history_rollup"):
                conn.execute(f"VACUUM ANALYZE {table}")
            conn.autocommit = False
            print(f"loaded read data in {time.perf_counter() - t:.1f} s", flush=True)
            run_pks = [100 + r for r in range(runs)]
            for name, fn in (
                ("rows", lambda: rows_read_curve(conn, 1, 0)),
                (f"chunks of {chunk}", lambda: chunks_read_curve(conn, 1, 0)),
            ):
                med, lo, hi, (st, vs) = timed(fn)
                assert len(st) == curve_steps
                print(f"curve {name}: {med:.3f} s", flush=True)
                results[f"curve:{name}"] = f"{med:.3f} s ({lo:.3f}-{hi:.3f})"
            for name, fn in (
                ("rows: SQL GROUP BY over the points", lambda: rows_downsample(conn, run_pks, 0, 0, run_steps, 1000)),
                (f"chunks of {chunk}: fetch, bucket in Python", lambda: chunks_downsample(conn, run_pks, 0, 0, run_steps, 1000, chunk)),
                (f"rollup of {ROLLUP} steps: SQL GROUP BY over the cells", lambda: rollup_downsample(conn, run_pks, 0, 0, run_steps, 1000)),
            ):
                med, lo, hi, out = timed(fn)
                print(f"downsample {name}: {med:.3f} s, {len(out)} buckets", flush=True)
                results[f"downsample:{name}"] = f"{med:.3f} s ({lo:.3f}-{hi:.3f}), {len(out):,} buckets"
            conn.rollback()
        for name, rate in real_ingest(pg, 1_000_000 // scale, 5).items():
            results[f"ingest:real ingest_run of a WAL into {name}"] = f"{rate:,.0f} points/s"
            print(f"real ingest_run into {name}: {rate:,.0f} points/s", flush=True)

    print()
    print(f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores; PostgreSQL 15, settings {pg.settings}; took {time.time() - started:.0f} s"
          f"{' (--quick: a tenth of the data)' if args.quick else ''}.")
    print()
    print("| measurement | figure |")
    print("|---|---:|")
    for k, v in results.items():
        print(f"| {k} | {v} |")


if __name__ == "__main__":
    main()
