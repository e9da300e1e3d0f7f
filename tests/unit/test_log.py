"""run.log: flattening, value types, step semantics, and bad input that leaves nothing behind."""

import math
import os
import warnings

import numpy as np
import pytest

import tracklet
from helpers import user_records
from tracklet.wal._wal import RecordType, WalReader


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
    size = user_records(run)
    with pytest.raises(tracklet.UsageError, match=match):
        run.log({"fine": 2.0, **data})
    assert user_records(run) == size
    assert run.step == 1
    run.finish()


def test_log_rejects_non_dicts_and_bad_steps():
    run = tracklet.init(project="p")
    with pytest.raises(tracklet.UsageError, match="takes a dict"):
        run.log([1, 2])
    with pytest.raises(tracklet.UsageError, match="step must be an int"):
        run.log({"a": 1}, step=1.5)
    with pytest.raises(tracklet.UsageError, match=r"from 0 to 2\*\*63-1"):
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


def _wal_size(run):
    return len(user_records(run))  # records, not bytes: background threads append their own


def test_a_key_that_cannot_be_encoded_is_refused_every_time_and_never_registered():
    # issue 10, item 4: "\ud800" raised UnicodeEncodeError but stayed registered, and later
    # log() calls with it were acknowledged and lost
    run = tracklet.init(project="p")
    run.log({"ok": 1.0})
    size = _wal_size(run)
    for data in ({"\ud800": 1.0}, {"\ud800": 2.0}, {"a": {"\ud800": 1.0}}, {"ok": 5.0, "\ud800": "text"}):
        with pytest.raises(tracklet.UsageError, match=r"key '\\ud800' cannot be stored"):
            run.log(data)
    with pytest.raises(tracklet.UsageError, match="'s'"):
        run.log({"s": "lone \udc80 surrogate"})
    assert set(run._key_ids) == {"ok"} and _wal_size(run) == size and run.step == 1
    run.log({"ok": 2.0})
    run.finish()
    r = tracklet.Api().run(run.id)
    assert [(row["_step"], row["ok"]) for row in r.scan_history()] == [(0, 1.0), (1, 2.0)]
    assert r.summary == {"ok": 2.0}


@pytest.mark.parametrize(
    "kwargs, data, named",
    [
        ({"step": 2**63}, {"a": 1.0}, "step"),
        ({"step": -1}, {"a": 1.0}, "step"),
        ({"step": np.int64(-1)}, {"a": 1.0}, "step"),
        ({"step": np.uint64(2**64 - 1)}, {"a": 1.0}, "step"),
        ({"step": True}, {"a": 1.0}, "step"),
        ({}, {"a": 10**400}, "'a'"),
        ({}, {"new": 10**400}, "'new'"),
        ({}, {"a": 1.0, "new": -(10**400)}, "'new'"),
        ({"step": 7}, {"a": 2**1024}, "'a'"),
    ],
)
def test_a_bad_step_or_value_consumes_nothing(kwargs, data, named):
    # issue 10, item 5: step=2**63 broke every later log(); 10**400 used up a step;
    # step=-1 was stored while np.int64(-1) was refused
    run = tracklet.init(project="p")
    run.log({"a": 1.0})
    size, keys = _wal_size(run), dict(run._key_ids)
    with pytest.raises(tracklet.UsageError, match=named):
        run.log(data, **kwargs)
    assert run.step == 1 and run._key_ids == keys and _wal_size(run) == size
    run.log({"a": 2.0})
    run.log({"a": 3.0})
    run.finish()
    seqs = [r.seq for r in WalReader(os.path.join(run.dir, "run.tlog")).records()]
    assert seqs == list(range(1, len(seqs) + 1))  # no sequence number used up by the refused call
    assert [(r["_step"], r["a"]) for r in history(run)] == [(0, 1.0), (1, 2.0), (2, 3.0)]


def test_steps_and_values_at_the_edges_of_their_range_are_kept():
    run = tracklet.init(project="p")
    run.log({"big": 2**63, "neg": -(2**1000), "i64": np.int64(2**63 - 1), "u64": np.uint64(2**64 - 1)}, step=0)
    run.log({"a": 1.0}, step=np.int64(2**63 - 1))
    assert run.step == 2**63 - 1
    run.log({"b": 2.0}, commit=True)  # the last step there is, then no next one
    with pytest.raises(tracklet.UsageError, match="no next step"):
        run.log({"a": 3.0})
    with pytest.warns(tracklet.TrackletWarning, match="lower"):
        run.log({"a": 4.0}, step=5)  # an explicit step still works
    run.finish()
    rows = {r["_step"]: {k: v for k, v in r.items() if not k.startswith("_")} for r in history(run)}
    assert rows == {
        0: {"big": 2.0**63, "neg": -(2.0**1000), "i64": 2.0**63, "u64": 2.0**64},
        5: {"a": 4.0},
        2**63 - 1: {"a": 1.0, "b": 2.0},
    }


class _OddFloat(float):
    def __float__(self):
        raise RuntimeError("never called")


class _OddInt(int):
    def __index__(self):
        raise RuntimeError("never called")

    def __int__(self):
        raise RuntimeError("never called")


def test_number_subclasses_are_read_for_the_value_they_hold():
    run = tracklet.init(project="p")
    run.log({"f": _OddFloat(1.5), "i": _OddInt(3), "ld": np.longdouble(0.25), "nb": np.bool_(True)},
            step=_OddInt(2))
    run.finish()
    (row,) = history(run)
    assert (row["_step"], row["f"], row["i"], row["ld"], row["nb"]) == (2, 1.5, 3.0, 0.25, 1.0)


def test_text_too_large_for_one_record_is_refused(monkeypatch):
    import tracklet.tracking._run

    monkeypatch.setattr(tracklet.tracking._run, "MAX_RECORD", 1000)  # a record over the limit would stop every reader
    run = tracklet.init(project="p")
    run.log({"ok": 1.0})
    size = _wal_size(run)
    with pytest.raises(tracklet.UsageError, match="at most 1,000"):
        run.log({"text": "x" * 1000})
    assert _wal_size(run) == size and set(run._key_ids) == {"ok"} and run.step == 1
    run.log({"text": "x" * 500})
    run.finish()
    assert [r.get("text") for r in history(run)] == [None, "x" * 500]
