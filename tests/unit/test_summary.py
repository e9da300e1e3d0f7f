"""run.summary and define_metric, in the client and in the store alike."""

import math

import pytest

import tracklet
from helpers import user_records


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


def test_text_logged_under_an_aggregated_metric_is_stored_and_breaks_nothing():
    # min/max compared a str with a float after the record was written: a TypeError from an acknowledged log()
    run = tracklet.init(project="p")
    run.define_metric("score", summary="min,max,last")
    run.log({"score": 2.0})
    run.log({"score": "n/a"})
    run.log({"score": 1.0})
    assert run.summary["score"] == {"min": 1.0, "max": 2.0, "last": 1.0}
    run.finish()
    rows = list(tracklet.Api().run(run.id).scan_history(keys=["score"]))
    assert [r["score"] for r in rows] == [2.0, "n/a", 1.0]


def test_a_refused_summary_update_sets_nothing():
    run = tracklet.init(project="p")
    run.summary["best"] = 1.0
    with pytest.raises(tracklet.UsageError, match=r"summary\['worse'\].*int"):
        run.summary.update({"fine": 2.0, "worse": 10**400})
    assert run.summary.as_dict() == {"best": 1.0}
    run.finish()
    assert stored_summary(run) == {"best": 1.0}


def test_define_metric_refuses_bad_arguments_before_writing_anything():
    run = tracklet.init(project="p")
    size = user_records(run)
    with pytest.raises(tracklet.UsageError, match=r"step_metric.*'\\ud800'"):
        run.define_metric("x", step_metric="\ud800")  # wrote the METRIC record, then failed to encode the key
    with pytest.raises(tracklet.UsageError, match="summary=.*list"):
        run.define_metric("x", summary=["min"])
    assert user_records(run) == size and run._key_ids == {}
    run.finish()


def test_config_and_summary_changes_too_large_for_one_record_are_refused(monkeypatch):
    import tracklet.tracking._run

    monkeypatch.setattr(tracklet.tracking._run, "MAX_RECORD", 1000)  # a record over the limit would stop every reader
    run = tracklet.init(project="p")
    size = user_records(run)
    with pytest.raises(tracklet.UsageError, match="config change .* at most 991"):
        run.config.update({"long": "y" * 1000})
    with pytest.raises(tracklet.UsageError, match="summary change .* at most 991"):
        run.summary["long"] = "z" * 1000
    assert user_records(run) == size
    assert "long" not in run.config and "long" not in run.summary
    run.config.update({"short": "y" * 100})
    run.finish()
    assert tracklet.Api().run(run.id).config == {"short": "y" * 100}


def test_a_media_key_keeps_the_description_of_its_highest_step():
    from tracklet.tracking._summary import Summary

    s = Summary()
    s.observe_media({"k": {"_type": "image", "step": 6, "digest": None}})  # log() wrote an image as pixels at step 6
    s.observe_media({"k": {"_type": "table", "step": 5, "digest": "ab"}, "t": {"_type": "table", "step": 5, "digest": "cd"}})
    assert s["k"]["step"] == 6 and s["t"]["digest"] == "cd"  # the uploads thread's later word on step 5 does not win
    s.observe_media({"k": {"_type": "image", "step": 6, "digest": "ef"}})
    assert s["k"]["digest"] == "ef"
