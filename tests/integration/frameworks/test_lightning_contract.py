"""Lightning's own logger contract, run against TrackletLogger in both namespaces with real stores.

The contract is the one Lightning's test suite holds its built-in loggers to
(``tests/tests_pytorch/loggers/test_all.py``, and the parts of ``test_wandb.py`` that apply to any
logger): what ``log_metrics`` receives in fit and test, pickling a logger whose run has started,
copies, ``ddp_spawn`` and ``ddp_fork`` (other ranks get a ``DummyExperiment``; one training is one run),
``trainer.log_dir`` and the checkpoint folder, ``log_model`` with one or several ``ModelCheckpoint``
callbacks, ``watch`` with WandbLogger's arguments, and ``LightningCLI``. Written for tracklet, on
Lightning's ``BoringModel``.
"""

from __future__ import annotations

import copy
import importlib
import os
import pickle
import subprocess
import sys
import warnings

import pytest
from tiny import FRAMEWORK_WARNINGS, lightning_namespace, only_run, steps

import tracklet

pytestmark = [FRAMEWORK_WARNINGS, pytest.mark.parametrize("ns", ["lightning", "pytorch_lightning"])]

MODULES = {"lightning": "lightning.pytorch", "pytorch_lightning": "pytorch_lightning"}


# -- module-level classes, so that ddp_spawn can pickle them into its processes --------------------
def __getattr__(name: str):
    """``Logging_<ns>`` and ``ExperimentCheck_<ns>``, defined on first use: a spawned process imports
    only the namespace it unpickles."""
    kind, _, ns = name.partition("_")
    if kind in ("Logging", "ExperimentCheck") and ns in MODULES:
        _define(ns)
        return globals()[name]
    raise AttributeError(name)


def _define(ns: str) -> None:
    """A BoringModel that logs, and a callback that checks each process's experiment, for namespace ``ns``."""
    L = importlib.import_module(MODULES[ns])
    boring = importlib.import_module(f"{MODULES[ns]}.demos.boring_classes")
    from lightning_utilities.core.rank_zero import rank_zero_only

    dummy = L.loggers.logger.DummyExperiment

    class Logging(boring.BoringModel):
        def training_step(self, batch, batch_idx):
            loss = self.step(batch)
            self.log("train_some_val", loss)
            return {"loss": loss}

        def on_validation_epoch_end(self):
            self.log_dict({"early_stop_on": 1.0, "val_loss": 0.5})

        def test_step(self, batch, batch_idx):
            self.step(batch)

        def on_test_epoch_end(self):
            self.log("test_loss", 2.0)

    class ExperimentCheck(L.Callback):
        """The run exists before the callbacks' setup on global zero; other ranks see Lightning's no-op."""

        def setup(self, trainer, pl_module, stage):
            _end_process_group_at_exit()
            if trainer.global_rank == 0:
                assert tracklet.run is not None and tracklet.run.id == trainer.logger.version

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            experiment = pl_module.logger.experiment
            if trainer.is_global_zero:
                assert isinstance(experiment, tracklet.Run) and rank_zero_only.rank == 0
            else:
                assert isinstance(experiment, dummy)
                assert experiment.something(foo="bar") is None
                assert trainer.logger.version is not None  # fixed by the parent before spawning

    for cls in (Logging, ExperimentCheck):
        cls.__name__ = cls.__qualname__ = f"{cls.__name__}_{ns}"
        setattr(sys.modules[__name__], cls.__name__, cls)


def _end_process_group() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def _end_process_group_at_exit() -> None:
    """Lightning leaves the gloo process group open in its spawned workers; torch's gloo threads then
    abort the interpreter's teardown now and then ("terminate called without an active exception",
    SIGABRT; pytorch/pytorch#179291). Ending it from an exit handler, while Python is still whole,
    avoids that. (Forked workers end with os._exit, which runs neither.)"""
    import atexit

    atexit.unregister(_end_process_group)  # once per process, whatever the number of stages
    atexit.register(_end_process_group)


def classes(ns):
    L, TrackletLogger = lightning_namespace(ns)
    module = sys.modules[__name__]
    return L, TrackletLogger, getattr(module, f"Logging_{ns}"), getattr(module, f"ExperimentCheck_{ns}")


