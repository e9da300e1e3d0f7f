"""One contract for every integration: a tiny real training run, then what was recorded, read back
through ``tracklet.Api``: the run, its metric keys and steps, its config (JSON-safe) and summary."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pytest
import torch
from tiny import (
    FRAMEWORK_WARNINGS,
    hf_trainer,
    json_safe,
    lightning_module,
    lightning_namespace,
    lightning_trainer,
    only_run,
    regression_data,
    steps,
    tiny_gpt2,
)

import tracklet

pytestmark = FRAMEWORK_WARNINGS


@dataclass
class Expect:
    """What a scenario must have recorded."""

    project: str
    steps: dict[str, list[int]]  # metric key -> the steps it is recorded at
    config: list[str]
    summary: list[str] = field(default_factory=list)
    config_values: dict[str, object] = field(default_factory=dict)


# -- one scenario per integration -------------------------------------------------------------------
def hf_report_to(workdir):
    pytest.importorskip("transformers")
    hf_trainer(workdir / "out", report_to="tracklet", include_num_input_tokens_seen=True).train()
    train = [5, 10]
    return Expect(
        project="huggingface",
        steps={
            "train/loss": train,
            "train/learning_rate": train,
            "train/grad_norm": train,
            "train/epoch": train,
            "train/samples_per_second": train,
            "train/tokens_per_second": train,
            "train/num_input_tokens_seen": train,
            "eval/loss": train,
            "eval/runtime": train,
        },
        config=["args", "model_config", "num_parameters", "num_trainable_parameters"],
        summary=["train_runtime", "train_samples_per_second", "train_loss", "total_flos"],
        config_values={"args.max_steps": 10, "args.learning_rate": 5e-05, "model_config.n_layer": 2},
    )


def hf_callback(workdir):
    pytest.importorskip("transformers")
    from tracklet.integrations.transformers import TrackletCallback

    hf_trainer(workdir / "out", callbacks=[TrackletCallback(project="hf-callback")], report_to="none").train()
    return Expect(
        project="hf-callback",
        steps={"train/loss": [5, 10], "train/learning_rate": [5, 10], "eval/loss": [5, 10]},
        config=["args", "model_config", "num_parameters"],
        summary=["train_runtime"],
    )


def hf_peft(workdir):
    pytest.importorskip("peft")
    hf_trainer(workdir / "out", model=tiny_gpt2(lora=True), report_to="tracklet").train()
    return Expect(
        project="huggingface",
        steps={"train/loss": [5, 10], "eval/loss": [5, 10]},
        config=["args", "model_config", "peft_config", "num_parameters", "num_trainable_parameters"],
        config_values={"peft_config.default.r": 4, "peft_config.default.target_modules": ["c_attn"], "num_trainable_parameters": 2048},
    )


def _lightning(workdir, ns):
    L, TrackletLogger = lightning_namespace(ns)
    logger = TrackletLogger(project=f"{ns}-contract")
    checkpoint = L.callbacks.ModelCheckpoint(monitor="val_loss")
    trainer = lightning_trainer(L, logger, workdir, callbacks=[checkpoint])  # no LearningRateMonitor, no grad-norm code
    trainer.fit(lightning_module(L)(), regression_data(), regression_data(16))
    logger.finish()
    logged = [1, 3, 5, 7, 9]  # every 2nd of 10 optimizer steps (Lightning counts them from 0)
    return Expect(
        project=f"{ns}-contract",
        steps={"train_loss": logged, "train/learning_rate": logged, "train/grad_norm": logged, "val_loss": [4, 9]},
        config=["lr", "hidden", "num_parameters", "num_trainable_parameters"],
        summary=["checkpoint/monitor", "checkpoint/best_score", "val_loss"],
        config_values={"lr": 0.05, "num_parameters": 49},
    )


def lightning_pytorch(workdir):
    return _lightning(workdir, "lightning")


def pytorch_lightning(workdir):
    return _lightning(workdir, "pytorch_lightning")


def _accelerate(workdir, by_name: bool):
    accelerate = pytest.importorskip("accelerate")
    from tracklet.integrations.accelerate import TrackletTracker

    if by_name and not hasattr(accelerate.tracking, "register_tracker_class"):
        pytest.skip("log_with='tracklet' needs accelerate 1.15+")
    log_with = "tracklet" if by_name else TrackletTracker("accelerate-contract")
    accelerator = accelerate.Accelerator(log_with=log_with, cpu=True)
    accelerator.init_trackers("accelerate-contract", config={"lr": 0.1, "batch_size": 8})
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 2, 0.5)
    model, optimizer, data, scheduler = accelerator.prepare(model, optimizer, regression_data(), scheduler)
    accelerator.get_tracker("tracklet").watch(optimizer, accelerator=accelerator)
    for step, (x, y) in enumerate(data):
        loss = torch.nn.functional.mse_loss(model(x), y)
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        accelerator.log({"train/loss": loss.item()}, step=step)
    accelerator.end_training()
    every = [0, 1, 2, 3, 4]
    return Expect(
        project="accelerate-contract",
        steps={"train/loss": every, "train/learning_rate": every, "train/grad_norm": every},
        config=["lr", "batch_size"],
        summary=["train/loss"],
    )


def accelerate_by_name(workdir):
    return _accelerate(workdir, by_name=True)


def accelerate_instance(workdir):
    return _accelerate(workdir, by_name=False)


def torch_watch(workdir):
    from tracklet.integrations.torch import unwatch, watch

    run = tracklet.init(project="watch-contract")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    watch(model, log="all", log_freq=2)
    for x, y in regression_data():
        loss = torch.nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        run.log({"loss": loss.item()})
    unwatch(model)
    run.finish()
    return Expect(
        project="watch-contract",
        steps={
            "loss": [0, 1, 2, 3, 4],
            "gradients/total_norm": [0, 2, 4],
            "gradients/0.weight.norm": [0, 2, 4],
            "parameters/2.bias.max": [0, 2, 4],
        },
        config=[],
    )


SCENARIOS = [
    hf_report_to,
    hf_callback,
    hf_peft,
    lightning_pytorch,
    pytorch_lightning,
    accelerate_by_name,
    accelerate_instance,
    torch_watch,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.__name__ for s in SCENARIOS])
def test_integration_contract(scenario, workdir):
    expect = scenario(workdir)

    run = only_run()
    assert run.project == expect.project
    assert run.state == "finished"
    for key, at in expect.steps.items():
        assert steps(run, key) == at, key
        assert all(isinstance(row[key], (int, float)) and not math.isnan(row[key]) for row in run.scan_history(keys=[key]))
    config = run.config
    assert json_safe(config)
    for key in expect.config:
        assert key in config, (key, sorted(config))
    for dotted, value in expect.config_values.items():
        found = config
        for part in dotted.split("."):
            found = found[part]
        assert found == value, dotted
    for key in expect.summary:
        assert key in run.summary, (key, sorted(run.summary))
    assert tracklet.run is None or tracklet.run.finished  # the integration finished what it started
