"""The Lightning logger and monitor, written once for both namespaces.

``tracklet.integrations.lightning`` (``lightning.pytorch``) and ``tracklet.integrations.pytorch_lightning``
each put these behind their own ``Logger`` / ``Callback`` base, so ``isinstance`` checks and
LightningCLI see a class of the right namespace. Only ``lightning_utilities`` (shared by both) is
imported here.
"""

from __future__ import annotations

import copy
import multiprocessing.util
import os
import weakref
from argparse import Namespace
from typing import TYPE_CHECKING, Any, Literal, Mapping

from lightning_utilities.core.rank_zero import rank_zero_only

import tracklet
from tracklet.util import generate_id

from ._checkpoints import CheckpointLog
from ._common import (
    acquire_run,
    env_setting,
    guard,
    jsonable,
    log_model_setting,
    model_facts,
    optimizer_lrs,
    release_run,
    total_grad_norm,
    users_run,
    warn_once,
)

if TYPE_CHECKING:
    from tracklet import Run

__all__ = ["LoggerImpl", "MonitorImpl"]

DEFAULT_PROJECT = "lightning_logs"
_forked = False  # this process is a fork of the one that imported this module


def _note_fork() -> None:
    global _forked
    _forked = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_note_fork)

_WATCH_LOG = (None, "gradients", "parameters", "all")


