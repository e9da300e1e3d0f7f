"""mode="disabled": a real run object that records nothing."""

import pytest

import tracklet


def test_disabled_run_has_the_whole_api_and_writes_nothing(tracklet_env):
    run = tracklet.init(project="p", mode="disabled", config={"lr": 0.1})
    run.log({"a": 1.0})
    run.define_metric("a", summary="max")
    run.config.update({"b": 2})
    run.summary["c"] = 3
    assert run.config.lr == 0.1 and run.summary["c"] == 3 and run.step == 1 and run.dir is None
    run.finish()
    assert not tracklet_env.exists()


def test_disabled_run_still_rejects_bad_input_and_typos():
    run = tracklet.init(mode="disabled")
    with pytest.raises(tracklet.UsageError):
        run.log({1: 2})
    with pytest.raises(AttributeError):
        run.lgo({"a": 1})
    run.finish()


def test_disabled_by_environment(monkeypatch, tracklet_env):
    monkeypatch.setenv("TRACKLET_MODE", "disabled")
    tracklet.init(project="p").log({"a": 1})
    tracklet.finish()
    assert not tracklet_env.exists()
