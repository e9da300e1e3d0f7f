"""The sweep configuration language: what is refused (before anything is stored), and what each distribution draws."""

import json
import math
import random

import pytest

import tracklet
from tracklet.sweeps._agent import build_command
from tracklet.sweeps._config import check_config, nest
from tracklet.sweeps._hyperband import rungs, should_stop


def _cfg(**params):
    return {"method": "random", "metric": {"name": "loss"}, "parameters": params}


@pytest.mark.parametrize("config, words", [
    ({"method": "grid", "parameters": {"a": {"values": [1]}}, "paramters": {}}, "unknown key 'paramters'"),
    ({"method": "hill", "parameters": {"a": {"values": [1]}}}, "method must be one of grid, random, bayes"),
    ({"method": "grid", "parameters": {}}, "non-empty dict"),
    (_cfg(lr={"min": 0.1, "max": 0.01}), "min (0.1) must be below max (0.01)"),
    (_cfg(lr={"distribution": "log_uniform_values", "min": 0, "max": 1}), "needs min > 0"),
    (_cfg(lr={"distribution": "uniform", "min": 0}), "needs max"),
    (_cfg(lr={"distribution": "beta", "min": 0, "max": 1}), "(distribution beta) does not take 'max'"),
    (_cfg(lr={"distribution": "beta", "a": 0}), "a (of the beta distribution) must be > 0"),
    (_cfg(lr={"distribution": "gamma"}), "unknown distribution 'gamma'"),
    (_cfg(lr={"distribution": "categorical_w_probabilities", "values": [1, 2]}), "needs probabilities"),
    ({**_cfg(a={"values": [1]}), "job": "me/train:v1"}, "'job' is a W&B Launch job"),
    ({**_cfg(a={"values": [1]}), "scheduler": {"engine": "optuna"}}, "'scheduler' is a W&B Launch scheduler"),
    ({**_cfg(a={"values": [1]}), "method": "custom"}, "method 'custom' is for W&B Launch schedulers"),
    ({**_cfg(a={"values": [1]}), "controller": {"type": "remote"}}, "controller is {type: local} or {type: cloud}"),
    ({**_cfg(a={"values": [1]}), "metric": {"name": "loss", "impute": "mean"}}, "metric.impute is one of latest, best, worst"),
    ({**_cfg(a={"values": [1]}), "early_terminate": {"type": "hyperband", "min_iter": 3, "strict": "yes"}}, "strict is true or false"),
    (_cfg(lr={"distribution": "uniform", "min": 0, "max": 1, "values": [1]}), "does not take 'values'"),
    (_cfg(lr={"valus": [1, 2]}), "unknown key 'valus'"),
    (_cfg(lr={"values": []}), "non-empty list"),
    (_cfg(lr={"values": [1, 1]}), "lists a value twice"),
    (_cfg(lr={"values": [1, 2], "probabilities": [0.5, 0.6]}), "sum to 1"),
    (_cfg(lr={"distribution": "normal", "sigma": -1}), "sigma must be > 0"),
    (_cfg(lr={"distribution": "q_uniform", "min": 0, "max": 1, "q": 0}), "q must be > 0"),
    (_cfg(lr={"distribution": "int_uniform", "min": 0.5, "max": 3}), "whole-number min and max"),
    (_cfg(lr={"min": "a", "max": 1}), "min must be a number"),
    (_cfg(g={"parameters": {}}), "non-empty dict of parameters"),
    ({"method": "bayes", "parameters": {"a": {"values": [1]}}}, 'method "bayes" needs a metric'),
    ({"method": "grid", "parameters": {"a": {"min": 0.0, "max": 1.0}}}, "'grid' needs every parameter to be discrete"),
    ({**_cfg(a={"values": [1]}), "metric": {"name": "loss", "goal": "lower"}}, "goal must be 'minimize' or 'maximize'"),
    ({**_cfg(a={"values": [1]}), "run_cap": 0}, "run_cap must be"),
    ({**_cfg(a={"values": [1]}), "early_terminate": {"type": "hyperband"}}, "needs min_iter or max_iter"),
    ({**_cfg(a={"values": [1]}), "early_terminate": {"type": "median", "min_iter": 3}}, "must be 'hyperband'"),
    ({**_cfg(a={"values": [1]}), "early_terminate": {"type": "hyperband", "min_iter": 3, "eta": 1}}, "eta must be"),
    ({"method": "random", "parameters": {"a": {"values": [1]}}, "early_terminate": {"type": "hyperband", "min_iter": 3}},
     "needs a metric"),
    ({**_cfg(a={"values": [1]}), "command": ["python", "${prog}"]}, "unknown macro '${prog}'"),
    ({**_cfg(a={"values": [1]}), "command": ["${interpreter}", "${program}"]}, "has no program"),
    ({**_cfg(a={"values": [float("nan")]})}, "JSON values"),
])
def test_a_bad_config_is_refused_with_what_to_fix_and_nothing_is_stored(config, words, tracklet_env):
    with pytest.raises(tracklet.UsageError) as e:
        tracklet.sweep(config, project="p")
    assert words in str(e.value)
    assert not (tracklet_env / "tracklet.db").exists() or tracklet.Api().sweeps() == []


