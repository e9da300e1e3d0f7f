"""Sweeps in process: the controller's claims through the store, agents running functions, Api.sweep."""

import math
import os
import random

import pytest

import tracklet
from tracklet.store.sql._store import SqlStore
from tracklet.sweeps._controller import next_trial

GRID = {
    "method": "grid", "metric": {"name": "loss", "goal": "minimize"},
    "parameters": {"a": {"values": [1, 2, 3]}, "g": {"parameters": {"b": {"values": ["x", "y"]}}}},
}


def _train(steps=3):
    def train():
        with tracklet.init() as run:
            c = run.config
            for i in range(steps):
                run.log({"loss": c["a"] * 10 + (c["g"]["b"] == "y") + i * 0.0})
    return train


def test_a_function_agent_covers_the_grid_once_and_the_runs_carry_their_config(tracklet_env):
    sweep_id = tracklet.sweep(GRID, project="p")
    assert tracklet.agent(sweep_id, function=_train(), count=10) == 6  # the grid ends the agent, not count
    sweep = tracklet.Api().sweep(f"p/{sweep_id}")
    assert sweep.state == "finished"
    assert sweep.config == GRID
    configs = sorted((r.config["a"], r.config["g"]["b"]) for r in sweep.runs)
    assert configs == [(a, b) for a in (1, 2, 3) for b in ("x", "y")]
    assert all(r.state == "finished" for r in sweep.runs)
    assert sweep.best_run().config == {"a": 1, "g": {"b": "x"}}
    assert [s.id for s in tracklet.Api().sweeps("p")] == [sweep_id]
    store = SqlStore(str(tracklet_env))
    try:  # a run page finds its sweep
        assert [s["id"] for s in store.sweeps("p", run_id=sweep.runs[0].id)] == [sweep_id]
        assert store.sweeps("p", run_id="not-a-trial") == []
    finally:
        store.close()


def test_interleaved_claims_never_hand_out_a_grid_point_twice(tracklet_env):
    sweep_id = tracklet.sweep(GRID, project="p")
    stores = [SqlStore(str(tracklet_env)) for _ in range(3)]
    got = []
    for i in range(10):
        trial, why = next_trial(stores[i % 3], sweep_id, f"agent{i % 3}")
        if trial is None:
            break
        got.append(trial["params"])
    assert why == "finished" and len(got) == 6
    assert len({(p["a"], p["g"]["b"]) for p in got}) == 6


def test_a_point_whose_agent_died_before_its_run_started_is_handed_out_again(tracklet_env):
    sweep_id = tracklet.sweep({**GRID, "parameters": {"a": {"values": [1]}}}, project="p")
    store = SqlStore(str(tracklet_env))
    dead_pid = os.fork()
    if dead_pid == 0:
        os._exit(0)
    os.waitpid(dead_pid, 0)
    claim = {"run_id": "lost-run", "params": {"a": 1}, "point": '[[["a"],1]]', "replaces": None, "agent": "gone",
             "host": os.uname().nodename, "pid": dead_pid}
    assert store.claim_trial(sweep_id, claim) == {"claimed": True, "number": 1}
    assert store.claim_trial(sweep_id, {**claim, "run_id": "again"})["reason"] == "taken"
    trial, _ = next_trial(store, sweep_id, "me")
    assert trial["params"] == {"a": 1} and trial["number"] == 2
    trials = store.sweep(sweep_id)["trials"]
    assert [t["status"] for t in trials] == ["dead", "active"]


def test_run_cap_ends_the_sweep_and_pause_holds_claims(tracklet_env):
    sweep_id = tracklet.sweep({"method": "random", "run_cap": 2, "parameters": {"a": {"min": 0.0, "max": 1.0}}}, project="p")
    store = SqlStore(str(tracklet_env))
    assert store.set_sweep_state(sweep_id, "paused", only_from=["running"]) == "paused"
    assert next_trial(store, sweep_id, "me") == (None, "paused")
    store.set_sweep_state(sweep_id, "running")
    assert next_trial(store, sweep_id, "me")[1] == next_trial(store, sweep_id, "me")[1] == "claimed"
    assert next_trial(store, sweep_id, "me") == (None, "run_cap")
    assert store.sweep(sweep_id)["state"] == "finished"


