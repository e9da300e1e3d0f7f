"""Resuming a run by id: step, config and summary continue where they stopped."""

import os

import pytest

import tracklet


def test_resume_allow_continues_the_run():
    run = tracklet.init(project="p", id="run-1", config={"lr": 0.1})
    run.define_metric("loss", summary="min")
    for i in range(5):
        run.log({"loss": 5.0 - i})
    run.finish()

    again = tracklet.init(project="p", id="run-1", resume="allow")
    assert again.step == 5
    assert again.config.lr == 0.1
    assert again.summary["loss"] == {"min": 1.0}
    again.log({"loss": 0.5})
    assert again.summary["loss"] == {"min": 0.5}
    again.finish()
    r = tracklet.Api().run("p/run-1")
    assert [row["_step"] for row in r.scan_history(keys=["loss"])] == list(range(6))
    assert r.state == "finished" and r.summary["loss"] == {"min": 0.5}


def test_resume_rules():
    with pytest.raises(tracklet.UsageError, match="resume='must' but there is no run"):
        tracklet.init(id="nope", resume="must")
    tracklet.init(id="r2").finish()
    with pytest.raises(tracklet.UsageError, match="already exists.*resume='allow'"):
        tracklet.init(id="r2")
    with pytest.raises(tracklet.UsageError, match="already exists"):
        tracklet.init(id="r2", resume="never")
    tracklet.init(id="fresh", resume="allow").finish()  # allow with no such run starts it


def test_resume_after_a_torn_tail_truncates_it():
    run = tracklet.init(project="p", id="torn")
    run.log({"a": 1.0})
    run.finish()
    wal = os.path.join(run.dir, "run.tlog")
    with open(wal, "ab") as f:
        f.write(b"\x30\x00\x00\x00partial")
    again = tracklet.init(project="p", id="torn", resume=True)
    again.log({"a": 2.0})
    again.finish()
    rows = list(tracklet.Api().run("torn").scan_history(keys=["a"]))
    assert [(r["_step"], r["a"]) for r in rows] == [(0, 1.0), (1, 2.0)]


def test_bad_run_ids():
    with pytest.raises(tracklet.UsageError, match="not allowed"):
        tracklet.init(id="../escape")
