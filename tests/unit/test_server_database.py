"""The server over a database store (``SqlStore(url=...)`` on PostgreSQL): the log goes straight into the
database (no log file anywhere), with the folder server's answers; the media route; presign on a folder."""

from __future__ import annotations

import os

import pytest

from server_client import ServerClient, earlier_garbage_collected, logged_run, make_app  # noqa: F401 (a fixture)
from tracklet.store.sql._migrate import migrate
from tracklet.store.sql._remote_log import check_batch


@pytest.fixture
def db_app(pg_url, tmp_path):
    from tracklet.artifacts.storage import open_blob_store
    from tracklet.server import create_app
    from tracklet.store.sql._store import SqlStore

    migrate(pg_url)
    blobs = open_blob_store(str(tmp_path / "bucket"), root=str(tmp_path / "scratch"))
    store = SqlStore(url=pg_url, blobs=blobs)
    yield ServerClient(create_app(store, blobs=blobs)), store
    store.close()


def test_a_log_sent_in_batches_is_stored_once_with_no_file(db_app, tmp_path):
    http, store = db_app
    run_id, data = logged_run(str(tmp_path / "src"), steps=60)
    bounds = check_batch(data, 0)
    cut = bounds[len(bounds) // 2]
    held = 0
    for start, stop in ((0, cut), (0, cut), (bounds[3], cut), (cut, len(data)), (0, len(data))):  # replays and overlaps
        r = http.send_log(run_id, data[start:stop], offset=start)
        held = max(held, stop)
        assert r.status_code == 200, r.text
        assert r.json() == {"ok": True, "offset": held}
    assert http.get(f"/api/v1/runs/{run_id}/log").json()["offset"] == len(data)
    rows = http.get(f"/api/v1/runs/{run_id}/history", params={"keys": "loss"}).text.splitlines()
    assert len(rows) == 60
    run = http.get(f"/api/v1/runs/{run_id}").json()
    assert run["state"] == "finished" and run["summary"]["best"] == 7 and run["stored_offset"] == len(data)
    assert not os.path.exists(tmp_path / "scratch" / "runs")  # nothing kept on the server's disk


def test_a_gap_another_log_and_garbage_are_refused_as_the_folder_server_does(db_app, tmp_path):
    http, _ = db_app
    run_id, data = logged_run(str(tmp_path / "src"), steps=30)
    bounds = check_batch(data, 0)
    r = http.send_log(run_id, data[bounds[4]:], offset=bounds[4])
    assert r.status_code == 409 and r.json()["offset"] == 0, r.text
    assert http.send_log(run_id, b"not a log at all", offset=0).status_code == 400
    assert http.send_log(run_id, data[: bounds[5]]).status_code == 200
    r = http.send_log(run_id, data[bounds[5] + 3:], offset=bounds[5] + 3)  # not a record boundary: not whole records
    assert r.status_code in (400, 409), r.text
    _, other = logged_run(str(tmp_path / "other"), steps=5, id=run_id)  # another log under the same id
    r = http.send_log(run_id, other)
    assert r.status_code == 409 and "--new-id" in r.json()["error"] and r.json()["offset"] == bounds[5]


def test_media_entries_and_their_blobs_are_served(tmp_path):
    import tracklet

    folder = str(tmp_path / "served")
    run = tracklet.init(project="m", dir=folder)
    run.log({"samples": tracklet.Table(columns=["a"], data=[[1], [2]])})
    run.finish()
    http = ServerClient(make_app(folder))
    entries = http.get(f"/api/v1/runs/{run.id}/media", params={"key": "samples"}).json()
    assert [(e["key"], e["kind"]) for e in entries] == [("samples", "table")]
    r = http.get(f"/api/v1/blobs/{entries[0]['digest']}")
    assert r.status_code == 200 and len(r.content) == entries[0]["size"]
    assert http.get(f"/api/v1/runs/{run.id}/media", params={"key": "nothing"}).json() == []
    assert http.get("/api/v1/runs/nope/media").status_code == 404


def test_presign_is_404_on_a_folder_blob_store(tmp_path):
    http = ServerClient(make_app(str(tmp_path / "served")))
    r = http.post("/api/v1/blobs/presign", json={"digests": ["a" * 64], "method": "PUT"})
    assert r.status_code == 404 and "GET/PUT /api/v1/blobs" in r.json()["error"]
    assert http.post("/api/v1/blobs/presign", json={"digests": ["../x"], "method": "GET"}).status_code == 400