def test_bayes_stays_in_bounds_honours_log_scale_and_categoricals_and_learns(tracklet_env, monkeypatch):
    pytest.importorskip("optuna")
    from tracklet.sweeps import _controller

    # one fixed draw of the agent's randomness (and so of the sampler's seeds): "it learns" below compares two
    # medians of a stochastic search, which an unlucky draw failed about one run in twenty
    seeded, claim = random.Random(20261205), _controller.next_trial
    monkeypatch.setattr(_controller, "next_trial", lambda store, sweep_id, agent: claim(store, sweep_id, agent, rng=seeded))
    config = {
        "method": "bayes", "metric": {"name": "loss", "goal": "minimize"},
        "parameters": {
            "lr": {"distribution": "log_uniform_values", "min": 1e-6, "max": 1e-1},
            "r": {"values": [8, 16, 32, 64]},
            "act": {"values": ["relu", {"name": "gelu"}]},
            "q": {"distribution": "q_uniform", "min": 0, "max": 1, "q": 0.25},
            "n": {"distribution": "int_uniform", "min": -3, "max": 3},
        },
    }
    sweep_id = tracklet.sweep(config, project="p")

    def train():
        with tracklet.init() as run:
            c = run.config
            run.log({"loss": (math.log10(c["lr"]) + 4) ** 2 + abs(c["r"] - 16) / 16 + (c["act"] != "relu") + abs(c["n"])})

    tracklet.agent(sweep_id, function=train, count=30)
    runs = tracklet.Api().sweep(sweep_id).runs
    assert len(runs) == 30
    for r in runs:
        c = r.config
        assert 1e-6 <= c["lr"] <= 1e-1 and c["r"] in (8, 16, 32, 64) and c["act"] in ("relu", {"name": "gelu"})
        assert c["q"] in (0, 0.25, 0.5, 0.75, 1.0) and c["n"] in range(-3, 4)
    later = sorted(r.summary["loss"] for r in runs[15:])
    earlier = sorted(r.summary["loss"] for r in runs[:10])
    assert later[len(later) // 2] < earlier[len(earlier) // 2]  # the optimiser learns from the finished runs
    small = sum(r.config["lr"] < 1e-3 for r in runs[:10])  # the first draws are log-uniform: 60% below 1e-3, not 1%
    assert small >= 2


def _good_and_bad_run(good_steps, bad_steps, pause):
    """A hyperband sweep (rungs 2, 4, 8, ...) of a good run then a bad one, each logging ``loss`` its number of
    steps with ``pause`` seconds after each of the bad run's (and of the good run's when it is as long);
    returns the two trials and how many steps each run logged."""
    import time

    config = {"method": "grid", "metric": {"name": "loss", "goal": "minimize"},
              "parameters": {"bad": {"values": [False, True]}},
              "early_terminate": {"type": "hyperband", "min_iter": 2, "eta": 2}}
    sweep_id = tracklet.sweep(config, project="p")
    logged = {}

    def train():
        with tracklet.init() as run:
            bad = run.config["bad"]
            logged[run.id] = 0
            for _ in range(bad_steps if bad else good_steps):
                run.log({"loss": 100.0 if bad else 1.0})
                logged[run.id] += 1
                if bad or good_steps == bad_steps:
                    time.sleep(pause)

    tracklet.agent(sweep_id, function=train)
    good, bad = tracklet.Api().sweep(sweep_id).trials()
    return good, bad, logged


def test_hyperband_stops_a_clearly_bad_run_at_its_first_rung(tracklet_env, monkeypatch):
    monkeypatch.setenv("TRACKLET_SWEEP_POLL", "0.05")
    good, bad, logged = _good_and_bad_run(40, 40, 0.03)
    assert good["run_state"] == "finished" and logged[good["run_id"]] == 40
    assert bad["run_state"] == "stopped" and bad["rungs"]["2"] == 100.0
    assert logged[bad["run_id"]] < 40
    assert tracklet.Api().run(bad["run_id"]).state == "stopped"


def test_a_run_shorter_than_the_poll_records_its_rungs_and_a_later_bad_run_is_stopped_against_them(tracklet_env, monkeypatch):
    monkeypatch.setenv("TRACKLET_SWEEP_POLL", "1.5")
    good, bad, logged = _good_and_bad_run(4, 100, 0.05)  # the good run ends long before the agent's first look
    assert good["run_state"] == "finished" and good["rungs"] == {"2": 1.0, "4": 1.0}
    assert bad["run_state"] == "stopped" and logged[bad["run_id"]] < 100


@pytest.mark.parametrize("strict, kept", [(False, {"2": 1.0, "4": 1.0}), (True, {"2": 5.0, "4": 3.0})])
def test_strict_hyperband_keeps_the_value_at_each_rung_not_the_best_so_far(tracklet_env, strict, kept):
    config = {"method": "grid", "metric": {"name": "loss", "goal": "minimize"}, "parameters": {"a": {"value": 1}},
              "early_terminate": {"type": "hyperband", "min_iter": 2, "eta": 2, "strict": strict}}
    sweep_id = tracklet.sweep(config, project="p")

    def train():
        with tracklet.init() as run:
            for loss in (1.0, 5.0, 4.0, 3.0):
                run.log({"loss": loss})

    tracklet.agent(sweep_id, function=train)
    (trial,) = tracklet.Api().sweep(sweep_id).trials()
    assert trial["rungs"] == kept


def test_the_agent_reads_each_logged_value_of_the_metric_once_however_often_it_looks(tracklet_env, monkeypatch):
    monkeypatch.setenv("TRACKLET_SWEEP_POLL", "0.02")
    read = []
    history = SqlStore.history

    def counted(self, run_id, keys=None, min_step=None, max_step=None):
        for row in history(self, run_id, keys, min_step, max_step):
            read.append((run_id, row["_step"]))
            yield row

    monkeypatch.setattr(SqlStore, "history", counted)
    good, bad, logged = _good_and_bad_run(60, 60, 0.01)
    assert bad["run_state"] == "stopped" and good["rungs"] == {"2": 1.0, "4": 1.0, "8": 1.0, "16": 1.0, "32": 1.0}
    assert len(read) == len(set(read)) and len(read) <= sum(logged.values())  # each step once: not the whole history at each look
    assert {(good["run_id"], step) for step in range(60)} <= set(read)


def test_a_metric_that_is_never_logged_is_said_after_the_first_finished_run(tracklet_env):
    sweep_id = tracklet.sweep({**GRID, "parameters": {"a": {"values": [1, 2]}}}, project="p")

    def train():
        with tracklet.init() as run:
            run.log({"val_loss": 1.0})

    with pytest.warns(tracklet.TrackletWarning, match=r"metric 'loss' was never logged by run \w+ \(it logged: val_loss\)"):
        tracklet.agent(sweep_id, function=train, count=1)


def test_a_failing_function_fails_its_run_and_the_agent_goes_on(tracklet_env, capsys):
    sweep_id = tracklet.sweep({**GRID, "parameters": {"a": {"values": [1, 2]}}}, project="p")

    def train():
        with tracklet.init() as run:
            if run.config["a"] == 1:
                raise RuntimeError("boom")
            run.log({"loss": 1.0})

    assert tracklet.agent(sweep_id, function=train) == 2
    states = [t["run_state"] for t in tracklet.Api().sweep(sweep_id).trials()]
    assert states == ["failed", "finished"]
    assert "RuntimeError: boom" in capsys.readouterr().err


def test_sweep_actions_and_their_refusals(tracklet_env, capsys):
    from tracklet.cli import main

    sweep_id = tracklet.sweep(GRID, project="p")
    assert main(["sweep", "pause", f"p/{sweep_id}"]) == 0
    assert main(["sweep", "pause", sweep_id]) == 1  # already paused: said, not done
    assert main(["sweep", "resume", sweep_id]) == 0
    assert main(["sweep", "stop", sweep_id]) == 0  # agents take no more trials
    assert tracklet.Api().sweep(sweep_id).state == "stopped"
    assert tracklet.agent(sweep_id, function=_train()) == 0
    assert main(["sweep", "resume", sweep_id]) == 1  # resume is for a paused sweep
    capsys.readouterr()
    assert main(["sweep", "ls", "--project", "p"]) == 0
    assert capsys.readouterr().out.splitlines()[1].split()[:5] == [sweep_id, "p", "grid", "stopped", "0"]
    assert main(["sweep", "cancel", sweep_id]) == 0
    assert tracklet.Api().sweep(sweep_id).state == "cancelled"
    assert tracklet.agent(sweep_id, function=_train()) == 0
    with pytest.raises(tracklet.UsageError, match="no sweep 'nope'"):
        tracklet.agent("nope", function=_train())
    with pytest.raises(tracklet.UsageError, match="belongs to project 'p', not 'q'"):
        tracklet.Api().sweep(f"q/{sweep_id}")


def test_random_draws_differ_between_agents(tracklet_env):
    sweep_id = tracklet.sweep({"method": "random", "parameters": {"a": {"min": 0.0, "max": 1.0}}}, project="p")
    store = SqlStore(str(tracklet_env))
    values = {next_trial(store, sweep_id, "me", random.Random())[0]["params"]["a"] for _ in range(5)}
    assert len(values) == 5


def test_a_sweep_on_postgresql_claims_each_grid_point_once(pg_url):
    from tracklet.store.sql._migrate import migrate

    migrate(pg_url)
    store = SqlStore(url=pg_url)
    try:
        store.create_sweep("s1", "p", "team", GRID, "first")
        with pytest.raises(tracklet.UsageError, match="already exists"):
            store.create_sweep("s1", "p", None, GRID)
        got = []
        while True:
            trial, why = next_trial(store, "s1", "me")
            if trial is None:
                break
            got.append((trial["params"]["a"], trial["params"]["g"]["b"]))
        assert why == "finished" and sorted(got) == [(a, b) for a in (1, 2, 3) for b in ("x", "y")]
        store.update_trial("s1", 2, {"3": 0.5})
        doc = store.sweep("s1")
        assert doc["entity"] == "team" and doc["config"] == GRID and doc["trials"][1]["rungs"] == {"3": 0.5}
        assert [s["id"] for s in store.sweeps("p", "team")] == ["s1"] and store.sweeps("q") == []
    finally:
        store.close()


def test_how_a_trial_is_judged_dead_live_or_done():
    from tracklet.sweeps._controller import trial_phase

    now = 10_000.0
    me, here = os.getpid(), os.uname().nodename
    base = {"status": "active", "claimed_at": now - 5, "pid": me, "host": here, "run_state": None}
    assert trial_phase(base, now) == "pending"
    assert trial_phase({**base, "host": "elsewhere"}, now) == "pending"  # another machine: fresh, so alive
    assert trial_phase({**base, "host": "elsewhere", "claimed_at": now - 1000}, now) == "dead"
    running = {**base, "run_state": "running", "run_pid": None, "run_host": "elsewhere", "heartbeat_at": now - 10}
    assert trial_phase(running, now) == "running"
    assert trial_phase({**running, "heartbeat_at": now - 1000}, now) == "dead"  # silent: a server marks no crash
    assert trial_phase({**running, "run_state": "crashed"}, now) == "dead"
    assert [trial_phase({**running, "run_state": s}, now) for s in ("finished", "failed", "stopped")] == ["done"] * 3
    assert trial_phase({**base, "status": "dead"}, now) == "superseded"


def test_a_function_that_never_calls_init_is_said(tracklet_env):
    sweep_id = tracklet.sweep({**GRID, "parameters": {"a": {"values": [1]}}}, project="p")
    with pytest.warns(tracklet.TrackletWarning, match="did not call tracklet.init"):
        tracklet.agent(sweep_id, function=lambda: None, count=1)


def test_an_agent_whose_first_three_trials_fail_stops_saying_so(tracklet_env, capsys):
    sweep_id = tracklet.sweep({**GRID, "parameters": {"a": {"values": list(range(10))}}}, project="p")

    def train():
        with tracklet.init():
            raise RuntimeError("broken script")

    with pytest.raises(tracklet.UsageError, match="the first 3 trials of this agent failed"):
        tracklet.agent(sweep_id, function=train)
    assert [t["run_state"] for t in tracklet.Api().sweep(sweep_id).trials()] == ["failed"] * 3
    capsys.readouterr()


def test_cancelling_a_sweep_stops_its_running_run_and_its_agents(tracklet_env, monkeypatch, capsys):
    import threading
    import time

    from tracklet.cli import main

    monkeypatch.setenv("TRACKLET_SWEEP_POLL", "0.05")
    sweep_id = tracklet.sweep(GRID, project="p")
    steps = []

    def train():
        with tracklet.init() as run:
            if not steps:
                threading.Thread(target=main, args=(["sweep", "cancel", sweep_id],)).start()
            for i in range(500):
                run.log({"loss": 1.0})
                steps.append(i)
                time.sleep(0.01)

    assert tracklet.agent(sweep_id, function=train) == 1
    trials = tracklet.Api().sweep(sweep_id).trials()
    assert [t["run_state"] for t in trials] == ["stopped"] and len(steps) < 500
    assert tracklet.Api().sweep(sweep_id).state == "cancelled"


def test_prior_runs_join_the_sweep_as_done_points_and_bad_ones_are_refused(tracklet_env, monkeypatch):
    """wandb's ``sweep(config, prior_runs=[...])``: runs made before the sweep are its trials; a grid skips
    their points, bayes is told their metric; an unknown run or another sweep's trial creates nothing."""
    before = []
    for a, b in ((2, "y"), (2.0, "y"), (3, "z")):  # a repeat of one point, and a point outside the grid
        with tracklet.init(project="p", config={"a": a, "g": {"b": b}, "other": 1}) as run:
            run.log({"loss": a * 10})
        before.append(run.id)
    sweep_id = tracklet.sweep(GRID, project="p", prior_runs=[f"p/{before[0]}", before[1], before[2]])
    assert tracklet.agent(sweep_id, function=_train(), count=10) == 5  # (2, "y") was done before
    sweep = tracklet.Api().sweep(f"p/{sweep_id}")
    assert {r.id for r in sweep.runs} >= set(before) and len(sweep.runs) == 8
    assert sorted((r.config["a"], r.config["g"]["b"]) for r in sweep.runs if r.id not in before) == [
        (1, "x"), (1, "y"), (2, "x"), (3, "x"), (3, "y")]
    assert sweep.best_run().config["a"] == 1

    with pytest.raises(tracklet.UsageError, match="prior run 'nosuchrun' is not in .*nothing was created"):
        tracklet.sweep(GRID, project="p", prior_runs=["nosuchrun"])
    with pytest.raises(tracklet.UsageError, match=f"already a trial of sweep {sweep_id}"):
        tracklet.sweep(GRID, project="p", prior_runs=[before[0]])
    with pytest.raises(tracklet.UsageError, match="prior_runs must be a list of run ids"):
        tracklet.sweep(GRID, project="p", prior_runs=before[0])
    assert [s.id for s in tracklet.Api().sweeps("p")] == [sweep_id]

    pytest.importorskip("optuna")
    from tracklet.sweeps import _bayes

    told = []
    suggest = _bayes.suggest
    monkeypatch.setattr(_bayes, "suggest", lambda cfg, history, **kw: told.append(history) or suggest(cfg, history, **kw))
    with tracklet.init(project="p", config={"lr": 1e-3}) as run:
        run.log({"loss": 0.25})
    bayes = {"method": "bayes", "metric": {"name": "loss", "goal": "minimize"},
             "parameters": {"lr": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1}}}

    def trial():
        with tracklet.init() as r:
            r.log({"loss": 1.0})

    tracklet.agent(tracklet.sweep(bayes, project="p", prior_runs=[run.id]), function=trial, count=1)
    assert told[0] == [({("lr",): 1e-3}, "complete", 0.25)]


