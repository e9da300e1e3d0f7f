"""API keys, per-project access, and requests that try to leave the store."""

from __future__ import annotations

import logging
import os

import pytest

from server_client import ServerClient, earlier_garbage_collected, logged_run, make_app  # noqa: F401 (a fixture)
from tracklet.server.auth import KeyAuth
from tracklet.store.sql._auth import KeyStore
from tracklet.store.sql._engine import open_local

pytestmark = pytest.mark.unit


@pytest.fixture
def keyed(tmp_path):
    root = str(tmp_path / "dst")
    run_id, data = logged_run(str(tmp_path / "src"), project="team")
    app = make_app(root, auth=None)
    keys = KeyStore(open_local(root))
    app.state.auth = KeyAuth(keys)
    writer = keys.create("alice", [("team", "write")])["key"]
    reader = keys.create("bob", [("team", "read")])["key"]
    outsider = keys.create("eve", [("elsewhere", "write")])["key"]
    return run_id, data, app, keys, writer, reader, outsider


def test_keys_are_stored_hashed_listed_without_secret_and_revocable(keyed, tmp_path):
    _, _, _, keys, writer, _, _ = keyed
    with open(tmp_path / "dst" / "tracklet.db", "rb") as f:
        assert writer.encode() not in f.read()
    listed = keys.list()
    assert {k["user"] for k in listed} == {"alice", "bob", "eve"} and all("key" not in k for k in listed)
    assert keys.verify(writer).user == "alice"
    keys.revoke(writer.split("_")[1])
    assert keys.verify(writer) is None
    assert keys.verify(writer[:-1] + ("A" if writer[-1] != "A" else "B")) is None


def test_access_per_project(keyed):
    run_id, data, app, _, writer, reader, outsider = keyed
    anon = ServerClient(app)
    assert anon.get("/api/v1/health").status_code == 200  # public
    assert anon.get("/api/v1/openapi.json").status_code == 200
    r = anon.get("/api/v1/runs")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert ServerClient(app, "tkl_nope_nope").get("/api/v1/runs").status_code == 401
    assert ServerClient(app, reader).send_log(run_id, data).status_code == 403  # read only
    assert ServerClient(app, outsider).send_log(run_id, data).status_code == 403  # another project
    assert ServerClient(app, writer).send_log(run_id, data).status_code == 200
    assert ServerClient(app, reader).get(f"/api/v1/runs/{run_id}").status_code == 200
    assert ServerClient(app, outsider).get(f"/api/v1/runs/{run_id}").status_code == 403
    assert ServerClient(app, outsider).get("/api/v1/runs").json() == []  # lists show only what a key may read
    assert [p["name"] for p in ServerClient(app, reader).get("/api/v1/projects").json()] == ["team"]
    assert ServerClient(app, reader).post(f"/api/v1/runs/{run_id}/edits", json={"records": []}).status_code == 403
    chart = {"runs": [run_id], "keys": ["loss"], "points": 10}
    assert ServerClient(app, reader).post("/api/v1/curves", json=chart).status_code == 200
    assert ServerClient(app, outsider).post("/api/v1/curves", json=chart).status_code == 403  # each run's project checked


def test_a_key_is_never_taken_from_the_url_nor_echoed(keyed, caplog):
    _, _, app, _, writer, _, _ = keyed
    caplog.set_level(logging.DEBUG)
    r = ServerClient(app).get(f"/api/v1/runs?api_key={writer}")
    assert r.status_code == 400 and writer not in r.text
    r = ServerClient(app, writer + "x").get("/api/v1/runs")
    assert r.status_code == 401 and writer not in r.text
    server_lines = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("tracklet", "uvicorn", "starlette")))
    assert writer not in server_lines  # (the test's own httpx client logs the URL it was given)


@pytest.mark.parametrize("path", [
    "/api/v1/runs/..%2F..%2Fetc/log", "/api/v1/runs/%2Fetc%2Fpasswd/log", "/api/v1/runs/../../etc/log",
    "/api/v1/runs/.hidden/log", "/api/v1/runs/a%00b/log",
])
def test_run_ids_that_would_leave_the_store_are_refused(tmp_path, path):
    api = ServerClient(make_app(str(tmp_path / "dst")))
    for method in ("GET", "POST"):
        r = api.request(method, path, content=b"x", headers={"X-Tracklet-Offset": "0"})
        assert r.status_code in (400, 404, 405) and r.json()["ok"] is False
    assert sorted(os.listdir(tmp_path / "dst")) == [n for n in sorted(os.listdir(tmp_path / "dst")) if n != "etc"]
    assert not (tmp_path / "etc").exists()


def test_a_run_folder_that_is_a_link_is_not_followed(tmp_path):
    run_id, data = logged_run(str(tmp_path / "src"))
    root = tmp_path / "dst"
    api = ServerClient(make_app(str(root)))
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "runs").mkdir()
    os.symlink(outside, root / "runs" / run_id)
    r = api.send_log(run_id, data)
    assert r.status_code == 400 and "symbolic link" in r.json()["error"]
    assert os.listdir(outside) == []


def test_blob_digest_paths_and_artifact_names_are_checked(tmp_path):
    api = ServerClient(make_app(str(tmp_path / "dst")))
    for bad in ("..%2F..%2Ftracklet.db", "../x", "a" * 63 + "/", "0" * 63 + "g"):
        assert api.get(f"/api/v1/blobs/{bad}").status_code in (400, 404)
    assert api.get("/api/v1/artifacts/p/..").status_code in (400, 404)


def test_deleting_a_run_needs_write_access_to_its_project(keyed):
    run_id, data, app, _, writer, reader, outsider = keyed
    assert ServerClient(app, writer).send_log(run_id, data).status_code == 200
    assert ServerClient(app, reader).delete(f"/api/v1/runs/{run_id}").status_code == 403
    assert ServerClient(app, outsider).delete(f"/api/v1/runs/{run_id}").status_code == 403
    assert ServerClient(app).delete(f"/api/v1/runs/{run_id}").status_code == 401
    assert ServerClient(app, reader).get(f"/api/v1/runs/{run_id}").status_code == 200  # still there
    assert ServerClient(app, writer).delete(f"/api/v1/runs/{run_id}").json() == {"ok": True, "removed_blobs": 0}
    assert ServerClient(app, reader).get(f"/api/v1/runs/{run_id}").status_code == 404
    assert ServerClient(app, writer).send_log(run_id, data).status_code == 200  # sent again whole, it is a run again
