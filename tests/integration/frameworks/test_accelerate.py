"""Accelerate: log_with by name and by instance, init_trackers' arguments, end_training, a user's own
run, and watch(): learning rate per parameter group and the total gradient norm at each optimizer step."""

from __future__ import annotations

import pytest
import torch
from tiny import FRAMEWORK_WARNINGS, history, only_run, regression_data, steps

import tracklet

pytestmark = FRAMEWORK_WARNINGS
accelerate = pytest.importorskip("accelerate")

from tracklet.integrations.accelerate import TrackletTracker  # noqa: E402  (after the skip)


def train(accelerator, clip: bool, groups: bool = False, gradient_accumulation: int = 1, watch: bool = True):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    params = [{"params": model[0].parameters()}, {"params": model[2].parameters(), "lr": 0.05}] if groups else model.parameters()
    optimizer = torch.optim.SGD(params, lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 2, 0.5)
    model, optimizer, data, scheduler = accelerator.prepare(model, optimizer, regression_data(), scheduler)
    if watch:
        accelerator.get_tracker("tracklet").watch(optimizer, accelerator=accelerator)
    clipped = []
    completed = 0  # optimizer steps, the way accelerate's examples count them
    for x, y in data:
        with accelerator.accumulate(model):
            loss = torch.nn.functional.mse_loss(model(x), y)
            accelerator.backward(loss)
            if clip and accelerator.sync_gradients:
                clipped.append(float(accelerator.clip_grad_norm_(model.parameters(), 0.5)))
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
        if accelerator.sync_gradients:
            accelerator.log({"train/loss": loss.item()}, step=completed)
            completed += 1
    accelerator.end_training()
    return clipped


def test_init_trackers_arguments_reach_the_run():
    if not hasattr(accelerate.tracking, "register_tracker_class"):
        pytest.skip("log_with='tracklet' needs accelerate 1.15+")
    accelerator = accelerate.Accelerator(log_with="tracklet", cpu=True)
    accelerator.init_trackers("acc", config={"lr": 0.1}, init_kwargs={"tracklet": {"name": "named", "tags": ["t"], "notes": "n"}})
    tracker = accelerator.get_tracker("tracklet")
    assert isinstance(tracker, TrackletTracker)
    assert accelerator.get_tracker("tracklet", unwrap=True) is tracker.tracker is tracklet.run
    accelerator.log({"x": 1.0}, step=0)
    accelerator.end_training()
    run = only_run("acc")
    assert (run.name, run.tags, run.notes, run.config, run.state) == ("named", ["t"], "n", {"lr": 0.1}, "finished")


def test_watch_records_clip_norm_and_each_groups_learning_rate():
    accelerator = accelerate.Accelerator(log_with=TrackletTracker("acc-watch"), cpu=True)
    accelerator.init_trackers("ignored-for-instances")
    clipped = train(accelerator, clip=True, groups=True)
    run = only_run("acc-watch")
    assert [v for _, v in history(run, "train/grad_norm")] == pytest.approx(clipped)  # what clip_grad_norm_ returned
    assert [v for _, v in history(run, "train/learning_rate/pg0")] == [0.1, 0.1, 0.05, 0.05, 0.025]
    assert [v for _, v in history(run, "train/learning_rate/pg1")] == [0.05, 0.05, 0.025, 0.025, 0.0125]
    assert steps(run, "train/loss") == steps(run, "train/grad_norm") == [0, 1, 2, 3, 4]


def test_watch_counts_optimizer_steps_under_gradient_accumulation():
    accelerator = accelerate.Accelerator(log_with=TrackletTracker("acc-accum"), cpu=True, gradient_accumulation_steps=2)
    accelerator.init_trackers("acc-accum")
    train(accelerator, clip=False)
    run = only_run("acc-accum")
    assert steps(run, "train/grad_norm") == steps(run, "train/loss") == [0, 1, 2]  # 5 batches: a step every 2, and at the end
    assert all(v > 0 for _, v in history(run, "train/grad_norm"))


def test_reuses_the_users_run_and_leaves_it_open():
    run = tracklet.init(project="mine")
    accelerator = accelerate.Accelerator(log_with=TrackletTracker(), cpu=True)
    accelerator.init_trackers("mine", config={"lr": 0.1})
    train(accelerator, clip=False, watch=False)
    assert not run.finished and tracklet.run is run
    run.finish()
    assert only_run("mine").config == {"lr": 0.1}


def test_tracker_without_start_initialises_at_first_use():
    """accelerate < 1.8 never calls start(): the first store_init_configuration or log starts the run."""
    tracker = TrackletTracker("no-start")
    tracker.store_init_configuration({"a": 1})
    tracker.log({"x": 1.0}, step=3)
    tracker.finish()
    run = only_run("no-start")
    assert run.config == {"a": 1} and steps(run, "x") == [3]