def test_the_sweep_finishes_once_a_run_reaches_the_metric_target(tracklet_env):
    config = {"method": "grid", "metric": {"name": "loss", "goal": "minimize", "target": 1.5},
              "parameters": {"a": {"values": [3, 1, 2, 0]}}}
    sweep_id = tracklet.sweep(config, project="p")

    def train():
        with tracklet.init() as run:
            run.log({"loss": float(run.config["a"])})

    assert tracklet.agent(sweep_id, function=train) == 2  # a=1 reached 1.5: a=2 and a=0 are never run
    sweep = tracklet.Api().sweep(sweep_id)
    assert sweep.state == "finished" and [r.config["a"] for r in sweep.runs] == [3, 1]
    maximize = tracklet.sweep({**config, "metric": {"name": "loss", "goal": "maximize", "target": 3}}, project="p")
    assert tracklet.agent(maximize, function=train) == 1


def _live_trial():
    """A time and the fields of a trial claimed by this process, whose run is alive then (a trial's state comes from
    its run_state)."""
    now, me, here = 10_000.0, os.getpid(), os.uname().nodename
    return now, {"status": "active", "claimed_at": now - 5, "pid": me, "host": here, "point": None,
                 "run_pid": me, "run_host": here, "heartbeat_at": now - 1, "summary": {}}


