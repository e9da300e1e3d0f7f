"""Lightning, in both namespaces: the logger's contract, hyperparameter forms, repeated finalize,
a user's own run, rank gating, and the monitor Lightning adds through its entry points."""

from __future__ import annotations

from argparse import Namespace

import pytest
from tiny import FRAMEWORK_WARNINGS, lightning_module, lightning_namespace, lightning_trainer, only_run, regression_data, steps

import tracklet

pytestmark = [FRAMEWORK_WARNINGS, pytest.mark.parametrize("ns", ["lightning", "pytorch_lightning"])]


def test_each_namespace_gets_its_own_classes(ns):
    L, TrackletLogger = lightning_namespace(ns)
    other = "pytorch_lightning" if ns == "lightning" else "lightning.pytorch"
    other_logger = pytest.importorskip(other).loggers.Logger
    logger = TrackletLogger(project="p")
    assert isinstance(logger, L.loggers.Logger)
    assert not isinstance(logger, other_logger)
    monitors = [c for c in lightning_trainer(L, logger, ".").callbacks if type(c).__name__ == "TrackletMonitor"]
    assert len(monitors) == 1 and isinstance(monitors[0], L.Callback)  # added by the entry point


@pytest.mark.parametrize("form", ["dict", "namespace", "attribute_dict"])
def test_log_hyperparams_forms(ns, form):
    L, TrackletLogger = lightning_namespace(ns)
    values = {"lr": 0.1, "layers": [64, 64], "optimizer": {"name": "adam", "betas": (0.9, 0.99)}, "_instantiator": "x"}
    if form == "namespace":
        params = Namespace(**values)
    elif form == "attribute_dict":
        from lightning_fabric.utilities.data import AttributeDict

        params = AttributeDict(values)
    else:
        params = values
    logger = TrackletLogger(project="hp")
    logger.log_hyperparams(params)
    logger.log_hyperparams({"lr": 0.2})  # hyperparameters may change between fit calls
    logger.finish()
    assert only_run("hp").config == {"lr": 0.2, "layers": [64, 64], "optimizer": {"name": "adam", "betas": [0.9, 0.99]}}


def test_fit_validate_test_share_one_run_and_finalize_is_repeatable(ns, workdir):
    L, TrackletLogger = lightning_namespace(ns)
    logger = TrackletLogger(project="calls", name="three-calls", tags=["x"])
    trainer = lightning_trainer(L, logger, workdir)
    model = lightning_module(L)()
    trainer.fit(model, regression_data(), regression_data(16))
    trainer.validate(model, regression_data(16))
    trainer.test(model, regression_data(16))
    logger.finalize("success")  # once more, by hand
    assert not logger.experiment.finished  # open for the next call
    logger.finish()
    logger.finish()
    run = only_run("calls")
    assert (run.name, run.tags, run.state) == ("three-calls", ["x"], "finished")
    assert steps(run, "test_loss") == [10]
    assert len(steps(run, "val_loss")) == 3  # two epochs and validate()


def test_experiment_is_the_run_and_version_its_id(ns, workdir):
    L, TrackletLogger = lightning_namespace(ns)
    logger = TrackletLogger(project="ident", save_dir=str(workdir))
    run = logger.experiment
    assert isinstance(run, tracklet.Run) and logger.version == run.id and logger.name == "ident"
    checkpoint = L.callbacks.ModelCheckpoint()
    lightning_trainer(L, logger, workdir, callbacks=[checkpoint], max_epochs=1).fit(lightning_module(L)(), regression_data())
    assert checkpoint.dirpath == str(workdir / "ident" / run.id / "checkpoints")
    logger.experiment.log({"extra": 1.0})  # the Run's own API works through the logger
    logger.finish()


def test_reuses_the_users_run_and_leaves_it_open(ns, workdir):
    L, TrackletLogger = lightning_namespace(ns)
    run = tracklet.init(project="mine")
    logger = TrackletLogger()
    lightning_trainer(L, logger, workdir).fit(lightning_module(L)(), regression_data())
    logger.finish()  # finishes only what the logger started
    assert logger.experiment is run and not run.finished
    run.finish()
    assert steps(only_run("mine"), "train_loss") == [1, 3, 5, 7, 9]


def test_other_ranks_record_nothing(ns, workdir, tracklet_env):
    """Lightning marks processes other than global zero through rank_zero_only.rank (shared by both
    namespaces); there, as for Lightning's own loggers, ``experiment`` is its DummyExperiment."""
    from lightning_utilities.core.rank_zero import rank_zero_only

    L, TrackletLogger = lightning_namespace(ns)
    logger = TrackletLogger(project="rank")
    before = rank_zero_only.rank
    rank_zero_only.rank = 1
    try:
        experiment = logger.experiment
        assert isinstance(experiment, L.loggers.logger.DummyExperiment)
        assert experiment.log({"x": 1}) is None and experiment.something(foo="bar") is None
        logger.log_hyperparams({"lr": 1})
        logger.log_metrics({"loss": 1.0}, step=0)
        logger.watch(lightning_module(L)(), log="all", log_freq=1, log_graph=False)
        logger.finalize("success")
        logger.finish()
        assert logger.version is None
    finally:
        rank_zero_only.rank = before
    assert tracklet.run is None and not tracklet_env.exists()


def test_prefix_and_bad_log_model(ns):
    L, TrackletLogger = lightning_namespace(ns)
    with pytest.raises(tracklet.UsageError, match="log_model='sometimes'"):
        TrackletLogger(log_model="sometimes")
    logger = TrackletLogger(project="pre", prefix="fold1")
    logger.log_metrics({"loss": 1.0}, step=3)
    logger.finish()
    assert steps(only_run("pre"), "fold1-loss") == [3]


def test_trainer_without_tracklet_logger_is_left_alone(ns, workdir, tracklet_env):
    L, _ = lightning_namespace(ns)
    lightning_trainer(L, False, workdir, max_epochs=1).fit(lightning_module(L)(), regression_data())
    assert tracklet.run is None and not tracklet_env.exists()


def test_watch_through_the_logger(ns, workdir):
    L, TrackletLogger = lightning_namespace(ns)
    logger = TrackletLogger(project="watched")
    model = lightning_module(L)()
    logger.watch(model, log="gradients", log_freq=5)
    lightning_trainer(L, logger, workdir).fit(model, regression_data())
    logger.finish()
    run = only_run("watched")
    assert steps(run, "gradients/total_norm") == [0, 5]
    assert "gradients/net.0.weight.norm" in run.keys()
