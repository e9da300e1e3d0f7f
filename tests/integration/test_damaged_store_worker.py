"""The store's worker stops on a damaged database, and the run says where its records are (issue 10, item 6)."""

from __future__ import annotations

import tracklet
from helpers import run_python, wait_until
from tracklet.store.sql._spawn import worker_running


def test_the_worker_exits_on_a_damaged_database_and_finish_says_why(tracklet_env, monkeypatch):
    monkeypatch.setenv("TRACKLET_WORKER_IDLE", "1")
    run = tracklet.init(project="dmg")
    run.log({"loss": 1.0})
    run.finish()
    assert tracklet.Api().run(run.id).state == "finished"
    tracklet.store.sql._engine.close_all()
    wait_until(lambda: not worker_running(str(tracklet_env)), timeout=30)  # the first run's worker has gone idle
    db = tracklet_env / "tracklet.db"
    db.write_bytes(b"\x00" * 100 + db.read_bytes()[100:])  # the header is gone

    out = run_python("""
        import os, time, warnings
        warnings.simplefilter("always")
        import tracklet
        run = tracklet.init(project="dmg")
        run.log({"loss": 2.0})
        problem = os.path.join(run.dir, "ingest-error.txt")
        deadline = time.monotonic() + 30
        while not os.path.exists(problem) and time.monotonic() < deadline:
            time.sleep(0.05)
        run.finish()
        print("RUN", run.id)
    """)
    assert out.returncode == 0, out.stderr
    assert "is damaged" in out.stderr and "tracklet doctor --rebuild" in out.stderr
    wait_until(lambda: not worker_running(str(tracklet_env)), timeout=10)  # it stopped instead of failing forever
    assert "stopped:" in (tracklet_env / "worker.log").read_text()