def test_bayes_is_told_finished_runs_failed_ones_as_failures_and_running_ones_as_pending(monkeypatch):
    pytest.importorskip("optuna")
    from tracklet.sweeps import _bayes
    from tracklet.sweeps._config import check_config
    from tracklet.sweeps._controller import propose

    cfg = check_config({"method": "bayes", "metric": {"name": "loss"},
                        "parameters": {"lr": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1}}})
    now, base = _live_trial()
    trials = [
        {**base, "params": {"lr": 1e-3}, "run_state": "finished", "summary": {"loss": 0.5}},
        {**base, "params": {"lr": 2e-3}, "run_state": "stopped", "summary": {"loss": 0.9}},  # hyperband stopped it
        {**base, "params": {"lr": 3e-3}, "run_state": "failed"},
        {**base, "params": {"lr": 4e-3}, "run_state": "crashed"},
        {**base, "params": {"lr": 5e-3}, "run_state": "running"},
        {**base, "params": {"lr": 6e-3}, "run_state": None},  # claimed, its run not started yet
        {**base, "params": {"lr": 7e-3}, "run_state": "finished"},  # never logged the metric
    ]
    told = []
    suggest = _bayes.suggest
    monkeypatch.setattr(_bayes, "suggest", lambda cfg, history, **kw: told.append(history) or suggest(cfg, history, **kw))
    point = propose(cfg, trials, random.Random(0), now).flat
    assert [(p[("lr",)], state, value) for p, state, value in told[0]] == [
        (1e-3, "complete", 0.5), (2e-3, "complete", 0.9), (3e-3, "fail", None), (4e-3, "fail", None),
        (5e-3, "running", None), (6e-3, "running", None), (7e-3, "complete", None)]
    assert 1e-5 <= point[("lr",)] <= 1e-1  # Optuna took all of it (the one with no metric as a failure)


