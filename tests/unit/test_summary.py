"""run.summary and define_metric, in the client and in the store alike."""

import math

import pytest

import tracklet


def stored_summary(run):
    return tracklet.Api().run(run.id).summary


def test_last_value_by_default_and_explicit_values_win():
    run = tracklet.init(project="p")
    for i in range(5):
        run.log({"loss": 1.0 / (i + 1), "acc": i / 10})
    run.summary["acc"] = 0.99
    run.summary.update({"note": "best so far"})
    assert run.summary["loss"] == 0.2 and run.summary["acc"] == 0.99
    run.finish()
    assert stored_summary(run) == {"loss": 0.2, "acc": 0.99, "note": "best so far"}


def test_define_metric_aggregates_match_between_client_and_store():
    run = tracklet.init(project="p")
    run.define_metric("val/loss", summary="min,max,mean", goal="minimize")
    run.define_metric("val/acc", summary="best", goal="maximize")
    run.define_metric("debug/*", hidden=True)
    values = [0.5, 0.2, 0.9, 0.4]
    for i, v in enumerate(values):
        run.log({"val/loss": v, "val/acc": 1 - v, "debug/x": i})
    expected = {"val/loss": {"min": 0.2, "max": 0.9, "mean": pytest.approx(0.5)}, "val/acc": {"best": pytest.approx(0.8)}}
    assert run.summary.as_dict() == expected
    # before finish() the store aggregates the history itself; finish() then records the client's summary
    assert stored_summary(run) == expected
    run.finish()
    assert stored_summary(run) == expected


def test_store_summary_is_live_before_finish():
    run = tracklet.init(project="p")
    run.define_metric("loss", summary="min")
    for v in (3.0, 1.0, 2.0):
        run.log({"loss": v, "lr": v / 10})
    live = stored_summary(run)  # catch-up from the WAL while the run is open
    assert live == {"loss": {"min": 1.0}, "lr": 0.2}
    assert tracklet.Api().run(run.id).state == "running"
    run.finish()


def test_nan_is_a_last_value_but_not_a_minimum():
    run = tracklet.init(project="p")
    run.define_metric("loss", summary="min,last")
    run.log({"loss": 1.0})
    run.log({"loss": float("nan")})
    s = run.summary["loss"]
    assert s["min"] == 1.0 and math.isnan(s["last"])
    run.finish()


@pytest.mark.parametrize(
    "kwargs, match",
    [({"summary": "median"}, "not one of"), ({"summary": "best"}, "needs goal"), ({"goal": "up"}, "minimize")],
)
def test_bad_define_metric(kwargs, match):
    run = tracklet.init(project="p")
    with pytest.raises(tracklet.UsageError, match=match):
        run.define_metric("x", **kwargs)
    run.finish()


def test_custom_x_axis_is_recorded():
    run = tracklet.init(project="p")
    run.define_metric("val/*", step_metric="epoch")
    run.log({"epoch": 1, "val/loss": 0.3})
    run.finish()
    r = tracklet.Api().run(run.id)
    assert r.metric_definitions()[0]["step_metric"] == "epoch"
    assert r.history(x_axis="epoch", pandas=False)[0]["epoch"] == 1
