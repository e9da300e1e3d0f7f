"""``SqlStore`` answers the same on SQLite (a store folder) and on PostgreSQL (a database URL).

The runs are logged once into the test's store folder; the PostgreSQL store gets them by ingesting
the same logs (``catch_up``), so both backends must give equal answers to every question.
"""

from __future__ import annotations

import math

import pytest

import tracklet
from tracklet.store.sql._store import SqlStore


def _log_runs() -> dict[str, str]:
    run = tracklet.init(project="proj", name="a", config={"lr": 0.1, "opt": {"name": "adam"}}, tags=["base"])
    for i in range(300):
        loss = 100.0 if i == 150 else 1.0 / (i + 1)  # a one-step spike, which downsampling must keep
        run.log({"loss": loss, "acc": float("nan") if i == 7 else i / 300, **({"note": "text"} if i == 10 else {})})
    run.summary["best"] = 0.5
    print("hello")
    art = tracklet.Artifact("data", type="dataset", metadata={"rows": 3})
    art.add_file(_file("rows.csv", "a,b\n1,2\n"))
    run.log_artifact(art, aliases=["best"]).wait()
    run.finish()
    other = tracklet.init(project="other", name="b")
    other.finish(exit_code=3)
    return {"a": run.id, "b": other.id}


def _file(name: str, text: str) -> str:
    with open(name, "w") as f:
        f.write(text)
    return name


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tracklet_env):
    """(store, run ids): the same runs in a SQLite store folder or in a PostgreSQL database."""
    ids = _log_runs()
    if request.param == "sqlite":
        s = SqlStore(str(tracklet_env))
    else:
        from tracklet.store.sql._catchup import catch_up
        from tracklet.store.sql._engine import make_engine
        from tracklet.store.sql._migrate import migrate

        url = request.getfixturevalue("pg_url")
        migrate(url)
        engine = make_engine(url)
        catch_up(engine, str(tracklet_env))
        engine.dispose()
        s = SqlStore(url=url)
    yield s, ids
    s.close()


def test_projects_and_runs(store):
    s, ids = store
    assert [(p["name"], p["runs"]) for p in s.projects()] == [("other", 1), ("proj", 1)]
    runs = s.runs("proj")
    assert [r["id"] for r in runs] == [ids["a"]]
    a = s.run(ids["a"])
    assert a["state"] == "finished" and a["tags"] == ["base"] and a["config"]["opt"] == {"name": "adam"}
    assert a["summary"]["best"] == 0.5 and a["summary"]["loss"] == pytest.approx(1 / 300) and a["last_step"] == 299
    assert s.run(ids["b"])["exit_code"] == 3 and s.run("nope") is None
    assert s.problems() == []
    assert s.log_position(ids["a"])["offset"] > 0 and s.log_position("nope") == {"offset": 0, "log_id": None}


def test_history_curves_and_logs(store):
    s, ids = store
    rid = ids["a"]
    assert s.keys(rid) == ["acc", "loss", "note"]
    rows = list(s.history(rid, keys=["loss", "acc"]))
    assert [r["_step"] for r in rows] == list(range(300))
    assert rows[150]["loss"] == 100.0 and math.isnan(rows[7]["acc"])
    assert [r["_step"] for r in s.history(rid, keys=["loss"], min_step=10, max_step=12)] == [10, 11, 12]
    assert next(r for r in s.history(rid) if r["_step"] == 10)["note"] == "text"
    assert list(s.history(rid, keys=["missing"])) == []
    full = s.curves(rid, ["loss"])["loss"]
    assert full["x"] == list(range(300)) and full["y"][150] == 100.0
    down = s.curves(rid, ["loss", "acc"], points=30)
    assert len(down["loss"]["x"]) == 30 and max(down["loss"]["max"]) == 100.0  # the spike survives
    assert len(down["acc"]["x"]) == 30  # NaN left out, not a bucket's poison
    blocks = s.curves(rid, ["loss"], points=4)["loss"]  # 300 steps in 4 buckets: read from the chart blocks
    assert 0 < len(blocks["x"]) <= 4 and blocks["x"][0] == 0 and max(blocks["max"]) == 100.0
    assert blocks["x"] == sorted(blocks["x"]) and min(blocks["min"]) == 1.0 / 300
    logs = s.logs(rid)
    assert [(e["stream"], e["text"]) for e in logs] == [("stdout", "hello\n")]
    assert s.logs(rid, after=logs[0]["seq"]) == []


def test_curves_in_a_window_of_any_x_axis(store):
    s, ids = store
    rid = ids["a"]
    steps = s.curves(rid, ["loss"], x="_step", min_x=10.5, max_x=12.9)["loss"]  # on the step axis: whole steps within
    assert steps["x"] == [11, 12]
    assert s.curves(rid, ["loss"], min_step=0, max_step=11, min_x=10.5, points=100)["loss"]["x"] == [11]  # both bounds
    lo, hi = 100 / 300, 200 / 300  # another metric as the x-axis: acc is step / 300
    window = s.curves(rid, ["loss"], x="acc", min_x=lo, max_x=hi)["loss"]
    assert window["x"] == [i / 300 for i in range(100, 201)] and window["y"][50] == 100.0  # step 150's spike inside
    down = s.curves(rid, ["loss"], x="acc", min_x=lo, max_x=hi, points=5)["loss"]
    assert len(down["x"]) == 5 and all(lo <= x <= hi for x in down["x"]) and max(down["max"]) == 100.0
    runtime = s.curves(rid, ["loss"], x="_runtime")["loss"]["x"]
    assert s.curves(rid, ["loss"], x="_runtime", min_x=runtime[-1] + 1)["loss"]["x"] == []
    assert len(s.curves(rid, ["loss"], x="_runtime", max_x=runtime[-1])["loss"]["x"]) == 300


def test_artifacts_and_registry(store):
    s, ids = store
    v = s.artifact("proj", None, "data", "best")
    assert v["version_index"] == 0 and v["metadata"] == {"rows": 3} and v["aliases"] == ["best", "latest"]
    assert s.artifact_by_digest("proj", None, "data", v["digest"])["id"] == v["id"]
    assert [x["id"] for x in s.artifact_versions("proj", None, "data")] == [v["id"]]
    assert [(c["name"], c["versions"]) for c in s.artifact_collections()] == [("data", 1)]
    assert s.artifact_runs(v["id"], "output") == [ids["a"]]
    assert [x["id"] for x in s.run_artifacts(ids["a"], "output")] == [v["id"]]
    s.link_artifact(v["id"], "model-x", ["staging"], actor="me")
    assert [m["name"] for m in s.registered_models()] == ["model-x"]
    assert s.registry_version("model-x", "staging")["id"] == v["id"]
    assert [i for i, _ in s.registry_links("model-x")] == [0] and s.registry_aliases("model-x") == {"staging": 0}
    assert [a["action"] for a in s.registry_audit("model-x")] == ["link", "alias"]
    s.unlink_artifact(v["id"], "model-x", actor="me")
    assert s.registry_links("model-x") == []
