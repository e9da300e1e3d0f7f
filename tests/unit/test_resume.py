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


def test_after_a_resume_the_last_step_stays_open_to_more_keys():
    # a script resumed from the checkpoint of its last logged step logs that step again:
    # it merges into the step without the "lower step" warning (run.step is still last + 1, as in wandb)
    import warnings

    run = tracklet.init(project="p", id="rs")
    for step in range(5):
        run.log({"loss": 5.0 - step}, step=step)
    run.finish()

    again = tracklet.init(project="p", id="rs", resume="allow")
    assert again.step == 5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again.log({"eval/acc": 0.9}, step=4)  # the last step: no warning
        again.log({"loss": 0.5})  # no step: a new step, 5
        again.log({"loss": 0.25}, step=6)
    with pytest.warns(tracklet.TrackletWarning, match="lower than the current step"):
        again.log({"loss": 9.0}, step=4)  # once later steps exist, 4 is a lower step like any other
    again.finish()
    rows = {r["_step"]: {k: v for k, v in r.items() if not k.startswith("_")}
            for r in tracklet.Api().run("p/rs").scan_history()}
    assert rows == {0: {"loss": 5.0}, 1: {"loss": 4.0}, 2: {"loss": 3.0}, 3: {"loss": 2.0},
                    4: {"loss": 9.0, "eval/acc": 0.9}, 5: {"loss": 0.5}, 6: {"loss": 0.25}}


def test_a_bad_resume_request_leaves_the_current_run_alone():
    tracklet.init(project="p", id="kept").finish()
    current = tracklet.init(project="p")
    with pytest.raises(tracklet.UsageError, match="already exists"):
        tracklet.init(project="p", id="kept")
    with pytest.raises(tracklet.UsageError, match="not allowed"):
        tracklet.init(project="p", id="no spaces")
    assert tracklet.run is current and not current.finished
    current.finish()
