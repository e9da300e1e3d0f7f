"""Remote mode survives its server: SIGKILL the server mid-run while the run keeps logging, restart it
seconds later, and every point arrives exactly once, the run ends finished, and the training process's
memory stays flat meanwhile (the backlog waits on disk).

The server is tests/contract_server.py as a process (the log routes of docs/http-api.md, keeping what it
acknowledged on disk) until `tracklet server` lands; then the same test runs against it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from helpers import spawn_python, wait_until

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEY = "tlk_durability_key_0123456789"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server(port: int, folder: str) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, os.path.join(HERE, "contract_server.py"), str(port), folder, KEY],
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().startswith("http://")
    return p


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("VmRSS")).split()[1])


def test_sigkill_the_server_mid_run_and_every_point_arrives_once(tmp_path):
    port = _free_port()
    folder = str(tmp_path / "server")
    server = _server(port, folder)
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
        env={"TRACKLET_BASE_URL": f"http://127.0.0.1:{port}", "TRACKLET_API_KEY": KEY, "TRACKLET_FINISH_TIMEOUT": "60"},
    )
    try:
        assert train.stdout.readline().strip() == "started"
        log = tmp_path / "store" / "runs" / "killme" / "run.tlog"
        held = os.path.join(folder, "runs", "killme", "run.tlog")
        wait_until(lambda: os.path.exists(held) and os.path.getsize(held) > 20_000)
        server.send_signal(signal.SIGKILL)
        server.wait()
        server.stdout.close()
        rss_down = _rss_kib(train.pid)
        size_down = os.path.getsize(log)
        time.sleep(3)  # the run keeps logging into its log meanwhile
        assert os.path.getsize(log) > size_down + 20_000
        assert _rss_kib(train.pid) - rss_down < 8 * 1024  # flat: the backlog is on disk, not in memory
        server = _server(port, folder)
        out, err = train.communicate(timeout=120)
        assert train.returncode == 0 and "finished" in out, err
        assert "Traceback" not in err
    finally:
        train.kill()
        server.kill()
        server.wait()
        server.stdout.close()
    from tracklet.wal._wal import RecordType, WalReader, decode_history

    with open(held, "rb") as f, open(log, "rb") as g:
        assert f.read() == g.read()  # byte for byte: nothing lost, nothing doubled
    records = list(WalReader(held).records())
    seen = [decode_history(r.payload)[0] for r in records if r.type == RecordType.HISTORY]
    assert seen == list(range(steps))
    exit_record = [r.json() for r in records if r.type == RecordType.EXIT][-1]
    assert exit_record["state"] == "finished"