@pytest.mark.parametrize("impute, running, failed_as, running_as", [
    ("worst", "latest", ("complete", 0.9), ("complete", 0.7)),
    ("best", "false", ("complete", 0.5), ("running", None)),
    ("latest", "worst", ("complete", 2.0), ("complete", 0.9)),  # the failed run's own last value; the crashed one has none
])
def test_metric_impute_tells_bayes_a_value_for_failed_and_running_runs(monkeypatch, impute, running, failed_as, running_as):
    pytest.importorskip("optuna")
    from tracklet.sweeps import _bayes
    from tracklet.sweeps._config import check_config
    from tracklet.sweeps._controller import propose

    cfg = check_config({"method": "bayes", "metric": {"name": "loss", "impute": impute, "impute_while_running": running},
                        "parameters": {"lr": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1}}})
    now, base = _live_trial()
    trials = [
        {**base, "params": {"lr": 1e-3}, "run_state": "finished", "summary": {"loss": 0.5}},
        {**base, "params": {"lr": 2e-3}, "run_state": "finished", "summary": {"loss": 0.9}},
        {**base, "params": {"lr": 3e-3}, "run_state": "failed", "summary": {"loss": 2.0}},
        {**base, "params": {"lr": 5e-3}, "run_state": "running", "summary": {"loss": 0.7}},
    ]
    told = []
    suggest = _bayes.suggest
    monkeypatch.setattr(_bayes, "suggest", lambda cfg, history, **kw: told.append(history) or suggest(cfg, history, **kw))
    propose(cfg, trials, random.Random(0), now)
    assert [(state, value) for _, state, value in told[0]] == [("complete", 0.5), ("complete", 0.9), failed_as, running_as]


