"""run.log: flattening, value types, step semantics, and bad input that leaves nothing behind."""

import math
import os
import warnings

import numpy as np
import pytest

import tracklet
from tracklet._wal import RecordType, WalReader


def history(run, keys=None):
    return list(tracklet.Api().run(f"{run.project}/{run.id}").scan_history(keys=keys))


def test_the_wandb_script_from_the_issue():
    run = tracklet.init(project="llm-finetuning", name="llama3-8b-qlora-v1",
                        config={"model": "meta-llama/Meta-Llama-3-8B", "lora_r": 16, "learning_rate": 2e-4})
    for step in range(100):
        run.log({"train/loss": 1.0 / (step + 1), "train/learning_rate": 2e-4}, step=step)
    run.finish()
    api_run = tracklet.Api().run(f"llm-finetuning/{run.id}")
    assert api_run.name == "llama3-8b-qlora-v1"
    assert api_run.state == "finished"
    assert api_run.config == {"model": "meta-llama/Meta-Llama-3-8B", "lora_r": 16, "learning_rate": 2e-4}
    rows = list(api_run.scan_history(keys=["train/loss"]))
    assert [r["_step"] for r in rows] == list(range(100))
    assert rows[-1]["train/loss"] == pytest.approx(0.01)
    assert api_run.summary["train/loss"] == pytest.approx(0.01)
    assert {"_step", "_timestamp", "_runtime"} <= set(rows[0])


def test_module_level_functions_follow_the_current_run():
    with pytest.raises(tracklet.UsageError, match="init"):
        tracklet.log({"a": 1})
    with pytest.raises(tracklet.UsageError, match="init"):
        tracklet.config["x"]
    run = tracklet.init(project="p", config={"a": 1})
    assert tracklet.run is run and tracklet.config.a == 1
    tracklet.log({"x": 1.0})
    tracklet.summary["best"] = 2
    tracklet.define_metric("x", summary="max")
    tracklet.finish()
    assert tracklet.run is None
    assert tracklet.Api().run(run.id).summary == {"x": {"max": 1.0}, "best": 2}


def test_context_manager_finishes_and_records_a_failure():
    with pytest.raises(RuntimeError):
        with tracklet.init(project="p") as run:
            run.log({"a": 1})
            raise RuntimeError("boom")
    r = tracklet.Api().run(run.id)
    assert r.state == "failed" and "RuntimeError: boom" in r.error


def test_nested_dicts_flatten_and_numbers_of_every_kind_are_kept():
    run = tracklet.init(project="p")
    run.log({"train": {"loss": np.float32(0.25), "acc": np.float64(0.5)}, "n": np.int64(7), "flag": True,
             "nan": float("nan"), "inf": float("inf"), "ninf": -math.inf, "text": "hello", "big": 10**6})
    run.finish()
    (row,) = history(run)
    assert row["train/loss"] == 0.25 and row["train/acc"] == 0.5 and row["n"] == 7 and row["flag"] == 1.0
    assert math.isnan(row["nan"]) and row["inf"] == math.inf and row["ninf"] == -math.inf
    assert row["text"] == "hello" and row["big"] == 10**6


def test_steps_follow_wandb_semantics():
    run = tracklet.init(project="p")
    run.log({"a": 1})  # step 0
    run.log({"b": 2}, commit=False)  # step 1, still open
    run.log({"c": 3})  # step 1, then moves on
    run.log({"d": 4}, step=5)  # step 5, open
    run.log({"e": 5})  # merges into 5
    assert run.step == 6
    run.finish()
    rows = {r["_step"]: {k: v for k, v in r.items() if not k.startswith("_")} for r in history(run)}
    assert rows == {0: {"a": 1}, 1: {"b": 2, "c": 3}, 5: {"d": 4, "e": 5}}


def test_a_lower_step_is_stored_and_said_once():
    run = tracklet.init(project="p")
    run.log({"a": 1.0}, step=10)
    with pytest.warns(tracklet.TrackletWarning, match="lower than the current step"):
        run.log({"a": 2.0}, step=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run.log({"a": 3.0}, step=4)  # said once: no second warning
    run.finish()
    assert [(r["_step"], r["a"]) for r in history(run, ["a"])] == [(3, 2.0), (4, 3.0), (10, 1.0)]


def test_same_key_same_step_keeps_the_last_value():
    run = tracklet.init(project="p")
    run.log({"a": 1.0}, step=2)
    run.log({"a": 9.0}, step=2)
    run.finish()
    assert [(r["_step"], r["a"]) for r in history(run, ["a"])] == [(2, 9.0)]


@pytest.mark.parametrize(
    "data, match",
    [
        ({1: 2.0}, "keys must be strings; got 1 of type int"),
        ({"a": {2: 1.0}}, "inside 'a'"),
        ({"a": [1, 2]}, "'a' is a list"),
        ({"a": None}, "'a' is a NoneType"),
        ({"a": np.zeros(3)}, "'a' is a ndarray of shape \\(3,\\), not a scalar"),
        ({"": 1.0}, "must not be empty"),
    ],
)
def test_bad_input_raises_at_the_call_and_writes_nothing(data, match):
    run = tracklet.init(project="p")
    run.log({"ok": 1.0})
    size = os.path.getsize(os.path.join(run.dir, "run.tlog"))
    with pytest.raises(tracklet.UsageError, match=match):
        run.log({"fine": 2.0, **data})
    assert os.path.getsize(os.path.join(run.dir, "run.tlog")) == size
    assert run.step == 1
    run.finish()


def test_log_rejects_non_dicts_and_bad_steps():
    run = tracklet.init(project="p")
    with pytest.raises(tracklet.UsageError, match="takes a dict"):
        run.log([1, 2])
    with pytest.raises(tracklet.UsageError, match="step must be an int"):
        run.log({"a": 1}, step=1.5)
    with pytest.raises(tracklet.UsageError, match=">= 0"):
        run.log({"a": 1}, step=np.int64(-1))
    run.log({"a": 1}, step=np.int64(3))
    assert run.step == 3
    run.finish()


def test_log_after_finish_is_ignored_with_a_warning():
    run = tracklet.init(project="p")
    run.finish()
    with pytest.warns(tracklet.TrackletWarning, match="after run .* finished"):
        run.log({"a": 1})


def test_every_record_is_in_the_wal_before_log_returns():
    run = tracklet.init(project="p")
    run.log({"a": 1.0})
    types = [r.type for r in WalReader(os.path.join(run.dir, "run.tlog")).records()]
    assert RecordType.HISTORY in types
    run.finish()


def test_init_finishes_the_previous_run():
    first = tracklet.init(project="p")
    second = tracklet.init(project="p")
    assert first.finished and not second.finished
    second.finish()


def test_wandb_only_init_arguments_are_accepted_with_a_warning_and_typos_are_not():
    with pytest.warns(tracklet.TrackletWarning, match="save_code"):
        tracklet.init(project="p", save_code=True).finish()
    with pytest.raises(TypeError, match="projet"):
        tracklet.init(projet="p")


def test_run_finish_clears_the_current_run_as_in_wandb():
    run = tracklet.init(project="p")
    assert tracklet.run is run
    run.finish()
    assert tracklet.run is None
    with pytest.raises(tracklet.UsageError, match="call tracklet.init"):
        tracklet.log({"x": 1.0})
    with pytest.raises(tracklet.UsageError, match="before tracklet.init"):
        tracklet.config["lr"] = 1