class LoggerImpl:
    """Records a Lightning run into tracklet.

    Args:
        project: the project (default ``TRACKLET_PROJECT``, ``WANDB_PROJECT``, else "lightning_logs"); also
            the logger's ``name``.
        name: the run's display name (default ``TRACKLET_RUN_NAME``, else generated).
        save_dir: where Lightning puts what it writes for this run: checkpoints go to
            ``save_dir/<project>/<run id>/checkpoints`` and ``trainer.log_dir`` is ``save_dir``.
            Default: the working folder when the logger is made (as WandbLogger's "."); Lightning uses
            the Trainer's ``default_root_dir`` only when there is no logger. This is not tracklet's store:
            runs are recorded in ``TRACKLET_DIR`` (or ``dir=``) wherever ``save_dir`` is.
        version: a run id, to continue that run (``resume="allow"``; ``id=`` works too); default
            ``TRACKLET_RUN_ID``, ``WANDB_RUN_ID``, else a new id fixed when the logger is made (the run
            starts on first use).
        log_model: ``False`` (no checkpoints recorded), ``True`` (the best and last checkpoints of every
            ``ModelCheckpoint``, when a fit succeeds) or ``"all"`` (every checkpoint when it is saved);
            default from ``TRACKLET_LOG_MODEL`` (``end`` is True, ``checkpoint`` is "all"), else False.
        prefix: put before every metric name (joined with ``-``, as Lightning's loggers do).
        run: record into this run instead (default: the user's current run if there is one, else a
            new run).
        **init_kwargs: more ``tracklet.init`` arguments (``tags``, ``config``, ``group``, ``dir``...).

    The run is started on first use, on the global-zero process only; ``experiment`` is the
    ``tracklet.Run`` there and Lightning's ``DummyExperiment`` (every call returns None) on other
    processes. The learning rate of each optimizer's parameter groups and the total gradient norm are
    recorded at Lightning's logging steps by a callback that Lightning adds to every Trainer through
    its entry points.

    One training is one run, also with ``strategy="ddp_spawn"`` or ``"ddp_fork"``: the id is fixed
    when the logger is made, the processes Lightning starts continue that run in turn, and the
    launching process's ``version`` and later ``test()`` find it. The logger pickles (ending this
    process's hold on a run it started, so that another process can continue it) and deep-copies
    (the copy records into the same run).
    """

    LOGGER_JOIN_CHAR = "-"
    _dummy_experiment: Any = None  # each namespace's DummyExperiment

    def __init__(
        self,
        project: str | None = None,
        name: str | None = None,
        save_dir: str | os.PathLike | None = None,
        version: str | None = None,
        log_model: bool | Literal["all"] | None = None,
        prefix: str = "",
        run: "Run | None" = None,
        **init_kwargs: Any,
    ) -> None:
        super().__init__()
        if log_model is None:  # TRACKLET_LOG_MODEL: end -> True, checkpoint -> "all"
            log_model = {"false": False, "end": True, "checkpoint": "all"}[log_model_setting()]
        if log_model not in (True, False, "all"):
            raise tracklet.UsageError(f"log_model={log_model!r} must be False, True or 'all'")
        if version is None:  # WandbLogger's name for it, then the environment's
            version = init_kwargs.pop("id", None) or env_setting("RUN_ID")[1] or None
        self._resume = init_kwargs.pop("resume", None) or "allow"  # for a version the user asked for
        self._project = project
        self._name = name
        self._save_dir = os.path.abspath(os.fspath(save_dir) if save_dir is not None else os.curdir)
        # The run id is fixed now, so that every process this logger reaches (ddp_spawn pickles it,
        # ddp_fork inherits it) records into one run; the run itself starts on first use.
        self._id = run.id if run is not None else (version or generate_id())
        self._id_given = version is not None  # the user asked for this run: failing to continue it is an error
        self._home_pid = os.getpid()  # the process that made the logger (and fixed the id)
        self._log_model = log_model
        self._prefix = prefix
        self._init_kwargs = init_kwargs
        self._run: Run | None = run
        self._owns_run = False
        self._trainer_ref: Any = None
        self._checkpoint_callbacks: dict[Any, Any] = {}  # ModelCheckpoint (a weak proxy) by state key
        self._checkpoints = CheckpointLog()
        self._saved: dict[str, tuple[float, int | None, dict[str, float]]] = {}  # path -> (mtime, step, metrics) when saved
        self._failed = False  # the last fit/validate/test/predict call failed

    # -- identity ---------------------------------------------------------------------------------
    @property
    def experiment(self) -> Any:
        """The ``tracklet.Run`` on the global-zero process (started on first use); Lightning's
        ``DummyExperiment`` elsewhere."""
        if rank_zero_only.rank > 0:
            return self._dummy_experiment()
        if self._run is None or (self._run.finished and self._owns_run):
            self._run, self._owns_run = self._attach()
            self._id = self._run.id
            if self._owns_run and _forked and os.getpid() != self._home_pid:
                # A forked worker (ddp_fork) ends without exit handlers, where a spawned one finishes the
                # run: close it as the process ends, so that the launching process can continue it. Not
                # earlier (at finalize): a global zero that exits ahead of the others made gloo abort a
                # spawned worker ("terminate called without an active exception") in 2 of 5 tries here;
                # with the run finished at exit, 0 of 15.
                multiprocessing.util.Finalize(None, self._close_as_the_process_ends, exitpriority=0)
        return self._run

    def _attach(self) -> tuple["Run", bool]:
        """The run to record into: the user's live run, else the run of this logger's id (continued), else a new one."""
        init = dict(project=self._project_name(), name=self._name, **self._init_kwargs)
        if users_run() is not None:
            return acquire_run(**init)
        current = tracklet.run
        if current is not None and not current.finished and current.id == self._id:
            return current, False  # a copy of this logger in the process that records the run
        try:
            return acquire_run(id=self._id, resume=self._resume if self._id_given else "allow", **init)
        except tracklet.UsageError as e:
            if self._id_given:
                raise
            # e.g. the user's own run, held open by the process that spawned this one
            run, owns = acquire_run(**init)
            warn_once(
                f"lightning-attach:{self._id}",
                f"tracklet: this process cannot continue run {self._id} ({e}); it records into a new run, "
                f"{run.id}, instead. To keep one run under strategy='ddp_spawn', let TrackletLogger start the run "
                "rather than passing or reusing an open one.",
            )
            return run, owns

    @property
    def name(self) -> str:
        return self._run.project if self._run is not None else self._project_name()

    def _project_name(self) -> str:
        # WANDB_PROJECT below TRACKLET_PROJECT, as for every WANDB_* variable (and as WandbLogger reads it)
        return self._project or env_setting("PROJECT")[1] or DEFAULT_PROJECT

    @property
    def version(self) -> str | None:
        """The run id (asking for it starts nothing); on other ranks ``None``, unless the id came from
        the user or from the process that launched this one."""
        if rank_zero_only.rank > 0:
            return self._id if self._id_given or os.getpid() != self._home_pid else None
        if self._run is None and users_run() is not None:
            return self.experiment.id  # the user's run, which the logger records into
        return self._id

    @property
    def save_dir(self) -> str:
        return self._save_dir

    @property
    def root_dir(self) -> str:
        return os.path.join(self._save_dir, self.name)

    # -- pickling and copies ------------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        """What another process needs to record into the same run: its id (this process lets go of a
        run the logger started, so that the other one can continue it)."""
        if rank_zero_only.rank == 0:
            self._hand_over()
        return self._plain_state()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __copy__(self) -> Any:
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        new._owns_run = False  # the original finishes the run it started
        return new

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        """A copy that records into the same run: a run is a handle on files, shared rather than copied."""
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        new.__dict__.update(copy.deepcopy(self._plain_state(), memo))
        new._run = self._run
        new._trainer_ref = self._trainer_ref
        return new

    def _plain_state(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        # the live run, the trainer and its callbacks stay in this process; the id finds the run again
        state.update(_run=None, _owns_run=False, _trainer_ref=None, _checkpoint_callbacks={})
        return state

    def _hand_over(self) -> None:
        """Before this logger is sent to other processes: let them continue the run it records into."""
        if self._run is not None and self._owns_run and not self._run.finished:
            self.finish()  # a run can be continued only once this process has closed it
            self._run = None
        elif self._run is None and users_run() is not None:
            self._id = self.experiment.id  # the user's run: the other processes try it (and say if they cannot)

    # -- what Lightning calls ---------------------------------------------------------------------
    @rank_zero_only
    def log_hyperparams(self, params: Mapping[str, Any] | Namespace, *args: Any, **kwargs: Any) -> None:
        """Record ``params`` (a dict, ``AttributeDict`` or ``argparse.Namespace``) as the run's config."""
        values = vars(params) if isinstance(params, Namespace) else dict(params or {})
        # keys starting with "_" are Lightning's own bookkeeping (LightningCLI's _instantiator...)
        values = {str(k): jsonable(v) for k, v in values.items() if not str(k).startswith("_")}
        if values:
            self.experiment.config.update(values, allow_val_change=True)

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Record ``metrics`` at ``step`` (Lightning's count of optimizer steps)."""
        self._record(metrics, step)

    def _record(self, metrics: Mapping[str, Any], step: int | None) -> None:
        if self._prefix:
            metrics = {f"{self._prefix}{self.LOGGER_JOIN_CHAR}{k}": v for k, v in metrics.items()}
        self.experiment.log(dict(metrics), step=step)

    def log_graph(self, model: Any, input_array: Any = None) -> None:
        """Model graphs are not recorded."""

    def save(self) -> None:
        """Nothing to do: every record is already on disk."""

    @rank_zero_only
    @guard("TrackletLogger.finalize")
    def finalize(self, status: str) -> None:
        """End of a fit/validate/test/predict call: record pending checkpoints (``log_model=True``).

        Lightning calls this after every one of those calls, so the run stays open for the next
        one; it is finished at interpreter exit, or by ``finish()``.
        """
        self._failed = status != "success"
        if status == "success" and self._log_model is True:
            for checkpoint_callback in list(self._checkpoint_callbacks.values()):
                self._log_checkpoints(checkpoint_callback)

    def finish(self) -> None:
        """Finish the run now, if this logger started it (for notebooks; scripts finish it at exit).

        Using the logger afterwards (another ``fit``, ``test``...) continues the same run.
        """
        self._close()

    def _close_as_the_process_ends(self) -> None:
        self._close(exit_code=1 if self._failed else 0)

    def _close(self, exit_code: int = 0) -> None:
        self._checkpoints.settle(wait=True)
        if self._run is not None and self._owns_run and not self._run.finished:
            if exit_code:
                self._run.finish(exit_code=exit_code)
            release_run(self._run)

    @rank_zero_only
    @guard("TrackletLogger.after_save_checkpoint")
    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        """Record the monitored metric and best score; with ``log_model``, the checkpoints as artifacts."""
        key = getattr(checkpoint_callback, "state_key", None) or id(checkpoint_callback)
        self._checkpoint_callbacks[key] = checkpoint_callback
        self._note_saved(checkpoint_callback)
        summary: dict[str, Any] = {}
        monitor = getattr(checkpoint_callback, "monitor", None)
        best = getattr(checkpoint_callback, "best_model_score", None)
        if monitor:
            summary["checkpoint/monitor"] = monitor
        if best is not None:
            summary["checkpoint/best_score"] = float(best)
        best_path = getattr(checkpoint_callback, "best_model_path", None)
        if best_path:
            summary["checkpoint/best_path"] = best_path
        if summary:
            self.experiment.summary.update(summary)
        if self._log_model == "all" or (self._log_model is True and getattr(checkpoint_callback, "save_top_k", 1) == -1):
            self._log_checkpoints(checkpoint_callback)

    def _note_saved(self, checkpoint_callback: Any) -> None:
        """Remember the step and metrics of each checkpoint file when it appears (they name its version)."""
        trainer = self._trainer_ref() if self._trainer_ref is not None else None
        step = trainer.global_step if trainer is not None else None
        metrics = _numbers(trainer.callback_metrics) if trainer is not None else {}
        for path in _checkpoint_paths(checkpoint_callback):
            mtime = os.path.getmtime(path)
            if self._saved.get(path, (None,))[0] != mtime:
                self._saved[path] = (mtime, step, metrics)

    def _log_checkpoints(self, checkpoint_callback: Any) -> None:
        """Log every checkpoint file of ``checkpoint_callback`` not logged yet, oldest first."""
        run = self.experiment
        new = [p for p in _checkpoint_paths(checkpoint_callback) if self._checkpoints.logged.get(p) != os.path.getmtime(p)]
        settings = {k: jsonable(getattr(checkpoint_callback, k)) for k in _CHECKPOINT_SETTINGS if hasattr(checkpoint_callback, k)}
        for path in sorted(new, key=os.path.getmtime):
            _, step, metrics = self._saved.get(path, (None, None, {}))
            score = checkpoint_callback.best_k_models.get(path)
            if score is None and path == checkpoint_callback.best_model_path:
                score = checkpoint_callback.best_model_score
            metadata = {
                **metrics,
                "global_step": step,
                "monitor": checkpoint_callback.monitor,
                "score": None if score is None else _number(score),
                "original_filename": os.path.basename(path),
                "ModelCheckpoint": settings,
            }
            best = path == checkpoint_callback.best_model_path
            self._checkpoints.log(run, path, step, metadata, best=best, file_name="model.ckpt")

    # -- used by the monitor ------------------------------------------------------------------------
    def watch(self, model: Any, log: str | None = "gradients", log_freq: int = 100, log_graph: bool = True) -> None:
        """Record gradient / parameter statistics of ``model`` every ``log_freq`` steps (WandbLogger's arguments).

        Args:
            log: ``"gradients"``, ``"parameters"``, ``"all"``, or None (record nothing).
            log_freq: the number of training steps between two records.
            log_graph: accepted for WandbLogger's signature; tracklet records no model graphs, so it
                changes nothing.
        """
        if log not in _WATCH_LOG:
            raise tracklet.UsageError(f"watch(log={log!r}) must be one of {', '.join(map(str, _WATCH_LOG))}")
        if rank_zero_only.rank > 0 or log is None:
            return
        from .torch import watch

        watch(model, log=log, log_freq=log_freq, run=self.experiment, step=self._current_step)

    def _current_step(self) -> int:
        trainer = self._trainer_ref() if self._trainer_ref is not None else None
        return trainer.fit_loop.epoch_loop._batches_that_stepped if trainer is not None else self.experiment.step


class MonitorImpl:
    """Added to every Trainer by Lightning's ``callbacks_factory`` entry point; works only when a
    ``TrackletLogger`` is among the Trainer's loggers. Records, at Lightning's logging steps, the
    learning rate of each parameter group (``train/learning_rate``, ``train/learning_rate/pgN``) and
    the total gradient norm before clipping (``train/grad_norm``), in one record per optimizer step
    (``.../optN`` per optimizer when there are several); at fit start, the model's parameter counts,
    PEFT adapter config and model config."""

    def __init__(self) -> None:
        super().__init__()
        self._loggers: list[LoggerImpl] = []

    def setup(self, trainer: Any, pl_module: Any, stage: str) -> None:
        self._loggers = [lg for lg in trainer.loggers if isinstance(lg, LoggerImpl)]
        for lg in self._loggers:
            lg._trainer_ref = weakref.ref(trainer)

    @guard("tracklet Lightning monitor (fit start)")
    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        if not self._loggers or trainer.global_rank != 0:
            return
        facts = _module_facts(pl_module)
        for lg in self._loggers:
            lg.experiment.config.update(facts, allow_val_change=True)

    @guard("tracklet Lightning monitor (learning rate, gradient norm)")
    def on_before_optimizer_step(self, trainer: Any, pl_module: Any, optimizer: Any) -> None:
        if not self._loggers or trainer.global_rank != 0 or not _should_log(trainer):
            return
        optimizers = trainer.optimizers
        if len(optimizers) == 1:
            values = optimizer_lrs(optimizer)  # the rates this step uses: schedulers step after it
        else:
            values = optimizer_lrs(optimizer, f"train/learning_rate/opt{_index(optimizers, optimizer)}")
        norm = total_grad_norm(p for g in optimizer.param_groups for p in g["params"])
        if norm is not None:
            values["train/grad_norm" if len(optimizers) == 1 else f"train/grad_norm/opt{_index(optimizers, optimizer)}"] = norm
        self._log(trainer, values)

    def _log(self, trainer: Any, values: dict[str, float]) -> None:
        step = trainer.fit_loop.epoch_loop._batches_that_stepped
        for lg in self._loggers:  # straight to the run: log_metrics sees only what Lightning logs
            lg._record(values, step=step)


def _checkpoint_paths(checkpoint_callback: Any) -> list[str]:
    """The checkpoint files a ModelCheckpoint keeps: its best k, its best and its last."""
    paths = [*getattr(checkpoint_callback, "best_k_models", {}), checkpoint_callback.best_model_path, checkpoint_callback.last_model_path]
    return sorted({p for p in paths if p and os.path.isfile(p)})


_CHECKPOINT_SETTINGS = ("monitor", "mode", "save_last", "save_top_k", "save_weights_only", "_every_n_train_steps")


def _number(value: Any) -> Any:
    """A Python number for a 0-d tensor (ModelCheckpoint's scores are tensors)."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def _numbers(metrics: Mapping[str, Any]) -> dict[str, float]:
    out = {}
    for key, value in metrics.items():
        try:
            out[key] = float(value)
        except (TypeError, ValueError, RuntimeError):
            pass
    return out


def _index(optimizers: list[Any], optimizer: Any) -> int:
    inner = getattr(optimizer, "optimizer", optimizer)  # Lightning hands over its LightningOptimizer wrapper
    for i, opt in enumerate(optimizers):
        if opt is inner or opt is optimizer:
            return i
    return 0


def _should_log(trainer: Any) -> bool:
    """Lightning's own rule for a logging step (``_LoggerConnector.should_update_logs`` in the fit loop)."""
    every = trainer.log_every_n_steps
    return bool(every) and ((trainer.fit_loop.epoch_loop._batches_that_stepped + 1) % every == 0 or trainer.should_stop)


def _module_facts(pl_module: Any) -> dict[str, Any]:
    """Parameter counts of the LightningModule, with the config and PEFT config of the model inside it."""
    from .peft import adapter_configs

    facts = model_facts(pl_module)
    for module in pl_module.modules():
        if module is pl_module:
            continue
        if "peft_config" not in facts:
            peft = adapter_configs(module)
            if peft:
                facts["peft_config"] = peft
        if "model_config" not in facts and callable(getattr(getattr(module, "config", None), "to_dict", None)):
            facts["model_config"] = jsonable(module.config.to_dict())
        if "peft_config" in facts and "model_config" in facts:
            break
    return facts