def test_the_issues_example_runs_with_import_tracklet_as_wandb(tracklet_env):
    pytest.importorskip("optuna")
    import tracklet as wandb

    sweep_config = {
        "method": "bayes",
        "metric": {"goal": "minimize", "name": "val/loss"},
        "parameters": {
            "learning_rate": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-3},
            "lora_r": {"values": [8, 16, 32, 64]},
            "lora_alpha": {"values": [16, 32, 64]},
            "batch_size": {"values": [4, 8, 16]},
        },
        "early_terminate": {"type": "hyperband", "min_iter": 3, "eta": 3},
    }
    sweep_id = wandb.sweep(sweep_config, project="llm-finetuning")

    def train():
        with wandb.init() as run:
            c = run.config
            for epoch in range(3):
                val_loss = abs(math.log10(c["learning_rate"]) + 4) + c["lora_r"] / c["lora_alpha"] / (epoch + 1)
                run.log({"val/loss": val_loss})

    assert wandb.agent(sweep_id, function=train, count=4) == 4
    sweep = wandb.Api().sweep(f"llm-finetuning/{sweep_id}")
    assert len(sweep.runs) == 4 and sweep.state == "running" and sweep.config == sweep_config
    assert all(r.state == "finished" and set(r.config) == set(sweep_config["parameters"]) for r in sweep.runs)
    assert sweep.best_run().summary["val/loss"] == min(r.summary["val/loss"] for r in sweep.runs)
    summaries = {r.id: r.summary["val/loss"] for r in sweep.runs}  # val/loss falls each epoch: the last is the best
    assert all(t["rungs"] == {"3": summaries[t["run_id"]]} for t in sweep.trials())  # hyperband's rung, recorded


