"""Every read route answers what the store answers, for a real run logged with init/log/finish."""

from __future__ import annotations

import json
import math

import pytest

import tracklet
from server_client import ServerClient, earlier_garbage_collected, make_app  # noqa: F401 (a fixture)
from tracklet.store.sql._store import SqlStore

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One store with a run (history, config, output, an artifact used and logged, a registry link), served."""
    root = str(tmp_path_factory.mktemp("served") / "store")
    data = tmp_path_factory.mktemp("files")
    (data / "a.txt").write_text("a" * 1000)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRACKLET_WORKER", "off")
        mp.setenv("TRACKLET_SILENT", "true")
        mp.setenv("TRACKLET_SYSTEM_INTERVAL", "0")
        run = tracklet.init(project="p", dir=root, config={"lr": 0.1})
        for i in range(50):
            run.log({"loss": 1.0 / (i + 1), "nan": math.nan if i == 3 else float(i)})
        art = tracklet.Artifact("data", type="dataset")
        art.add_file(str(data / "a.txt"))
        version = run.log_artifact(art, aliases=["best"]).wait()
        run.link_artifact(version, "registry/chat", aliases=["staging"])
        print("a line of output")
        run.finish()
    return run.id, root, ServerClient(make_app(root)), SqlStore(root)


def _json(r):
    assert r.status_code == 200, r.text
    return r.json()


def test_projects_runs_and_run(served):
    run_id, _, api, store = served
    assert _json(api.get("/api/v1/projects")) == store.projects()
    assert [r["id"] for r in _json(api.get("/api/v1/runs?project=p"))] == [run_id]
    got = _json(api.get(f"/api/v1/runs/{run_id}"))
    assert got == store.run(run_id) and got["config"] == {"lr": 0.1} and got["state"] == "finished"
    assert api.get("/api/v1/runs/nosuchrun").status_code == 404
    assert _json(api.get(f"/api/v1/problems?run_id={run_id}")) == []
    assert _json(api.get("/api/v1/problems")) == []


def test_history_streams_ndjson_and_keeps_nan(served):
    run_id, _, api, store = served
    r = api.get(f"/api/v1/runs/{run_id}/history?keys=loss&keys=nan&min_step=2&max_step=10")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    rows = [json.loads(line) for line in r.text.splitlines()]
    assert [row["_step"] for row in rows] == list(range(2, 11))
    assert math.isnan(rows[1]["nan"])
    assert rows[2:] == list(store.history(run_id, ["loss", "nan"], 2, 10))[2:]  # past the NaN (never equal to itself)
    assert len(api.get(f"/api/v1/runs/{run_id}/history").text.splitlines()) == 50


def test_keys_curves_system_logs(served):
    run_id, _, api, store = served
    assert _json(api.get(f"/api/v1/runs/{run_id}/keys")) == store.keys(run_id)
    curves = _json(api.get(f"/api/v1/runs/{run_id}/curves?keys=loss&points=10"))
    assert curves == json.loads(json.dumps(store.curves(run_id, ["loss"], points=10)))
    assert _json(api.get(f"/api/v1/runs/{run_id}/system")) == store.system_metrics(run_id)
    logs = _json(api.get(f"/api/v1/runs/{run_id}/logs"))
    assert any("a line of output" in entry["text"] for entry in logs)
    assert _json(api.get(f"/api/v1/runs/{run_id}/logs?after={logs[-1]['seq']}")) == []


def test_curves_of_many_runs_in_one_request(served):
    run_id, _, api, store = served
    want = json.loads(json.dumps(store.curves_of_runs([run_id], ["loss"], points=10)))
    assert _json(api.get(f"/api/v1/curves?runs={run_id}&keys=loss&points=10")) == want
    assert _json(api.post("/api/v1/curves", json={"runs": [run_id, run_id], "keys": ["loss"], "points": 10})) == want
    full = _json(api.post("/api/v1/curves", json={"runs": [run_id], "keys": ["loss", "nope"], "min_step": 5, "max_step": 9}))
    assert full[run_id]["loss"]["x"] == [5, 6, 7, 8, 9] and "nope" not in full[run_id]
    assert set(full[run_id]["loss"]) == {"x", "y"}  # min and max would repeat y at full resolution
    assert set(_json(api.get(f"/api/v1/runs/{run_id}/curves?keys=loss"))["loss"]) == {"x", "y"}
    for bad in ({"runs": [], "keys": ["loss"]}, {"runs": [run_id]}, {"runs": [run_id], "keys": ["loss"], "points": "10"},
                {"runs": [run_id], "keys": ["loss"], "points": 0}, {"runs": ["../x"], "keys": ["loss"]}, [run_id]):
        r = api.post("/api/v1/curves", json=bad)
        assert r.status_code == 400 and r.json()["error"], bad
    for bad in ("nine", True, None and 0):  # a window on the x-axis is a finite number
        r = api.post("/api/v1/curves", json={"runs": [run_id], "keys": ["loss"], "x": "_runtime", "min_x": bad})
        assert bad is None or (r.status_code == 400 and "min_x must be a finite number" in r.json()["error"]), bad
    assert api.get(f"/api/v1/curves?runs={run_id}&keys=loss&max_x=inf").status_code == 400
    runtime = store.curves(run_id, ["loss"], x="_runtime")["loss"]["x"]
    lo, hi = runtime[len(runtime) // 4], runtime[len(runtime) // 2]
    full = store.curves(run_id, ["loss"], x="_runtime", min_x=lo, max_x=hi)["loss"]
    want = {run_id: {"loss": {"x": full["x"], "y": full["y"]}}}  # full resolution: min and max left out
    assert _json(api.post("/api/v1/curves", json={"runs": [run_id], "keys": ["loss"], "x": "_runtime", "min_x": lo, "max_x": hi})) == want
    assert _json(api.get(f"/api/v1/runs/{run_id}/curves?keys=loss&x=_runtime&min_x={lo}&max_x={hi}")) == want[run_id]
    assert full["x"] and all(lo <= x <= hi for x in full["x"])
    r = api.get("/api/v1/curves?runs=nosuchrun&keys=loss")
    assert r.status_code == 400 and "nosuchrun" in r.json()["error"]
    assert api.get("/api/v1/curves?keys=loss").status_code == 400


def test_artifacts_lineage_and_registry(served):
    run_id, _, api, store = served
    out = _json(api.get(f"/api/v1/runs/{run_id}/artifacts?kind=output"))
    assert [v["name"] for v in out] == ["data"]
    vid, digest = out[0]["id"], out[0]["digest"]
    assert _json(api.get("/api/v1/artifact-collections?project=p"))[0]["name"] == "data"
    assert [v["id"] for v in _json(api.get("/api/v1/artifacts/p/data"))] == [vid]
    assert _json(api.get("/api/v1/artifacts/p/data/best"))["id"] == vid
    assert _json(api.get(f"/api/v1/artifacts/p/data/digest/{digest}"))["id"] == vid
    assert api.get("/api/v1/artifacts/p/data/v9").status_code == 404
    assert _json(api.get(f"/api/v1/artifact-versions/{vid}/runs?kind=output")) == [run_id]
    assert [m["name"] for m in _json(api.get("/api/v1/registry"))] == ["chat"]
    assert _json(api.get("/api/v1/registry/chat/versions/staging"))["id"] == vid
    assert _json(api.get("/api/v1/registry/chat/links")) == [[i, v] for i, v in store.registry_links("chat")]
    assert _json(api.get("/api/v1/registry/chat/aliases")) == store.registry_aliases("chat")
    assert len(_json(api.get("/api/v1/registry/chat/audit"))) >= 1
    entry = next(iter(out[0]["manifest"]["entries"].values())) if isinstance(out[0]["manifest"].get("entries"), dict) else None
    if entry and entry.get("digest"):
        blob = api.get(f"/api/v1/blobs/{entry['digest']}")
        assert blob.status_code == 200 and blob.content == b"a" * 1000


def test_registry_link_unlink_and_delete(served):
    _, _, api, store = served
    vid = store.artifact("p", None, "data", "latest")["id"]
    assert _json(api.post("/api/v1/registry/other/links", json={"version_id": vid, "aliases": ["prod"], "actor": "me"})) == {"ok": True}
    assert _json(api.get("/api/v1/registry/other/aliases")) == {"prod": 0}
    assert _json(api.delete(f"/api/v1/registry/other/links/{vid}?actor=me")) == {"ok": True}
    assert _json(api.get("/api/v1/registry/other/links")) == []
    missing = api.post("/api/v1/registry/other/links", json={"version_id": 999999, "aliases": [], "actor": "me"})
    assert missing.status_code == 400 and "artifact version id 999999 is not in this store" in missing.json()["error"]
    assert _json(api.get("/api/v1/registry/other/links")) == []  # nothing linked


def test_health_ready_and_edits(served):
    run_id, _, api, store = served
    assert _json(api.get("/api/v1/health")) == {"ok": True}
    assert _json(api.get("/api/v1/ready")) == {"ok": True}
    from tracklet.wal._wal import RecordType

    r = api.post(f"/api/v1/runs/{run_id}/edits", json={"records": [[RecordType.UPDATE, {"notes": "edited"}]]})
    assert _json(r) == {"ok": True}
    assert _json(api.get(f"/api/v1/runs/{run_id}"))["notes"] == "edited"