def trainer_for(L, logger, root, **overrides):
    values = dict(
        default_root_dir=str(root),
        logger=logger,
        accelerator="cpu",
        devices=1,
        max_epochs=1,
        limit_train_batches=1,
        limit_val_batches=1,
        log_every_n_steps=1,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    values.update(overrides)
    return L.Trainer(**values)


def store_runs():
    return tracklet.Api().runs()


# -- test_all.py: what log_metrics receives, pickling, ddp_spawn --------------------------------------
def test_log_metrics_receives_what_lightning_logs_in_fit_and_test(ns, workdir):
    L, TrackletLogger, Logging, _ = classes(ns)

    class History(TrackletLogger):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.history = []

        def log_metrics(self, metrics, step=None):
            super().log_metrics(metrics, step)
            self.history.append((step, sorted(metrics)))

    logger = History(save_dir=str(workdir))
    trainer = trainer_for(L, logger, workdir)
    trainer.fit(Logging())
    trainer.test()
    # only Lightning's own calls: tracklet's monitor (lr, grad norm) records into the run directly
    assert logger.history == [
        (0, ["epoch", "train_some_val"]),
        (0, ["early_stop_on", "epoch", "val_loss"]),
        (1, ["epoch", "test_loss"]),
    ]
    logger.finish()
    run = only_run("lightning_logs")
    assert steps(run, "train_some_val") == [0] and steps(run, "val_loss") == [0] and steps(run, "test_loss") == [1]
    assert steps(run, "train/grad_norm") == [0]


def test_a_logger_whose_run_started_pickles_and_continues_the_run(ns, workdir):
    L, TrackletLogger, _, _ = classes(ns)
    logger = TrackletLogger(save_dir=str(workdir))
    run_id = logger.experiment.id
    logger.log_metrics({"a": 1.0})
    logger.save()
    pickle.dumps(logger)
    trainer = L.Trainer(max_epochs=1, logger=logger, accelerator="cpu", enable_progress_bar=False)
    restored = pickle.loads(pickle.dumps(trainer))
    restored.logger.log_metrics({"acc": 1.0})
    assert (restored.logger.name, restored.logger.save_dir) == (logger.name, logger.save_dir)
    assert restored.logger.version == logger.version == run_id
    logger.log_metrics({"b": 2.0})  # the original goes on recording too: still one run
    restored.logger.finish()
    logger.finish()
    (run,) = store_runs()
    assert run.id == run_id and run.state == "finished"
    assert {"a", "acc", "b"} <= set(run.keys())


def test_pickling_fixes_the_run_id_without_starting_a_run(ns, tracklet_env):
    """As WandbLogger settles its run before a spawn, so that the spawned processes join it."""
    _, TrackletLogger, _, _ = classes(ns)
    logger = TrackletLogger(project="early")
    copy_ = pickle.loads(pickle.dumps(logger))
    assert logger.version is not None and copy_.version == logger.version
    assert tracklet.run is None and not tracklet_env.exists()  # nothing started yet
    copy_.log_metrics({"x": 1.0}, step=0)
    copy_.finish()
    assert only_run("early").id == logger.version


def test_deep_copies_record_into_the_same_run(ns, workdir):
    L, TrackletLogger, Logging, _ = classes(ns)
    logger = TrackletLogger(project="copies", save_dir=str(workdir))
    logger.log_metrics({"before": 1.0}, step=0)
    twin = copy.deepcopy(logger)
    assert twin.experiment is logger.experiment and twin.version == logger.version
    trainer = copy.deepcopy(trainer_for(L, logger, workdir))
    trainer.fit(Logging())
    twin.log_metrics({"after": 1.0}, step=5)
    twin.finish()  # the copy does not end the original's run
    assert not logger.experiment.finished
    logger.finish()
    run = only_run("copies")
    assert {"before", "after", "train_some_val"} <= set(run.keys())


def test_ddp_spawn_is_one_run_and_other_ranks_get_a_dummy_experiment(ns, workdir):
    """Two processes (gloo on CPU): the parent's logger knows the run the workers recorded, and
    test() after fit() continues it instead of starting a second run."""
    L, TrackletLogger, Logging, ExperimentCheck = classes(ns)
    logger = TrackletLogger(project="spawned", save_dir=str(workdir))
    trainer = trainer_for(
        L, logger, workdir, strategy="ddp_spawn", devices=2, max_steps=1, limit_test_batches=1,
        callbacks=[ExperimentCheck()], enable_checkpointing=False,
    )
    trainer.fit(Logging())
    version = logger.version
    assert tracklet.run is None  # asking for the version started nothing here
    trainer.test(Logging())
    (run,) = store_runs()
    assert run.id == version == logger.version and run.state == "finished"
    # a spawned test() counts Lightning's steps from 0 again (what every logger is given)
    assert steps(run, "train_some_val") == [0] and steps(run, "test_loss") == [0]


def test_ddp_fork_is_one_run_too(ns, workdir):
    """Forked processes inherit the logger instead of unpickling it; they end without exit handlers."""
    L, TrackletLogger, Logging, ExperimentCheck = classes(ns)
    logger = TrackletLogger(project="forked", save_dir=str(workdir))
    trainer = trainer_for(
        L, logger, workdir, strategy="ddp_fork", devices=2, max_steps=1, limit_test_batches=1,
        callbacks=[ExperimentCheck()], enable_checkpointing=False,
    )
    trainer.fit(Logging())
    assert tracklet.run is None and [r.state for r in store_runs()] == ["finished"]  # closed by the worker
    with warnings.catch_warnings():  # the forks inherit this process's filters, where warnings are errors
        warnings.filterwarnings("ignore", ".*is lower than the current step")  # test() counts from 0 again
        trainer.test(Logging())
    (run,) = store_runs()
    assert run.id == logger.version and run.state == "finished"
    assert steps(run, "train_some_val") == [0] and steps(run, "test_loss") == [0]


def test_a_run_open_in_another_process_is_not_taken_over(ns, workdir):
    """The user's own run, open in the launching process, cannot be continued by a spawned one: it
    records into a new run with a warning, and training goes on."""
    _, TrackletLogger, _, _ = classes(ns)
    run = tracklet.init(project="held")
    logger = TrackletLogger()
    (workdir / "logger.pkl").write_bytes(pickle.dumps(logger))
    assert logger.version == run.id and logger.experiment is run  # this process records into the user's run
    child = "import pickle; logger = pickle.load(open('logger.pkl', 'rb')); logger.log_metrics({'x': 1.0}, step=0); logger.finish()"
    out = subprocess.run([sys.executable, "-c", child], cwd=workdir, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert f"cannot continue run {run.id}" in out.stderr
    run.finish()
    (other,) = [r for r in store_runs() if r.id != run.id]
    assert steps(other, "x") == [0]


@pytest.mark.parametrize("method", ["lr_find", "scale_batch_size"])
def test_tuners_leave_the_logger_in_place(ns, workdir, method):
    L, TrackletLogger, Logging, _ = classes(ns)
    tuning = importlib.import_module(f"{MODULES[ns]}.tuner.tuning")

    class Tunable(Logging):
        def __init__(self, lr=0.1, batch_size=2):
            super().__init__()
            self.save_hyperparameters()

    logger = TrackletLogger(project="tuned", save_dir=str(workdir))
    trainer = trainer_for(L, logger, workdir, limit_train_batches=None)
    model = Tunable()
    kwargs = {"num_training": 3} if method == "lr_find" else {"max_trials": 2, "steps_per_trial": 1}
    getattr(tuning.Tuner(trainer), method)(model, **kwargs)
    assert trainer.logger is logger and model.logger is logger
    logger.finish()
    assert [r.project for r in store_runs()] == ["tuned"]  # one run, however many trials


# -- test_wandb.py: parts that hold for any logger ---------------------------------------------------
def test_project_and_name(ns, monkeypatch):
    _, TrackletLogger, _, _ = classes(ns)
    assert TrackletLogger().name == "lightning_logs"
    assert TrackletLogger(project="project").name == "project"
    monkeypatch.setenv("WANDB_PROJECT", "wandb_project")  # a wandb script's variable, as WandbLogger reads it
    logger = TrackletLogger()
    assert logger.name == "wandb_project" and logger.experiment.project == "wandb_project"
    logger.finish()
    monkeypatch.setenv("TRACKLET_PROJECT", "env_project")
    assert TrackletLogger().name == "env_project"
    assert TrackletLogger(project="project").name == "project"


def test_run_id_from_the_environment(ns, monkeypatch):
    _, TrackletLogger, _, _ = classes(ns)
    monkeypatch.setenv("TRACKLET_RUN_ID", "env-id")
    logger = TrackletLogger(project="env")
    assert logger.version == "env-id" and tracklet.run is None
    logger.log_metrics({"x": 1.0}, step=0)
    logger.finish()
    assert only_run("env").id == "env-id"


def test_log_dir_and_checkpoints_default_to_the_working_folder_not_the_store(ns, workdir, tracklet_env):
    """The README's usage (no save_dir): trainer.log_dir is where the logger was made, as for
    WandbLogger; checkpoints go to <save_dir>/<project>/<run id>/checkpoints; the store stays apart."""
    L, TrackletLogger, Logging, _ = classes(ns)
    logger = TrackletLogger()
    assert logger.save_dir == str(workdir)
    root = workdir / "elsewhere"
    trainer = trainer_for(L, logger, root, limit_train_batches=3)
    assert trainer.log_dir == logger.save_dir
    trainer.fit(Logging())
    assert trainer.log_dir == logger.save_dir
    assert trainer.checkpoint_callback.dirpath == str(workdir / "lightning_logs" / logger.version / "checkpoints")
    assert os.listdir(trainer.checkpoint_callback.dirpath) == ["epoch=0-step=3.ckpt"]
    assert os.listdir(workdir) == ["lightning_logs"]  # Lightning's files only: the run is in the store
    assert not root.exists() and (tracklet_env / "runs" / logger.version).is_dir()


def test_save_dir_holds_only_what_lightning_writes(ns, tmp_path, workdir):
    L, TrackletLogger, Logging, _ = classes(ns)
    save_dir = tmp_path / "save"
    save_dir.mkdir()
    logger = TrackletLogger(project="project", save_dir=save_dir)
    for _ in range(2):
        _ = logger.experiment
    assert (logger.name, logger.save_dir) == ("project", str(save_dir))
    assert not os.listdir(save_dir)  # the run is recorded in the store, not here
    trainer = trainer_for(L, logger, workdir, limit_train_batches=3)
    trainer.fit(Logging())
    assert trainer.checkpoint_callback.dirpath == str(save_dir / "project" / logger.version / "checkpoints")
    assert trainer.log_dir == str(save_dir)


def test_resume_a_run_by_version_and_keep_one_run_across_calls(ns, workdir):
    _, TrackletLogger, _, _ = classes(ns)
    logger = TrackletLogger(project="p", version="given-id", save_dir=str(workdir))
    logger.log_metrics({"acc": 1.0}, step=3)
    logger.finalize("success")  # after a fit: the same run goes on
    logger.log_metrics({"acc": 1.0}, step=6)
    logger.log_hyperparams({"none": None, "dict": {"a": 1}, "b": [2, 3, 4], "path": workdir / "path"})
    assert logger.version == "given-id"
    logger.finish()
    assert steps(only_run("p"), "acc") == [3, 6]
    assert only_run("p").config == {"none": None, "dict": {"a": 1}, "b": [2, 3, 4], "path": str(workdir / "path")}
    again = TrackletLogger(project="p", id="given-id", save_dir=str(workdir))  # WandbLogger's id= works too
    again.log_metrics({"acc": 2.0}, step=9)
    again.finish()
    assert steps(only_run("p"), "acc") == [3, 6, 9]


@pytest.mark.parametrize(("log_model", "versions"), [(True, 1), ("all", 2), (False, 0)])
def test_log_model(ns, workdir, log_model, versions):
    L, TrackletLogger, Logging, _ = classes(ns)
    logger = TrackletLogger(save_dir=str(workdir), log_model=log_model)
    trainer_for(L, logger, workdir, max_epochs=2, limit_train_batches=3, limit_val_batches=3).fit(Logging())
    logger.finish()
    arts = only_run().logged_artifacts()
    assert len(arts) == versions
    if log_model is True:
        (art,) = arts
        assert art.name.startswith(f"model-{logger.version}")
        assert art.metadata["original_filename"] == "epoch=1-step=6.ckpt" and art.metadata["score"] is None
        assert art.metadata["ModelCheckpoint"] == {
            "monitor": None, "mode": "min", "save_last": None, "save_top_k": 1,
            "save_weights_only": False, "_every_n_train_steps": 0,
        }
        assert [f.path for f in art.files()] == ["model.ckpt"]


def test_log_model_stores_the_checkpoints_of_every_checkpoint_callback(ns, workdir):
    L, TrackletLogger, Logging, _ = classes(ns)
    logger = TrackletLogger(save_dir=str(workdir), log_model=True)
    callbacks = [L.callbacks.ModelCheckpoint(monitor="epoch", save_top_k=2), L.callbacks.ModelCheckpoint(monitor="step", save_top_k=2)]
    trainer = trainer_for(L, logger, workdir, max_epochs=3, limit_train_batches=3, limit_val_batches=1, callbacks=callbacks)
    trainer.fit(Logging())
    logger.finish()
    stored = {(a.metadata["ModelCheckpoint"]["monitor"], a.metadata["original_filename"]) for a in only_run().logged_artifacts()}
    kept = {(cb.monitor, os.path.basename(path)) for cb in trainer.checkpoint_callbacks for path in cb.best_k_models}
    assert len(kept) == 4 and stored == kept


def test_checkpoint_score_is_a_python_number(ns, workdir):
    L, TrackletLogger, Logging, _ = classes(ns)
    logger = TrackletLogger(save_dir=str(workdir), log_model=True)
    checkpoint = L.callbacks.ModelCheckpoint(monitor="step")
    trainer_for(L, logger, workdir, limit_train_batches=3, callbacks=[checkpoint]).fit(Logging())
    logger.finish()
    (art,) = only_run().logged_artifacts()
    assert type(art.metadata["score"]) in (int, float) and art.metadata["score"] == 3
    assert "best" in art.aliases


def test_watch_takes_wandb_loggers_arguments(ns, workdir):
    L, TrackletLogger, Logging, _ = classes(ns)
    logger = TrackletLogger(project="watched", save_dir=str(workdir))
    model = Logging()
    logger.watch(model, "all", 2, False)  # model, log, log_freq, log_graph (graphs are not recorded)
    logger.watch(model, log="gradients", log_freq=2, log_graph=True)
    with pytest.raises(tracklet.UsageError, match="watch"):
        logger.watch(model, log="weights")
    trainer_for(L, logger, workdir, limit_train_batches=4).fit(model)
    logger.finish()
    keys = set(only_run("watched").keys())
    assert "gradients/total_norm" in keys and not any(k.startswith("parameters/") for k in keys)


@pytest.mark.parametrize(("log_model", "expected"), [("True", True), ("False", False), ("all", "all")])
def test_cli_parses_log_model(ns, workdir, log_model, expected, monkeypatch):
    L, TrackletLogger, Logging, _ = classes(ns)
    cli = pytest.importorskip(f"{MODULES[ns]}.cli")
    if not cli._JSONARGPARSE_SIGNATURES_AVAILABLE:
        pytest.skip("LightningCLI needs jsonargparse[signatures]")
    seen = []

    class Inspect(cli.LightningCLI):
        def before_instantiate_classes(self):
            seen.append(self.config.trainer.logger.init_args.log_model)

    path = f"{TrackletLogger.__module__}.TrackletLogger"
    (workdir / "config.yaml").write_text(f"trainer:\n  logger:\n    class_path: {path}\n    init_args:\n      log_model: {log_model}\n")
    for extra in ([], [f"--trainer.logger.init_args.log_model={log_model}"]):
        monkeypatch.setattr(sys, "argv", ["any.py", "--config", "config.yaml", *extra])
        Inspect(Logging, run=False, save_config_callback=None)
    assert seen == [expected, expected]


def test_cli_fit_with_the_readme_usage(ns, workdir, monkeypatch):
    """``--trainer.logger=...TrackletLogger`` with no save_dir: the config lands in trainer.log_dir."""
    L, TrackletLogger, Logging, _ = classes(ns)
    cli = pytest.importorskip(f"{MODULES[ns]}.cli")
    if not cli._JSONARGPARSE_SIGNATURES_AVAILABLE:
        pytest.skip("LightningCLI needs jsonargparse[signatures]")
    argv = [
        "any.py", "fit", f"--trainer.logger={TrackletLogger.__module__}.TrackletLogger", "--trainer.logger.project=cli",
        "--trainer.max_steps=2", "--trainer.limit_val_batches=1", "--trainer.log_every_n_steps=1", "--trainer.accelerator=cpu",
        "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false",
    ]
    monkeypatch.setattr(sys, "argv", argv)
    result = cli.LightningCLI(Logging)
    logger = result.trainer.logger
    logger.finish()
    assert isinstance(logger, TrackletLogger) and result.trainer.log_dir == str(workdir)
    assert (workdir / "config.yaml").is_file()
    assert os.listdir(workdir / "cli" / logger.version / "checkpoints") == ["epoch=0-step=2.ckpt"]
    run = only_run("cli")
    assert run.id == logger.version and steps(run, "train_some_val") == [0, 1]
