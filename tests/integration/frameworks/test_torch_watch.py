"""watch()/unwatch() on a plain PyTorch loop: what is recorded, how often, at which step."""

from __future__ import annotations

import pytest
import torch
from tiny import FRAMEWORK_WARNINGS, history, only_run, regression_data, steps

import tracklet
from tracklet.integrations.torch import unwatch, watch

pytestmark = FRAMEWORK_WARNINGS


def mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))


def loop(model, run, epochs: int = 2, clip: list | None = None):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(epochs):
        for x, y in regression_data():
            loss = torch.nn.functional.mse_loss(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(model.parameters(), 1e9)
            if clip is not None:
                clip.append(float(norm))
            optimizer.step()
            run.log({"loss": loss.item()})
        with torch.no_grad():  # evaluation passes are not counted
            model.eval()
            model(torch.zeros(2, 4))
            model.train()


def test_gradients_every_log_freq_steps_match_the_clipped_norm():
    run = tracklet.init(project="w")
    model = mlp()
    watch(model, log_freq=3)
    norms: list[float] = []
    loop(model, run, clip=norms)
    run.finish()
    stored = only_run()
    assert steps(stored, "gradients/total_norm") == [0, 3, 6, 9]
    assert [v for _, v in history(stored, "gradients/total_norm")] == pytest.approx([norms[i] for i in (0, 3, 6, 9)], rel=1e-5)
    keys = set(stored.keys())
    assert {f"gradients/0.weight.{s}" for s in ("norm", "mean", "std", "min", "max")} <= keys
    assert not any(k.startswith("parameters/") for k in keys)


def test_parameters_only_and_unwatch_stops_recording():
    run = tracklet.init(project="w")
    model = mlp()
    watch(model, log="parameters", log_freq=2)
    loop(model, run, epochs=1)
    unwatch(model)
    loop(model, run, epochs=1)
    run.finish()
    stored = only_run()
    assert steps(stored, "parameters/2.weight.max") == [0, 2, 4]
    assert not any(k.startswith("gradients/") for k in stored.keys())
    first = history(stored, "parameters/0.bias.mean")
    assert first[0][1] == pytest.approx(mlp()[0].bias.detach().mean().item())  # before the first update


def test_watch_again_replaces_the_hooks_and_frozen_parameters_are_skipped():
    run = tracklet.init(project="w")
    model = mlp()
    model[0].weight.requires_grad_(False)
    watch(model, log_freq=100)
    watch(model, log="gradients", log_freq=5)  # one watcher per model
    loop(model, run, epochs=1)
    unwatch()
    run.finish()
    stored = only_run()
    assert steps(stored, "gradients/total_norm") == [0]
    assert "gradients/0.weight.norm" not in stored.keys() and "gradients/0.bias.norm" in stored.keys()


def test_bad_arguments_raise_at_the_call():
    model = mlp()
    with pytest.raises(tracklet.UsageError, match="needs a run"):
        watch(model)
    tracklet.init(project="w")
    with pytest.raises(tracklet.UsageError, match="log='weights'"):
        watch(model, log="weights")
    with pytest.raises(tracklet.UsageError, match="log_freq=0"):
        watch(model, log_freq=0)
    with pytest.raises(tracklet.UsageError, match="torch.nn.Module"):
        watch(object())
