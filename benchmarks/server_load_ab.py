#!/usr/bin/env python3
"""A/B of two server fixes under benchmarks/server_load.py's load (50 runs, 10 metrics), in one run, interleaved:

  built                          as committed
  no write lock                  without the in-process SQLite write lock (core_client/store/sql/_engine.py)
  no lock, catch-up per request  and with reads catching up runs that arrive over HTTP on every request

    .venv/bin/python benchmarks/server_load_ab.py [SECONDS=20]

The variants patch the server process at start (python -c ...); each is verified (every point once).
"""

import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import server_load as sl  # noqa: E402

VARIANTS = {
    "built": ("-m", "tracklet"),
    "no write lock": ("-c", "import sys; import tracklet.store.sql._engine as e; "
                      "e._WRITE_LOCKS = type('NoLocks', (), {'__setitem__': lambda *a: None, 'get': lambda *a: None})(); "
                      "from tracklet.cli import main; sys.exit(main(sys.argv[1:]))"),
    "no lock, catch-up per request": ("-c", "import sys; import tracklet.store.sql._engine as e; "
                      "e._WRITE_LOCKS = type('NoLocks', (), {'__setitem__': lambda *a: None, 'get': lambda *a: None})(); "
                      "import tracklet.store.sql._store as st; st.SqlStore._remote_caught_up = property(lambda s: False, lambda s, v: None); "
                      "from tracklet.cli import main; sys.exit(main(sys.argv[1:]))"),
}
secs = float(sys.argv[1]) if len(sys.argv) > 1 else 20
out = {}
for rep in range(2):
    for name, py in VARIANTS.items():
        work = tempfile.mkdtemp(prefix="ab-")
        os.makedirs(f"{work}/s")
        proc, url, key = sl.start_server(f"{work}/s", py)
        try:
            f = sl.run_load(url, key, proc.pid, f"{work}/c", runs=50, seconds=secs)
        finally:
            sl.stop_server(proc)
        sl.verify(f"{work}/c", f"{work}/s", f)
        shutil.rmtree(work, ignore_errors=True)
        row = {k: round(f[k], 1) for k in ("points_per_s", "post_p50_ms", "post_p99_ms", "server_rss_peak_mib", "load_average")}
        out.setdefault(name, []).append(row)
        print(rep, name, row, flush=True)
print(json.dumps(out))
