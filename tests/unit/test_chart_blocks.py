"""Chart reads: curves downsampled from blocks of 64 steps keep every spike, follow late writes, and match the points."""

import math

import pytest

import tracklet
from tracklet.store.sql._store import SqlStore

pytestmark = pytest.mark.unit


def _logged(n, spike_at=None, dip_at=None):
    run = tracklet.init(project="charts")
    for step in range(n):
        v = math.sin(step / 500.0)
        if step == spike_at:
            v = 1000.0
        if step == dip_at:
            v = -1000.0
        run.log({"loss": v, "other": float(step)})
    run.finish()
    return run.id


def _store():
    return SqlStore(tracklet.Api().dir)


def test_a_one_step_spike_survives_any_downsampling():
    rid = _logged(50_000, spike_at=31_337, dip_at=7)
    store = _store()
    for points in (10, 100, 700):
        c = store.curves(rid, ["loss"], points=points)["loss"]
        assert 0 < len(c["x"]) <= points
        assert max(c["max"]) == 1000.0 and min(c["min"]) == -1000.0
        spike = next(i for i, v in enumerate(c["max"]) if v == 1000.0)
        assert c["x"][spike] <= 31_337 and (spike + 1 == len(c["x"]) or c["x"][spike + 1] > 31_337)
        assert c["x"] == sorted(c["x"]) and all(lo <= y <= hi for lo, y, hi in zip(c["min"], c["y"], c["max"]))


def test_buckets_agree_with_the_points_they_summarise():
    rid = _logged(20_000)
    store = _store()
    c = store.curves(rid, ["other"], points=100)["other"]  # other = step: each bucket's min and max are its first and last step
    full = store.curves(rid, ["other"])["other"]
    assert len(full["x"]) == 20_000 and full["y"] == [float(s) for s in range(20_000)]
    edges = c["x"] + [20_000]
    for i, (x, lo, hi, mean) in enumerate(zip(c["x"], c["min"], c["max"], c["y"])):
        assert lo == float(x) and hi == float(edges[i + 1] - 1)
        assert mean == pytest.approx((lo + hi) / 2)


def test_a_window_not_on_block_edges_starts_and_ends_where_asked():
    rid = _logged(30_000)
    c = _store().curves(rid, ["other"], min_step=1_001, max_step=28_999, points=50)["other"]
    assert c["x"][0] == 1_001 and min(c["min"]) == 1_001.0 and max(c["max"]) == 28_999.0


def test_a_narrow_window_is_read_at_full_resolution():
    rid = _logged(10_000)
    c = _store().curves(rid, ["other"], min_step=100, max_step=1_099, points=1_000)["other"]
    assert c["x"] == list(range(100, 1_100))


def test_a_step_written_again_later_shows_in_the_blocks():
    rid = _logged(10_000)
    store = _store()
    assert max(store.curves(rid, ["loss"], points=10)["loss"]["max"]) < 2
    run = tracklet.init(project="charts", id=rid, resume="allow")
    with pytest.warns(tracklet.TrackletWarning, match="lower than the current step"):
        run.log({"loss": 5e6}, step=3)  # an earlier step, logged again: stored, and the chart shows it
    run.finish()
    c = store.curves(rid, ["loss"], points=10)["loss"]
    assert c["max"][0] == 5e6 and max(c["max"][1:]) < 2


def test_non_finite_values_leave_no_trace_in_the_buckets():
    run = tracklet.init(project="charts")
    for step in range(5_000):
        run.log({"loss": float("nan") if step % 2 else (math.inf if step == 10 else 1.0)})
    run.finish()
    c = _store().curves(run.id, ["loss"], points=20)["loss"]
    assert c["y"] and set(c["y"]) == {1.0} and set(c["max"]) == {1.0}


def test_many_runs_in_one_question_and_a_missing_one_named():
    ids = [_logged(3_000) for _ in range(3)]
    store = _store()
    out = store.curves_of_runs(ids, ["loss", "nope"], points=30)
    assert sorted(out) == sorted(ids) and all(list(v) == ["loss"] for v in out.values())
    with pytest.raises(tracklet.UsageError, match="no run 'ghost'"):
        store.curves_of_runs([ids[0], "ghost"], ["loss"], points=30)


def test_a_store_made_before_blocks_gets_them_at_its_first_chart():
    rid = _logged(4_000, spike_at=3_999)
    store = _store()
    engine = store.engine()
    with engine.begin() as conn:  # as a schema-3 store holds it: no blocks
        conn.exec_driver_sql("DROP TABLE history_blocks")
        conn.exec_driver_sql("DROP TABLE history_dirty")
        conn.exec_driver_sql("DROP TABLE run_media")  # schema 5's
        for table in ("api_key_grants", "api_keys", "users"):  # nor schema 6's
            conn.exec_driver_sql(f"DROP TABLE {table}")
        for table in ("call_feedback", "calls", "trace_logs"):  # nor schema 7's
            conn.exec_driver_sql(f"DROP TABLE {table}")
        conn.exec_driver_sql("UPDATE tracklet_meta SET value = '3' WHERE key = 'schema_version'")
    tracklet.store.sql._engine.close_all()
    c = SqlStore(store.root).curves(rid, ["loss"], points=10)["loss"]
    assert max(c["max"]) == 1000.0



def test_sparse_and_long_curves_are_made_a_slice_at_a_time(monkeypatch):
    from tracklet.store.sql import _blocks

    monkeypatch.setattr(_blocks, "_SLICE", 100)  # many slices, each ending on a block edge
    run = tracklet.init(project="charts")
    for i in range(3_000):
        run.log({"loss": float(i)}, step=i * 1_000_003)  # steps up to 3e9, far apart
    run.log({"loss": -5.0}, step=2**62)
    run.finish()
    c = _store().curves(run.id, ["loss"], points=10)["loss"]
    assert min(c["min"]) == -5.0 and max(c["max"]) == 2_999.0
    full = _store().curves(run.id, ["loss"])["loss"]
    assert len(full["x"]) == 3_001
    with _store().reader() as q:  # every point in exactly one block
        assert q.scalar("SELECT SUM(n) FROM history_blocks") == 3_001
