"""Bad input at the server: each gets a 4xx with a message a person can act on, and the store is left as it was.

What is checked after every refused request: the bytes of the run's log on the server, the offset the
store says it holds, the run's stored rows (history, summary, config, state) and the list of runs.
Complements test_server_log.py (gaps, torn batches, another log under an id, body limits) and
test_server_security.py (keys per project, paths that leave the store).
"""

from __future__ import annotations

import os

import pytest

from server_client import ServerClient, earlier_garbage_collected, logged_run, make_app  # noqa: F401 (a fixture)
from tracklet.server.auth import KeyAuth
from tracklet.store.sql._auth import KeyStore
from tracklet.store.sql._engine import open_local
from tracklet.store.sql._remote_log import check_batch
from tracklet.store.sql._store import SqlStore

pytestmark = pytest.mark.unit


@pytest.fixture
def half_sent(tmp_path):
    """A run whose log the server holds up to a record boundary in the middle; a write key on its project."""
    run_id, data = logged_run(str(tmp_path / "src"), steps=40, project="team")
    root = str(tmp_path / "dst")
    app = make_app(root)
    keys = KeyStore(open_local(root))
    app.state.auth = KeyAuth(keys)
    key = keys.create("alice", [("team", "write")])["key"]
    api = ServerClient(app, key)
    bounds = check_batch(data, 0)
    cut = bounds[len(bounds) // 2]
    assert api.send_log(run_id, data[:cut]).status_code == 200
    return run_id, data, cut, bounds, root, app, api


def _state(root: str, run_id: str) -> tuple:
    store = SqlStore(root)
    run = store.run(run_id)
    with open(os.path.join(root, "runs", run_id, "run.tlog"), "rb") as f:
        held = f.read()
    rows = list(store.history(run_id))
    return (held, store.log_position(run_id), rows, run["summary"], run["config"], run["state"],
            [r["id"] for r in store.runs()], sorted(os.listdir(os.path.join(root, "runs"))))


def _refused(r, status: int, *words: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["ok"] is False and body["status"] == status
    assert "Traceback" not in body["error"] and len(body["error"]) > 20
    for w in words:
        assert w.lower() in body["error"].lower(), (w, body["error"])


def test_batches_from_the_future_and_the_past(half_sent):
    run_id, data, cut, bounds, root, _, api = half_sent
    before = _state(root, run_id)
    later = bounds[bounds.index(cut) + 2]
    r = api.send_log(run_id, data[later:], offset=later)  # the future: a gap past what is held
    _refused(r, 409, f"resend from {cut}")
    assert r.json()["offset"] == cut
    assert _state(root, run_id) == before
    earlier = bounds[bounds.index(cut) - 3]
    r = api.send_log(run_id, data[earlier:cut], offset=earlier)  # the past, wholly held: a replay, nothing added
    assert r.status_code == 200 and r.json() == {"ok": True, "offset": cut}
    assert _state(root, run_id) == before
    r = api.send_log(run_id, data[earlier + 1 : cut + 8], offset=earlier + 1)  # the past, off a record boundary
    _refused(r, 400)
    assert _state(root, run_id) == before
    inside = bounds[bounds.index(cut) + 1] - 4
    r = api.send_log(run_id, data[earlier:inside], offset=earlier)  # overlaps, then ends inside a record
    _refused(r, 400, "whole records")
    assert _state(root, run_id) == before
    r = api.send_log(run_id, data[earlier:], offset=earlier)  # overlapping the held bytes: only the new ones are stored
    assert r.json() == {"ok": True, "offset": len(data)}
    rows = list(SqlStore(root).history(run_id, ["loss"]))
    assert [row["_step"] for row in rows] == list(range(40))


def test_malformed_and_mistyped_log_requests(half_sent):
    run_id, data, cut, bounds, root, _, api = half_sent
    before = _state(root, run_id)
    nxt = bounds[bounds.index(cut) + 1]
    cases = [
        (api.send_log(run_id, data[cut:nxt], headers={"X-Tracklet-Offset": "twelve"}), 400, "integer"),
        (api.send_log(run_id, data[cut:nxt], headers={"X-Tracklet-Offset": "-5"}), 400, "0 or more"),
        (api.post(f"/api/v1/runs/{run_id}/log", content=data[cut:nxt]), 400, "X-Tracklet-Offset"),
        (api.send_log(run_id, data[cut:nxt], offset=cut, headers={"Content-Encoding": "gzip"}), 400, "gzip"),
        (api.send_log(run_id, data[cut:nxt], offset=cut, headers={"Content-Encoding": "br"}), 415, "gzip"),
        (api.send_log(run_id, b'{"loss": 1.0}', offset=cut), 400, ""),
        (api.send_log(run_id, data[cut:nxt], offset=cut, log_id="x" * 65), 400, "log id"),
        (api.send_log(run_id, data[cut:nxt], offset=cut, headers={"Content-Length": "lots"}), 400, ""),
    ]
    for r, status, word in cases:
        _refused(r, status, *([word] if word else []))
        assert _state(root, run_id) == before


def test_malformed_json_and_wrong_types_in_json_routes(half_sent):
    run_id, _, _, _, root, _, api = half_sent
    before = _state(root, run_id)
    edits = f"/api/v1/runs/{run_id}/edits"
    for body in (b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe", b""):
        _refused(api.post(edits, content=body, headers={"Content-Type": "application/json"}), 400, "JSON")
    for body in ({"records": "name=x"}, {"records": [["12", {"name": "x"}]]}, {"records": [[12, "x"]]},
                 {"records": [[12]]}, {"records": [[1, {"loss": 1.0}]]}, {"records": [[13, {"lr": 1}]]}, {}):
        _refused(api.post(edits, json=body), 400)
        assert _state(root, run_id) == before
    # a half-good list of edits stores none of it
    _refused(api.post(edits, json={"records": [[12, {"name": "renamed"}], [1, {"loss": 1.0}]]}), 400)
    assert SqlStore(root).run(run_id)["name"] != "renamed"
    for url, body in (("/api/v1/curves", b"{"), ("/api/v1/registry/m/links", b"[]"), ("/api/v1/blobs/presign", b"nope")):
        _refused(api.post(url, content=body, headers={"Content-Type": "application/json"}), 400)
    _refused(api.post("/api/v1/registry/m/links", json={"version_id": "seven"}), 400)
    for q in ("min_step=one", "max_step=1e3", "points=0", f"min_step={1 << 64}"):
        _refused(api.get(f"/api/v1/runs/{run_id}/curves?keys=loss&{q}"), 400)
        _refused(api.get(f"/api/v1/runs/{run_id}/history?{q}"), 400) if "points" not in q else None
    for number in ("%C2%B2", "%D9%A3", "-1", "1e3"):  # non-ASCII digits: '²' passes str.isdigit() and fails int()
        _refused(api.delete(f"/api/v1/artifact-versions/{number}"), 400, "version id is a number")
        _refused(api.get(f"/api/v1/artifact-versions/{number}/runs"), 400, "version id is a number")
    assert _state(root, run_id) == before


def test_unknown_run(half_sent):
    run_id, data, cut, bounds, root, _, api = half_sent
    before = _state(root, run_id)
    for path in ("", "/keys", "/history", "/curves?keys=loss", "/system", "/logs", "/artifacts?kind=output"):
        _refused(api.get(f"/api/v1/runs/nosuchrun{path}"), 404, "nosuchrun")
    _refused(api.post("/api/v1/runs/nosuchrun/edits", json={"records": [[12, {"name": "x"}]]}), 404, "nosuchrun")
    assert api.get("/api/v1/runs/nosuchrun/log").json() == {"ok": True, "offset": 0, "log_id": None}
    r = api.send_log("nosuchrun", data[cut:], offset=cut)  # the middle of a log the server never saw
    _refused(r, 409, "resend from 0")
    assert r.json()["offset"] == 0
    _refused(api.send_log("nosuchrun", data[16:cut], offset=0), 400)  # records without the log's header
    assert _state(root, run_id) == before
    assert not os.path.exists(os.path.join(root, "runs", "nosuchrun"))


def test_a_wrong_key_stores_nothing(half_sent, tmp_path):
    run_id, data, cut, _, root, app, api = half_sent
    before = _state(root, run_id)
    for key in (None, "tkl_wrong_key", api.headers["Authorization"].split()[1] + "x", "Basic abc"):
        client = ServerClient(app, key)
        if key == "Basic abc":
            client.headers = {"Authorization": "Basic abc"}
        _refused(client.send_log(run_id, data[cut:], offset=cut), 401)
        _refused(client.post("/api/v1/curves", json={"runs": [run_id], "keys": ["loss"]}), 401)
        assert _state(root, run_id) == before
    other_id, other = logged_run(str(tmp_path / "other"), project="elsewhere")  # a new run in a project the key may not write
    _refused(api.send_log(other_id, other), 403, "elsewhere")
    assert _state(root, run_id) == before
    assert not os.path.exists(os.path.join(root, "runs", other_id))
