"""Hugging Face Trainer: report_to forms, the zero-code path, TRACKLET_* variables, a user's own run,
main-process gating, and the differences between transformers 4.x and 5.x."""

from __future__ import annotations

import math
import textwrap

import pytest
from helpers import run_python
from tiny import FRAMEWORK_WARNINGS, hf_args, hf_trainer, history, major, only_run, steps, tiny_gpt2

import tracklet

pytestmark = FRAMEWORK_WARNINGS
transformers = pytest.importorskip("transformers")
TF = major("transformers")

from tracklet.integrations.transformers import TrackletCallback, rename_logs  # noqa: E402  (after the skip)


def tracklet_callbacks(trainer):
    return [c for c in trainer.callback_handler.callbacks if isinstance(c, TrackletCallback)]


def test_zero_code_report_to_in_a_fresh_interpreter(workdir):
    """The script never imports tracklet: the start-up hook registers it when transformers loads."""
    script = textwrap.dedent(
        """
        import sys
        import torch
        torch.set_num_threads(1)
        from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments

        class Tokens(torch.utils.data.Dataset):
            def __len__(self):
                return 32
            def __getitem__(self, i):
                ids = torch.randint(0, 100, (16,), generator=torch.Generator().manual_seed(i))
                return {"input_ids": ids, "labels": ids}

        def train(report_to, name):
            model = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=100, n_positions=32))
            args = TrainingArguments(output_dir="out-" + name, run_name=name, report_to=report_to, max_steps=4,
                                     logging_steps=2, per_device_train_batch_size=8, save_strategy="no",
                                     use_cpu=True, disable_tqdm=True)
            trainer = Trainer(model=model, args=args, train_dataset=Tokens())
            print(name, sorted(type(c).__name__ for c in trainer.callback_handler.callbacks))
            trainer.train()

        train("tracklet", "as-string")
        train(["tracklet", "tensorboard"], "with-tensorboard")
        train("all", "all")
        """
    )
    assert "tracklet" not in script.replace('"tracklet"', "")  # the only mention is the report_to value
    out = run_python(script, cwd=str(workdir), timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    names = ("as-string", "with-tensorboard", "all")
    callbacks = dict(line.split(" ", 1) for line in out.stdout.splitlines() if line.split(" ")[0] in names)
    assert callbacks["as-string"] == "['DefaultFlowCallback', 'PrinterCallback', 'TrackletCallback']"
    with_tensorboard = ["DefaultFlowCallback", "PrinterCallback", "TensorBoardCallback", "TrackletCallback"]
    assert callbacks["with-tensorboard"] == str(with_tensorboard)
    assert "TrackletCallback" in callbacks["all"]  # report_to="all" includes tracklet
    runs = {r.name: r for r in tracklet.Api().runs("huggingface")}
    assert set(runs) == {"as-string", "with-tensorboard", "all"}
    for run in runs.values():
        assert run.state == "finished"
        assert steps(run, "train/loss") == [2, 4]
        assert run.config["args"]["max_steps"] == 4


def test_report_to_forms_resolve_to_one_callback(workdir):
    from transformers.integrations import get_available_reporting_integrations

    assert "tracklet" in get_available_reporting_integrations()
    assert hf_args(workdir, report_to="all").report_to.count("tracklet") == 1
    for report_to in ("tracklet", ["tracklet"], "all"):
        assert len(tracklet_callbacks(hf_trainer(workdir, report_to=report_to))) == 1
    assert tracklet_callbacks(hf_trainer(workdir, report_to="none")) == []


def test_default_report_to_follows_the_transformers_version(workdir):
    """4.x defaults report_to to "all" (every installed tracker, tracklet included); 5.x to "none"."""
    from transformers import TrainingArguments

    default = TrainingArguments(output_dir=str(workdir), use_cpu=True).report_to
    if TF >= 5:
        assert default == []
    else:
        assert "tracklet" in default


def test_settings_from_tracklet_variables(workdir, monkeypatch):
    monkeypatch.setenv("TRACKLET_PROJECT", "from-env")
    monkeypatch.setenv("TRACKLET_RUN_NAME", "env-name")
    monkeypatch.setenv("TRACKLET_TAGS", "a,b")
    monkeypatch.setenv("TRACKLET_WATCH", "all")
    hf_trainer(workdir / "out", report_to="tracklet", run_name="args-name", logging_steps=5).train()
    run = only_run()
    assert (run.project, run.name, run.tags) == ("from-env", "env-name", ["a", "b"])
    # watched at the Trainer's logging steps, recorded at the Trainer's step
    assert steps(run, "gradients/total_norm") == [5, 10]
    assert steps(run, "parameters/transformer.h.0.attn.c_attn.weight.std") == [5, 10]
    total = dict(history(run, "gradients/total_norm"))
    grad_norm = dict(history(run, "train/grad_norm"))
    assert total[5] == pytest.approx(grad_norm[5], rel=1e-4)  # the same gradients the Trainer clipped


def test_run_name_and_project_from_training_arguments(workdir):
    extra = {"project": "args-project"} if TF >= 5 else {}
    hf_trainer(workdir / "out", report_to="tracklet", run_name="args-name", **extra).train()
    run = only_run()
    assert run.name == "args-name"
    assert run.project == ("args-project" if TF >= 5 else "huggingface")


def test_bad_variable_fails_at_trainer_construction(workdir, monkeypatch):
    monkeypatch.setenv("TRACKLET_LOG_MODEL", "sometimes")
    with pytest.raises(tracklet.UsageError, match="TRACKLET_LOG_MODEL='sometimes' is not one of false, end, checkpoint"):
        hf_trainer(workdir, report_to="tracklet")


def test_reuses_the_users_run_and_leaves_it_open(workdir):
    run = tracklet.init(project="mine", config={"note": "mine"})
    hf_trainer(workdir / "out", report_to="tracklet").train()
    assert tracklet.run is run and not run.finished
    run.log({"after": 1.0})
    run.finish()
    stored = only_run("mine")
    assert stored.config["note"] == "mine" and stored.config["args"]["max_steps"] == 10
    assert steps(stored, "train/loss") == [5, 10]


def test_evaluate_and_predict_after_train_go_to_the_same_run(workdir):
    trainer = hf_trainer(workdir / "out", report_to="tracklet", eval_strategy="no")
    trainer.train()
    assert tracklet.run is None or tracklet.run.finished  # finished at train end
    trainer.evaluate()
    trainer.predict(trainer.eval_dataset)
    tracklet.finish()
    run = only_run()
    assert steps(run, "eval/loss") == [10]
    assert steps(run, "test/loss") == [10]
    assert run.state == "finished"


def test_only_the_main_process_records(workdir, tracklet_env):
    """What the Trainer sets on other ranks: state.is_world_process_zero is False."""
    from transformers import TrainerControl, TrainerState

    state = TrainerState(is_world_process_zero=False, is_local_process_zero=False)
    args = hf_args(workdir)
    callback = TrackletCallback()
    model = tiny_gpt2()
    for hook, extra in [("on_train_begin", {}), ("on_log", {"logs": {"loss": 1.0}}), ("on_save", {}), ("on_train_end", {})]:
        getattr(callback, hook)(args, state, TrainerControl(), model=model, **extra)
    assert callback.run is None and tracklet.run is None
    assert not tracklet_env.exists()  # no store, no run


def test_logs_are_renamed_only_where_the_trainer_named_them():
    metrics, summary = rename_logs(
        {"loss": 1.0, "eval_loss": 2.0, "test_acc": 0.5, "epoch": 1.0, "my_metric": 3.0, "train_runtime": 9.0, "total_flos": 1e9,
         "odd": [1, 2]}
    )
    assert metrics == {"train/loss": 1.0, "eval/loss": 2.0, "test/acc": 0.5, "train/epoch": 1.0, "my_metric": 3.0}
    assert summary == {"train_runtime": 9.0, "total_flos": 1e9}


def test_version_differences_are_tolerated(workdir):
    """4.x rounds the logged loss to 4 decimals and logs grad_norm only when clipping; 5.x does neither."""
    hf_trainer(workdir / "out", report_to="tracklet", max_grad_norm=0.0).train()
    run = only_run()
    losses = [row["train/loss"] for row in run.scan_history(keys=["train/loss"])]
    assert len(losses) == 2 and all(math.isfinite(v) for v in losses)
    rounded = all(round(v, 4) == v for v in losses)
    grad_norms = steps(run, "train/grad_norm")
    if TF >= 5:
        assert grad_norms == [5, 10]
    else:
        assert rounded and grad_norms == []
    assert steps(run, "train/samples_per_second") == [5, 10]
