"""Remote mode on the client: settings and login, the uploader's bookkeeping and failures, sync --to.

Against ``tests/contract_server.py``, a loopback HTTP server that behaves as docs/http-api.md's log
routes (idempotent by offset, 409 for a gap, 400 for bytes that are not whole records).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time

import pytest

import tracklet
from contract_server import ContractServer
from helpers import wait_until
from tracklet._settings import resolve_settings

KEY = "tlk_test_secret_key_0123456789"


@pytest.fixture
def server():
    with ContractServer(key=KEY) as srv:
        yield srv


@pytest.fixture
def xdg(tmp_path, monkeypatch):
    monkeypatch.delenv("TRACKLET_CREDENTIALS_FILE")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "tracklet" / "credentials"


def remote_env(monkeypatch, srv, key=KEY, timeout="10"):
    monkeypatch.setenv("TRACKLET_BASE_URL", srv.url)
    monkeypatch.setenv("TRACKLET_API_KEY", key)
    monkeypatch.setenv("TRACKLET_FINISH_TIMEOUT", timeout)


def log_bytes(run) -> bytes:
    with open(os.path.join(run.dir, "run.tlog"), "rb") as f:
        return f.read()


# -- settings and login --------------------------------------------------------------------------------
def test_remote_is_the_default_only_with_an_explicit_base_url_or_a_login(monkeypatch, xdg):
    assert resolve_settings({}).mode == "local"
    monkeypatch.setenv("WANDB_BASE_URL", "https://api.wandb.ai")  # a wandb user's: never followed
    monkeypatch.setenv("WANDB_API_KEY", "wandb-key")
    s = resolve_settings({})
    assert (s.mode, s.base_url, s.api_key) == ("local", None, None)
    from tracklet.remote._credentials import store_key

    store_key("http://other:8080", "k1", make_default=False)  # a key for a server is not a default
    assert resolve_settings({}).mode == "local"
    store_key("http://srv:8080/", "k2")  # what `tracklet login` does
    s = resolve_settings({})
    assert (s.mode, s.base_url, s.api_key) == ("remote", "http://srv:8080", "k2")
    assert resolve_settings({"mode": "local"}).mode == "local"
    assert resolve_settings({"mode": "online"}).mode == "remote"  # wandb's word for "to the server"
    monkeypatch.setenv("TRACKLET_BASE_URL", "http://env:1")
    monkeypatch.setenv("TRACKLET_API_KEY", "k3")
    s = resolve_settings({})
    assert (s.mode, s.base_url, s.api_key, s.sources["api_key"]) == ("remote", "http://env:1", "k3", "TRACKLET_API_KEY")
    assert "k3" not in repr(s)
    assert oct(stat.S_IMODE(os.stat(xdg).st_mode)) == "0o600"


def test_remote_mode_without_a_server_and_keys_in_urls_are_refused(monkeypatch):
    with pytest.raises(tracklet.UsageError, match="tracklet login URL"):
        resolve_settings({"mode": "remote"})
    monkeypatch.setenv("TRACKLET_BASE_URL", "http://user:sekrit@host:8080")
    with pytest.raises(tracklet.UsageError, match="never in the URL") as e:
        resolve_settings({})
    assert "sekrit" not in str(e.value)


def test_login_checks_the_key_and_writes_the_credentials_file_0600(server, xdg):
    cli = [sys.executable, "-m", "tracklet", "login", server.url]
    bad = subprocess.run([*cli, "--key", "wrong"], capture_output=True, text=True)
    assert bad.returncode == 1 and "refused this key (401)" in bad.stderr and not xdg.exists()
    good = subprocess.run([*cli, "--key", KEY], capture_output=True, text=True, env={**os.environ})
    assert good.returncode == 0, good.stderr
    assert KEY not in good.stdout + good.stderr
    assert oct(stat.S_IMODE(os.stat(xdg).st_mode)) == "0o600"
    s = resolve_settings({})
    assert (s.mode, s.base_url, s.api_key) == ("remote", server.url, KEY)


def test_wandb_login_stores_nothing_without_a_server_and_logs_in_with_a_host(server, xdg):
    assert tracklet.login(key="a-wandb-key") is True
    assert not xdg.exists() and server.requests == []  # the key went nowhere
    with pytest.raises(tracklet.UsageError, match="refused"):
        tracklet.login(host=server.url, key="wrong")
    assert tracklet.login(host=server.url, key=KEY) is True
    assert resolve_settings({}).api_key == KEY


# -- the uploader --------------------------------------------------------------------------------------
def test_a_remote_run_arrives_byte_for_byte_and_the_sent_offset_is_kept(server, monkeypatch):
    remote_env(monkeypatch, server)
    run = tracklet.init(project="p", config={"lr": 0.1})
    for i in range(5000):
        run.log({"loss": 1 / (i + 1), "acc": i / 5000})
    run.finish()
    local = log_bytes(run)
    assert server.held(run.id) == local
    from tracklet.remote._uploader import read_sent

    assert read_sent(os.path.join(run.dir, "run.tlog"), server.url) == len(local)
    for _, headers, _ in server.log_posts():
        assert headers["Authorization"] == f"Bearer {KEY}" and headers["Content-Encoding"] == "gzip"
        assert KEY not in headers.get("X-Tracklet-Log-Id", "")
    assert all(KEY not in path for _, path, _, _ in server.requests)


def test_batches_end_on_record_boundaries_and_chain_by_offset(server, monkeypatch):
    remote_env(monkeypatch, server)
    monkeypatch.setenv("TRACKLET_MODE", "offline")
    run = tracklet.init(project="p")
    for i in range(2000):
        run.log({"loss": float(i), "text": "x" * (i % 50)})
    run.finish()
    from tracklet.remote._http import Client
    from tracklet.remote._sender import LogSender

    sender = LogSender(Client(server.url, KEY), os.path.join(run.dir, "run.tlog"), run.id, max_batch=1000)
    sent, already = sender.send_all()
    assert already == 0 and sent == len(log_bytes(run))
    offsets = [int(h["X-Tracklet-Offset"]) for _, h, _ in server.log_posts()]
    assert len(offsets) > 50 and offsets[0] == 0 and offsets == sorted(set(offsets))  # contiguous, never resent
    assert server.held(run.id) == log_bytes(run)  # the server refuses (400) any batch that is not whole records


def test_a_restart_resumes_from_the_servers_offset(server, monkeypatch):
    remote_env(monkeypatch, server)
    monkeypatch.setenv("TRACKLET_MODE", "offline")
    run = tracklet.init(project="p", id="resumeme")
    for i in range(3000):
        run.log({"loss": float(i)})
    run.finish()
    data = log_bytes(run)
    from tracklet.wal._wal import WalReader

    middle = [r.end for r in WalReader(os.path.join(run.dir, "run.tlog")).records()][1500]
    server.append(run.id, data[:middle])  # the server holds the first half from an earlier process
    monkeypatch.setenv("TRACKLET_MODE", "remote")
    run = tracklet.init(project="p", id="resumeme", resume="allow")
    run.log({"loss": -1.0})
    run.finish()
    first_post = int(server.log_posts()[0][1]["X-Tracklet-Offset"])
    assert first_post == middle
    assert server.held(run.id) == log_bytes(run)


def test_a_stale_sent_file_is_corrected_by_the_servers_409(server, monkeypatch):
    remote_env(monkeypatch, server)
    monkeypatch.setenv("TRACKLET_MODE", "offline")
    run = tracklet.init(project="p")
    for i in range(100):
        run.log({"loss": float(i)})
    run.finish()
    from tracklet.remote._http import Client
    from tracklet.remote._sender import LogSender

    sender = LogSender(Client(server.url, KEY), os.path.join(run.dir, "run.tlog"), run.id)
    sender.position, sender.confirmed = 2000, True  # believes the server holds more than it does (it lost them)
    assert sender.send_next() == 0 and sender.position == 0  # 409 with the server's offset
    sender.send_next()
    assert server.held(run.id) == log_bytes(run)


def test_transient_failures_are_retried_honouring_retry_after(server, monkeypatch):
    remote_env(monkeypatch, server)
    server.fail_next(503, times=2, retry_after=0.4)
    server.fail_next(429, times=1, retry_after=0.4)
    server.fail_next(0, times=1)  # a dropped connection
    t0 = time.monotonic()
    run = tracklet.init(project="p")
    run.log({"loss": 1.0})
    run.finish()
    assert time.monotonic() - t0 >= 1.2  # three Retry-After waits of 0.4 s, at least
    assert server.held(run.id) == log_bytes(run)


def test_backoff_is_exponential_with_jitter_and_reads_both_retry_after_forms():
    from email.utils import formatdate

    from tracklet.remote._http import backoff_delay, retry_after

    assert retry_after("3") == 3.0 and retry_after(None) is None and retry_after("soon") is None
    assert 8 <= retry_after(formatdate(time.time() + 10, usegmt=True)) <= 10
    delays = [backoff_delay(8) for _ in range(200)]
    assert max(delays) <= 30.0 and min(delays) < max(delays)  # capped, jittered
    assert all(backoff_delay(0) <= 0.5 for _ in range(50))
    assert backoff_delay(0, hint=2.0) >= 2.0


def test_a_refused_key_is_said_once_and_the_data_waits_for_sync(server, monkeypatch, tmp_path):
    remote_env(monkeypatch, server, key="wrong-key-xyz")
    with pytest.warns(tracklet.TrackletWarning) as caught:
        run = tracklet.init(project="p")
        for i in range(100):
            run.log({"loss": float(i)})
        wait_until(lambda: run._uploader.failed)
        t0 = time.monotonic()
        run.finish()
        assert time.monotonic() - t0 < 1.0  # nothing to wait for: it cannot succeed
    texts = [str(w.message) for w in caught]
    refused = [t for t in texts if "401" in t and "stops sending" in t]
    assert len(refused) == 1 and "tracklet sync" in refused[0]
    unsent = [t for t in texts if "did not reach" in t]
    assert len(unsent) == 1 and f"tracklet sync {run.dir} --to {server.url}" in unsent[0]
    assert all("wrong-key-xyz" not in t for t in texts)
    assert server.held(run.id) == b""
    # fixed key: the exact command from the message sends it, and a second time sends nothing
    monkeypatch.setenv("TRACKLET_API_KEY", KEY)
    cmd = [sys.executable, "-m", "tracklet", "sync", run.dir, "--to", server.url]
    first = subprocess.run(cmd, capture_output=True, text=True)
    assert first.returncode == 0 and "sent 1 run(s)" in first.stdout, first.stderr
    second = subprocess.run(cmd, capture_output=True, text=True)
    assert "sent 0 run(s)" in second.stdout and "1 already there" in second.stdout
    assert server.held(run.id) == log_bytes(run)


def test_finish_waits_a_bounded_time_then_names_the_sync_command(monkeypatch):
    srv = ContractServer(key=KEY).start()
    remote_env(monkeypatch, srv, timeout="0.5")
    run = tracklet.init(project="p")
    wait_until(lambda: srv.log_posts())
    srv.stop()  # the server goes away for good
    for i in range(1000):
        run.log({"loss": float(i)})  # never raises: the backlog waits on disk
    with pytest.warns(tracklet.TrackletWarning, match=r"did not reach") as caught:
        t0 = time.monotonic()
        run.finish()
        took = time.monotonic() - t0
    assert took < 2.0
    text = [str(w.message) for w in caught if "did not reach" in str(w.message)][0]
    assert f"tracklet sync {run.dir} --to {srv.url}" in text and "bytes of run" in text


def test_a_different_log_under_the_same_id_is_refused_and_new_id_sends_it(server, monkeypatch, tmp_path):
    remote_env(monkeypatch, server)
    monkeypatch.setenv("TRACKLET_MODE", "offline")
    a = tracklet.init(project="p", id="same", dir=str(tmp_path / "a"))
    a.log({"x": 1.0})
    a.finish()
    b = tracklet.init(project="p", id="same", dir=str(tmp_path / "b"))
    b.log({"x": 2.0})
    b.finish()
    cmd = [sys.executable, "-m", "tracklet", "sync", "--to", server.url]
    assert subprocess.run([*cmd, a.dir], capture_output=True, text=True).returncode == 0
    refused = subprocess.run([*cmd, b.dir], capture_output=True, text=True)
    assert refused.returncode == 1 and "--new-id" in refused.stderr
    renamed = subprocess.run([*cmd, b.dir, "--new-id"], capture_output=True, text=True)
    assert renamed.returncode == 0 and "is stored as same-" in renamed.stdout
    again = subprocess.run([*cmd, b.dir, "--new-id"], capture_output=True, text=True)
    assert "1 already there" in again.stdout  # the second sync goes on under the id the first one chose
    assert server.held("same") == log_bytes(a)


def test_the_key_is_not_in_the_runs_log(server, monkeypatch):
    remote_env(monkeypatch, server)
    monkeypatch.setattr(sys, "argv", ["train.py", "--api-key", KEY, f"--token={KEY}"])
    run = tracklet.init(project="p")
    run.log({"loss": 1.0})
    wait_until(lambda: b"argv" in log_bytes(run))  # the environment record
    run.finish()
    assert KEY.encode() not in log_bytes(run)


def test_the_uploader_module_and_init_do_not_import_requests():
    code = (
        "import sys, tracklet.remote._uploader, tracklet._settings;"
        "tracklet._settings.resolve_settings({'base_url': 'http://x:1'});"
        "print('requests' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
