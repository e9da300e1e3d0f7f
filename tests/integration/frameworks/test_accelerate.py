"""Accelerate: log_with by name and by instance, init_trackers' arguments, end_training, a user's own
run, and watch(): learning rate per parameter group and the total gradient norm at each optimizer step."""

from __future__ import annotations

import pytest
import torch
from helpers import run_python
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


# -- log_with="all" (HF's run_clm_no_trainer.py --with_tracking) -------------------------------------
ALL_SCRIPT = """
import torch
from accelerate import Accelerator
from accelerate.utils import ProjectConfiguration

torch.manual_seed(0)
torch.set_num_threads(1)
# as run_clm_no_trainer.py builds it: log_with=args.report_to ("all"), the output folder as project_dir
accelerator = Accelerator(log_with="all", project_config=ProjectConfiguration(project_dir="out"), cpu=True)
accelerator.init_trackers("clm_no_trainer", {"learning_rate": 0.1, "num_train_epochs": 3})
model = torch.nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
model, optimizer = accelerator.prepare(model, optimizer)
x = torch.randn(16, 4)
for epoch in range(3):
    loss = (model(x) - x.sum(1, keepdim=True)).pow(2).mean()
    accelerator.backward(loss)
    optimizer.step()
    optimizer.zero_grad()
    accelerator.log({"train_loss": loss.item(), "epoch": epoch}, step=epoch)
    print(loss.item())
accelerator.end_training()
"""


def test_log_with_all_records_with_no_tracklet_import(workdir):
    """The script never names tracklet: the start-up hook puts it in "all", as an installed wandb would be."""
    out = run_python(ALL_SCRIPT, cwd=str(workdir), timeout=180)
    assert out.returncode == 0, out.stderr
    losses = [float(line) for line in out.stdout.split()]
    run = only_run("clm_no_trainer")
    assert (run.state, run.config) == ("finished", {"learning_rate": 0.1, "num_train_epochs": 3})
    assert history(run, "train_loss") == [(0, losses[0]), (1, losses[1]), (2, losses[2])]
    assert "tracklet" not in out.stderr  # no warning: it worked


def test_all_with_a_tracker_of_ones_own_keeps_one_run(workdir):
    """log_with=["all", TrackletTracker(...)] names tracklet twice: the user's object records, once."""
    accelerator = accelerate.Accelerator(log_with=["all", TrackletTracker("mine")], cpu=True, project_dir="out")
    accelerator.init_trackers("from-all", config={"lr": 0.1})
    assert [t.name for t in accelerator.trackers].count("tracklet") == 2  # accelerate's doing, not ours
    for step in range(3):
        accelerator.log({"x": float(step)}, step=step)
    accelerator.end_training()
    run = only_run()
    assert (run.project, run.state, run.config) == ("mine", "finished", {"lr": 0.1})
    assert history(run, "x") == [(0, 0.0), (1, 1.0), (2, 2.0)]


def test_an_accelerate_whose_all_cannot_take_tracklet_says_so(monkeypatch):
    """If "all" stops being the module list tracklet joins, one warning says what to pass instead."""
    from tracklet import _errors
    from tracklet.integrations import accelerate as integration

    builtin = list(accelerate.tracking._available_trackers)
    monkeypatch.setattr(accelerate.tracking, "get_available_trackers", lambda: [t for t in builtin if t != "tracklet"])
    monkeypatch.setattr(_errors, "_warned", set())  # warn_once's memory (tracklet.util.warn_once)
    with pytest.warns(tracklet.TrackletWarning, match=r'does not let tracklet join Accelerator\(log_with="all"\)') as caught:
        integration._register()
        integration._register()
    assert len(caught) == 1
    assert "log_with=[\"all\", TrackletTracker(project)]" in str(caught[0].message)
