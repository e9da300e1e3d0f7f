"""tracklet.Api: listing and filtering runs, reading history, idempotent catch-up."""

import pandas as pd
import pytest

import tracklet
from tracklet.store.sql._engine import open_local
from tracklet.store.sql._ingest import ingest_run


def make_runs():
    ids = {}
    for name, lr, loss, tags in (("a", 0.1, 0.5, ["base"]), ("b", 0.01, 0.3, ["x"]), ("c", 0.001, 0.9, ["base", "x"])):
        run = tracklet.init(project="proj", name=name, config={"lr": lr, "opt": {"name": "adam"}}, tags=tags)
        run.log({"loss": loss})
        run.finish()
        ids[name] = run.id
    other = tracklet.init(project="other", name="d")
    other.finish(exit_code=3)
    return ids


def test_runs_filters_and_order():
    make_runs()
    api = tracklet.Api()
    assert sorted(r.name for r in api.runs("proj")) == ["a", "b", "c"]
    assert [r.name for r in api.runs("proj", order="+summary.loss")] == ["b", "a", "c"]
    assert [r.name for r in api.runs("proj", order="-config.lr")] == ["a", "b", "c"]
    assert [r.name for r in api.runs("proj", filters={"config.lr": {"$lt": 0.05}}, order="+name")] == ["b", "c"]
    assert [r.name for r in api.runs("proj", filters={"tags": {"$in": ["base"]}}, order="+name")] == ["a", "c"]
    assert [r.name for r in api.runs("proj", filters={"config.opt.name": "adam", "summary.loss": {"$gte": 0.5}}, order="+name")] == ["a", "c"]
    assert [r.name for r in api.runs("proj", filters={"$or": [{"name": "a"}, {"name": "b"}]}, order="+name")] == ["a", "b"]
    assert [r.name for r in api.runs(filters={"state": "failed"})] == ["d"]
    assert {p.name: p.run_count for p in api.projects()} == {"other": 1, "proj": 3}
    with pytest.raises(tracklet.UsageError, match="unknown filter operator"):
        api.runs("proj", filters={"name": {"$like": "a"}})


def test_run_lookup_errors_name_the_fix():
    ids = make_runs()
    api = tracklet.Api()
    assert api.run(f"proj/{ids['a']}").name == "a"
    with pytest.raises(tracklet.UsageError, match="tracklet runs"):
        api.run("proj/zzzzzzzz")
    with pytest.raises(tracklet.UsageError, match="belongs to project 'proj'"):
        api.run(f"other/{ids['a']}")


def test_missing_store_is_a_clear_error(tmp_path):
    with pytest.raises(tracklet.UsageError, match="no tracklet store"):
        tracklet.Api(dir=str(tmp_path / "nothing")).runs()


def test_history_samples_keeps_ends_and_returns_a_dataframe():
    run = tracklet.init(project="p")
    for i in range(1000):
        run.log({"loss": float(i), "acc": i / 1000})
    run.finish()
    r = tracklet.Api().run(run.id)
    df = r.history(samples=50)
    assert isinstance(df, pd.DataFrame) and len(df) == 50
    assert df["_step"].iloc[0] == 0 and df["_step"].iloc[-1] == 999
    rows = r.history(samples=10, keys=["loss"], pandas=False)
    assert isinstance(rows, list) and len(rows) == 10 and set(rows[0]) == {"_step", "_timestamp", "_runtime", "loss"}
    assert len(list(r.scan_history(min_step=10, max_step=19))) == 10


def test_scan_history_with_keys_returns_steps_that_have_all_of_them():
    run = tracklet.init(project="p")
    run.log({"a": 1.0, "b": 1.0})
    run.log({"a": 2.0})
    run.log({"b": 3.0, "note": "x"})
    run.finish()
    r = tracklet.Api().run(run.id)
    assert [row["_step"] for row in r.scan_history(keys=["a", "b"])] == [0]
    assert [row["_step"] for row in r.scan_history()] == [0, 1, 2]
    assert list(r.scan_history(keys=["nope"])) == []
    with pytest.raises(tracklet.UsageError, match="keys=\\['a'\\]"):
        list(r.scan_history(keys="a"))


def test_scan_history_of_numeric_curves_zipped_or_merged_gives_the_same_rows(monkeypatch):
    """Curves with the same steps are zipped chunk by chunk; from a chunk where they differ, merged."""
    from tracklet.store.sql import _history as _api_history

    run = tracklet.init(project="p")
    for i in range(25):
        run.log({"a": float(i), "b": float("nan") if i == 3 else -i}, step=i)  # together: zipped
    for i in range(25, 40):
        run.log({"a": float(i)} if i % 2 else {"a": float(i), "b": float(i)}, step=i)  # apart: merged
    run.finish()
    r = tracklet.Api().run(run.id)
    monkeypatch.setattr(_api_history, "_CHUNK", 10)  # the curves part ways in the third chunk
    calls = []
    numeric_rows = _api_history.numeric_rows
    monkeypatch.setattr(_api_history, "numeric_rows", lambda *a: calls.append(a) or numeric_rows(*a))
    both, any_ = list(r.scan_history(keys=["a", "b"])), list(r.scan_history())
    assert len(calls) == 2
    assert [row["_step"] for row in both] == list(range(25)) + list(range(26, 40, 2))
    assert [row["_step"] for row in any_] == list(range(40))
    assert both[3]["b"] != both[3]["b"] and both[4]["b"] == -4  # NaN stays NaN
    # the same rows as the step-by-step merge of the single curves (the path text values take)
    single = {k: [(row["_step"], round(row["_runtime"] * 1000), row[k]) for row in r.scan_history(keys=[k])] for k in "ab"}
    created = r._row["created_at"]
    for rows, need in ((both, 2), (any_, 1)):
        merged = list(_api_history.merged_rows([_api_history.tagged(k, _api_history.nan_for_null, single[k]) for k in "ab"], need, created))
        assert len(rows) == len(merged)
        for x, y in zip(rows, merged):
            assert x.keys() == y.keys() and all(x[k] == y[k] or x[k] != x[k] and y[k] != y[k] for k in x)


def test_ingest_is_idempotent(tracklet_env):
    run = tracklet.init(project="p")
    for i in range(100):
        run.log({"a": float(i)})
    run.finish()
    api = tracklet.Api()
    first = [r["a"] for r in api.run(run.id).scan_history(keys=["a"])]
    engine = open_local(str(tracklet_env))
    assert ingest_run(engine, f"{run.dir}/run.tlog") == 0  # nothing new: nothing done
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE runs SET wal_offset = 0")  # forget progress: a full replay
    assert ingest_run(engine, f"{run.dir}/run.tlog") > 0
    assert [r["a"] for r in api.run(run.id).scan_history(keys=["a"])] == first


def test_system_metrics_stream(monkeypatch):
    monkeypatch.setenv("TRACKLET_SYSTEM_INTERVAL", "0.2")
    run = tracklet.init(project="p")
    import time

    time.sleep(0.9)
    run.finish()
    rows = tracklet.Api().run(run.id).history(stream="system", pandas=False)
    assert len(rows) >= 2
    assert rows[0]["system/memory_percent"] > 0 and "system/proc_memory_rss_mb" in rows[0]
    env = tracklet.Api().run(run.id).metadata
    assert env["python"] and env["argv"] and "packages" in env