def test_every_distribution_draws_inside_its_range_and_scale():
    cfg = check_config(_cfg(
        c={"value": "x"}, cat={"values": ["a", {"b": 1}], "probabilities": [0.0, 1.0]}, i={"min": 2, "max": 4},
        u={"min": -1.0, "max": 1.0}, qu={"distribution": "q_uniform", "min": 0, "max": 10, "q": 2},
        lu={"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1},
        qlu={"distribution": "q_log_uniform_values", "min": 1, "max": 1000, "q": 1},
        ilu={"distribution": "inv_log_uniform_values", "min": 0.01, "max": 1.0},
        n={"distribution": "normal", "mu": 5, "sigma": 0.1}, qn={"distribution": "q_normal", "q": 0.5},
        ln={"distribution": "log_normal", "mu": 0, "sigma": 1}, qln={"distribution": "q_log_normal", "q": 1},
        le={"distribution": "log_uniform", "min": 0, "max": 2},
        qle={"distribution": "q_log_uniform", "min": 0, "max": 5, "q": 2},
        be={"distribution": "beta", "a": 2, "b": 5}, qbe={"distribution": "q_beta", "q": 0.25},
        cwp={"distribution": "categorical_w_probabilities", "values": [1, 2], "probabilities": [1.0, 0.0]},
    ))
    rng = random.Random(0)
    draws = [{p.name: p.sample(rng) for p in cfg.params} for _ in range(2000)]
    assert {d["c"] for d in draws} == {"x"} and all(d["cat"] == {"b": 1} for d in draws)
    assert {d["i"] for d in draws} == {2, 3, 4}
    assert all(-1 <= d["u"] <= 1 and d["qu"] % 2 == 0 and 0 <= d["qu"] <= 10 for d in draws)
    lu = [d["lu"] for d in draws]
    assert min(lu) >= 1e-5 and max(lu) <= 1e-1
    below = sum(x < 1e-3 for x in lu) / len(lu)  # log scale: half the draws below the geometric middle
    assert 0.4 < below < 0.6
    assert all(d["qlu"] == int(d["qlu"]) and 1 <= d["qlu"] <= 1000 for d in draws)
    assert all(0.01 <= d["ilu"] <= 1.0 for d in draws)
    assert abs(sum(d["n"] for d in draws) / len(draws) - 5) < 0.02
    assert all(d["qn"] * 2 == int(d["qn"] * 2) and d["ln"] > 0 and d["qln"] == round(d["qln"]) for d in draws)
    assert all(1 <= d["le"] <= math.exp(2) for d in draws)
    assert all(0 <= d["qle"] <= math.exp(5) + 1 and d["qle"] % 2 == 0 for d in draws)
    assert all(0 <= d["be"] <= 1 for d in draws) and abs(sum(d["be"] for d in draws) / len(draws) - 2 / 7) < 0.02
    assert {d["qbe"] for d in draws} <= {0.0, 0.25, 0.5, 0.75, 1.0} and {d["cwp"] for d in draws} == {1}


def test_keys_of_wandbs_schema_that_change_nothing_here_are_taken():
    """A wandb sweep file written for `wandb controller --local` (or a manifest with kind/apiVersion) runs unchanged."""
    cfg = check_config({**_cfg(a={"values": [1]}), "controller": {"type": "local"}, "kind": "sweep", "apiVersion": "v1"})
    assert cfg.raw["controller"] == {"type": "local"}


def test_nested_groups_become_dotted_arguments_and_nested_config():
    cfg = check_config({"method": "grid", "program": "train.py", "parameters": {
        "lr": {"values": [0.1]}, "optimizer": {"parameters": {"name": {"value": "adam"}, "beta": {"values": [0.9, 0.99]}}},
    }})
    points = cfg.grid()
    assert len(points) == 2
    params = nest(points[1])
    assert params == {"lr": 0.1, "optimizer": {"name": "adam", "beta": 0.99}}
    flat = {".".join(k): v for k, v in points[1].items()}
    command = build_command(cfg.raw, params, flat)
    assert command[1:] == [command[1], "train.py", "--lr=0.1", "--optimizer.name=adam", "--optimizer.beta=0.99"]
    custom = {**cfg.raw, "command": ["run", "${args_no_hyphens}", "${args_json}"]}
    assert build_command(custom, params, flat) == [
        "run", "lr=0.1", "optimizer.name=adam", "optimizer.beta=0.99", '{"lr": 0.1, "optimizer": {"name": "adam", "beta": 0.99}}',
    ]


def test_every_wandb_command_macro(tmp_path, monkeypatch):
    cfg = check_config({"method": "grid", "program": "train.py", "command": [
        "${env}", "${interpreter}", "${program}", "${args_no_boolean_flags}", "${args_json_file}", "--tag", "${envvar:RUN_TAG}",
    ], "parameters": {"lr": {"value": 0.1}, "fp16": {"value": True}, "compile": {"value": False}, "name": {"value": "a b"}}})
    (point,) = cfg.grid()
    params = nest(point)
    flat = {".".join(k): v for k, v in point.items()}
    monkeypatch.setenv("RUN_TAG", "nightly")
    json_file = str(tmp_path / "params.json")
    command = build_command(cfg.raw, params, flat, json_file)
    assert command[2:] == ["train.py", "--lr=0.1", "--fp16", "--name=a b", json_file, "--tag", "nightly"]  # False: left out
    assert json.loads((tmp_path / "params.json").read_text()) == {"lr": 0.1, "fp16": True, "compile": False, "name": "a b"}
    monkeypatch.delenv("RUN_TAG")
    with pytest.raises(tracklet.UsageError, match=r"uses \$\{envvar:RUN_TAG\}, but RUN_TAG is not set in this agent's environment"):
        build_command(cfg.raw, params, flat, json_file)
    with pytest.raises(tracklet.UsageError, match=r"unknown macro '\$\{envvar:\}'"):
        check_config({**cfg.raw, "command": ["${envvar:}"]})


def test_hyperband_rungs_and_the_kept_fraction():
    assert rungs({"type": "hyperband", "min_iter": 3, "eta": 3})[:5] == [3, 9, 27, 81, 243]  # as wandb: no last rung
    assert rungs({"type": "hyperband", "min_iter": 3, "eta": 3, "s": 3}) == [3, 9, 27]
    assert rungs({"type": "hyperband", "min_iter": 1, "eta": 2})[-1] == 2**31
    assert rungs({"type": "hyperband", "max_iter": 27, "eta": 3, "s": 2}) == [3, 9]
    assert should_stop(5.0, [1.0, 5.0], eta=3, maximize=False)
    assert not should_stop(1.0, [1.0, 5.0], eta=3, maximize=False)
    assert not should_stop(5.0, [5.0], eta=3, maximize=False)  # alone at a rung: nothing to compare with
    values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert [should_stop(v, values, eta=3, maximize=True) for v in values] == [True] * 4 + [False] * 2
