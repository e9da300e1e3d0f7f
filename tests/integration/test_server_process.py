"""``tracklet server`` as a real process: a real run's log posted in two batches (one replayed), read back."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import httpx
import pytest

from helpers import wait_until
from server_client import earlier_garbage_collected, logged_run  # noqa: F401 (a fixture)
from tracklet.store.sql._remote_log import check_batch

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_run_sent_to_a_server_process_reads_back(tmp_path):
    run_id, data = logged_run(str(tmp_path / "src"), steps=100)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "tracklet", "server", "--dir", str(tmp_path / "served"), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert f"http://127.0.0.1:{port}" in server.stdout.readline()
        base = f"http://127.0.0.1:{port}/api/v1"

        def up() -> bool:
            try:
                return httpx.get(f"{base}/health").status_code == 200
            except httpx.TransportError:
                return False

        wait_until(up, timeout=30)
        with httpx.Client(base_url=base) as http:
            bounds = check_batch(data, 0)
            cut = bounds[len(bounds) // 2]
            for start, stop in ((0, cut), (0, cut), (cut, len(data))):  # the second is a replay
                r = http.post(f"/runs/{run_id}/log", content=data[start:stop], headers={"X-Tracklet-Offset": str(start)})
                assert r.status_code == 200, r.text
            assert r.json() == {"ok": True, "offset": len(data)}
            assert http.get(f"/runs/{run_id}/log").json()["offset"] == len(data)
            rows = http.get(f"/runs/{run_id}/history", params={"keys": "loss"}).text.splitlines()
            assert len(rows) == 100
            assert http.get(f"/runs/{run_id}").json()["state"] == "finished"
            assert http.get("/ready").json() == {"ok": True}
    finally:
        server.send_signal(signal.SIGINT)
        try:
            _, err = server.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            _, err = server.communicate()
    assert server.returncode in (0, -signal.SIGINT, 130), err
    with open(os.path.join(tmp_path, "served", "runs", run_id, "run.tlog"), "rb") as f:
        assert f.read() == data
