"""Remote mode survives its server: SIGKILL a real ``tracklet server`` mid-run while the run keeps logging,
restart it seconds later on the same store folder, and every point arrives exactly once, the run ends
finished, and the training process's memory stays flat meanwhile (the backlog waits on disk).
"""

from __future__ import annotations

import os
import time

import pytest

from helpers import spawn_python, wait_until
from server_client import earlier_garbage_collected  # noqa: F401 (a fixture)
from server_process import ServerProcess, rss_kib

pytestmark = pytest.mark.integration


def test_sigkill_the_server_mid_run_and_every_point_arrives_once(tmp_path):
    folder = str(tmp_path / "server")
    os.makedirs(folder)
    server = ServerProcess(folder, key=True).start()
    steps = 3000
    train = spawn_python(
        f"""
        import time, tracklet
        run = tracklet.init(project="durable", id="killme")
        print("started", flush=True)
        for i in range({steps}):
            run.log({{"loss": 1.0 / (i + 1), "i": float(i)}})
            time.sleep(0.002)
        run.finish()
        print("finished", flush=True)
        """,
        env={"TRACKLET_BASE_URL": server.url, "TRACKLET_API_KEY": server.key, "TRACKLET_FINISH_TIMEOUT": "60"},
    )
    log = tmp_path / "store" / "runs" / "killme" / "run.tlog"
    held = os.path.join(folder, "runs", "killme", "run.tlog")
    try:
        assert train.stdout.readline().strip() == "started"
        wait_until(lambda: os.path.exists(held) and os.path.getsize(held) > 20_000)
        server.kill()  # mid-run: the client keeps logging into its log
        rss_down = rss_kib(train.pid)
        size_down = os.path.getsize(log)
        time.sleep(3)
        assert os.path.getsize(log) > size_down + 20_000, "the run stopped logging while the server was down"
        assert rss_kib(train.pid) - rss_down < 8 * 1024  # flat: the backlog is on disk, not in memory
        assert train.poll() is None, "the run ended before the server came back: make it log longer"
        server.start()
        out, err = train.communicate(timeout=120)
        assert train.returncode == 0 and "finished" in out, err
        assert "Traceback" not in err
        with server.client() as http:
            run = http.get("/runs/killme").json()
            rows = [line for line in http.get("/runs/killme/history", params={"keys": "i"}).text.splitlines()]
    finally:
        train.kill()
        train.communicate()
        server.stop()
    with open(held, "rb") as f, open(log, "rb") as g:
        assert f.read() == g.read()  # the server's copy of the log, byte for byte: nothing lost, nothing doubled
    import json

    steps_seen = [json.loads(r)["_step"] for r in rows]
    values = [json.loads(r)["i"] for r in rows]
    assert steps_seen == list(range(steps)) and values == [float(i) for i in range(steps)]  # each point once, in the store
    assert run["state"] == "finished" and run["stored_offset"] == os.path.getsize(held)
