"""The write path over HTTP: GET/POST /api/v1/runs/{id}/log as docs/http-api.md says."""

from __future__ import annotations

import gzip
import os

import pytest

from server_client import ServerClient, earlier_garbage_collected, logged_run, make_app  # noqa: F401 (a fixture)
from tracklet.store.sql._remote_log import check_batch

pytestmark = pytest.mark.unit


@pytest.fixture
def setup(tmp_path):
    run_id, data = logged_run(str(tmp_path / "src"))
    return run_id, data, ServerClient(make_app(str(tmp_path / "dst")))


def test_a_log_sent_in_batches_with_a_replay_reads_back_whole(setup):
    run_id, data, api = setup
    assert api.get(f"/api/v1/runs/{run_id}/log").json() == {"ok": True, "offset": 0, "log_id": None}
    bounds = check_batch(data, 0)
    cut = bounds[len(bounds) // 2]
    assert api.send_log(run_id, data[:cut]).json() == {"ok": True, "offset": cut}
    assert api.send_log(run_id, data[:cut]).json() == {"ok": True, "offset": cut}  # replayed
    r = api.send_log(run_id, gzip.compress(data[cut:]), offset=cut, headers={"Content-Encoding": "gzip"})
    assert r.json() == {"ok": True, "offset": len(data)}
    position = api.get(f"/api/v1/runs/{run_id}/log").json()
    assert position["offset"] == len(data) and position["log_id"]
    rows = api.get(f"/api/v1/runs/{run_id}/history?keys=loss").text.splitlines()
    assert len(rows) == 20
    run = api.get(f"/api/v1/runs/{run_id}").json()
    assert run["state"] == "finished" and run["summary"]["best"] == 7 and run["project"] == "sent"


def test_gap_other_log_and_bad_bytes(setup, tmp_path):
    run_id, data, api = setup
    bounds = check_batch(data, 0)
    r = api.send_log(run_id, data[bounds[3]:], offset=bounds[3])
    assert r.status_code == 409 and r.json()["offset"] == 0 and r.json()["ok"] is False
    r = api.send_log(run_id, data[: bounds[3] + 3])
    assert r.status_code == 400 and "whole records" in r.json()["error"]
    assert api.send_log(run_id, b"not a log at all, not at all").status_code == 400
    assert api.post(f"/api/v1/runs/{run_id}/log", content=data).status_code == 400  # no X-Tracklet-Offset
    assert api.send_log(run_id, data).status_code == 200
    _, other = logged_run(str(tmp_path / "other"), id=run_id)
    r = api.send_log(run_id, other)
    assert r.status_code == 409 and "--new-id" in r.json()["error"] and r.json()["offset"] == len(data)
    r = api.send_log(run_id, data, log_id="someone-else")
    assert r.status_code == 400  # the header contradicts the log's own first record


def test_bytes_kept_but_not_stored_are_answered_as_held(setup, monkeypatch, caplog):
    from tracklet._errors import SyncError
    from tracklet.store.sql import _remote_log

    run_id, data, api = setup

    def refuse(engine, path, run_id, **kwargs):
        raise SyncError("the store refused it")

    monkeypatch.setattr(_remote_log, "ingest_run", refuse)
    r = api.send_log(run_id, data)
    assert r.status_code == 200 and r.json()["offset"] == len(data)  # kept in the run's log: not "another log"
    assert "kept but not stored: the store refused it" in caplog.text
    monkeypatch.undo()
    assert api.send_log(run_id, data).json()["offset"] == len(data)  # a replay stores what the log holds
    assert len(api.get(f"/api/v1/runs/{run_id}/history?keys=loss").text.splitlines()) == 20


def test_body_limit_and_gzip_bomb_get_413(tmp_path):
    run_id, data = logged_run(str(tmp_path / "src"))
    api = ServerClient(make_app(str(tmp_path / "dst"), max_body=1024))
    r = api.send_log(run_id, data)
    assert r.status_code == 413 and "--max-body" in r.json()["error"]
    bomb = gzip.compress(b"\0" * (1 << 20))
    r = api.send_log(run_id, bomb, headers={"Content-Encoding": "gzip"})
    assert r.status_code == 413
    assert not os.path.exists(tmp_path / "dst" / "runs" / run_id)