def test_tracklet_sweep_reads_a_wandb_yaml_config_and_prints_the_id(tracklet_env, tmp_path, capsys):
    pytest.importorskip("yaml")
    from tracklet.cli import main

    (tmp_path / "sweep.yaml").write_text(
        "program: train.py\n"
        "method: grid\n"
        "metric:\n  name: val/loss\n  goal: minimize\n"
        "parameters:\n"
        "  learning_rate:\n    values: [0.001, 0.0001]\n"
        "  optimizer:\n    parameters:\n      name:\n        value: adam\n"
        "command:\n  - ${env}\n  - ${interpreter}\n  - ${program}\n  - ${args}\n"
    )
    assert main(["sweep", str(tmp_path / "sweep.yaml"), "--project", "p"]) == 0
    sweep_id = capsys.readouterr().out.strip()
    config = tracklet.Api().sweep(f"p/{sweep_id}").config
    assert config["command"] == ["${env}", "${interpreter}", "${program}", "${args}"]
    assert config["parameters"]["learning_rate"]["values"] == [0.001, 0.0001]
    (tmp_path / "bad.yaml").write_text("method: grid\nparameters: [\n")
    assert main(["sweep", str(tmp_path / "bad.yaml")]) == 1
    assert "bad.yaml is not valid YAML" in capsys.readouterr().err
