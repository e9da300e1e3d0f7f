"""The Lightning logger and monitor, written once for both namespaces.

``tracklet.integrations.lightning`` (``lightning.pytorch``) and ``tracklet.integrations.pytorch_lightning``
each put these behind their own ``Logger`` / ``Callback`` base, so ``isinstance`` checks and
LightningCLI see a class of the right namespace. Only ``lightning_utilities`` (shared by both) is
imported here.
"""

from __future__ import annotations

import os
import weakref
from argparse import Namespace
from typing import TYPE_CHECKING, Any, Mapping

from lightning_utilities.core.rank_zero import rank_zero_only

import tracklet

from ._checkpoints import CheckpointLog
from ._common import acquire_run, guard, jsonable, log_model_setting, model_facts, optimizer_lrs, release_run, total_grad_norm

if TYPE_CHECKING:
    from tracklet import Run

__all__ = ["LoggerImpl", "MonitorImpl"]

DEFAULT_PROJECT = "lightning_logs"


class LoggerImpl:
    """Records a Lightning run into tracklet.

    Args:
        project: the project (default ``TRACKLET_PROJECT``, else "lightning_logs").
        name: the run's display name (default ``TRACKLET_RUN_NAME``, else generated).
        save_dir: where Lightning puts checkpoints (``save_dir/project/run_id/checkpoints``);
            default the Trainer's ``default_root_dir``.
        version: a run id, to continue that run (``resume="allow"``).
        log_model: ``False`` (no checkpoints recorded), ``True`` (the best and last checkpoints, when
            training ends) or ``"all"`` (every checkpoint when it is saved); default from
            ``TRACKLET_LOG_MODEL`` (``end`` is True, ``checkpoint`` is "all"), else False.
        prefix: put before every metric name (joined with ``-``, as Lightning's loggers do).
        run: record into this run instead (default: the user's current run if there is one, else a
            new run).
        **init_kwargs: more ``tracklet.init`` arguments (``tags``, ``config``, ``group``, ``dir``...).

    The run is started on first use, on the global-zero process only; ``experiment`` is the
    ``tracklet.Run`` there and a disabled run (same API, records nothing) on other processes. The learning rate of each
    optimizer's parameter groups and the total gradient norm are recorded at Lightning's logging
    steps by a callback that Lightning adds to every Trainer through its entry points.
    """

    LOGGER_JOIN_CHAR = "-"
    _dummy_experiment: Any = None  # each namespace's _DummyExperiment

    def __init__(
        self,
        project: str | None = None,
        name: str | None = None,
        save_dir: str | os.PathLike | None = None,
        version: str | None = None,
        log_model: bool | str | None = None,
        prefix: str = "",
        run: "Run | None" = None,
        **init_kwargs: Any,
    ) -> None:
        super().__init__()
        if log_model is None:  # TRACKLET_LOG_MODEL: end -> True, checkpoint -> "all"
            log_model = {"false": False, "end": True, "checkpoint": "all"}[log_model_setting()]
        if log_model not in (True, False, "all"):
            raise tracklet.UsageError(f"log_model={log_model!r} must be False, True or 'all'")
        self._project = project
        self._name = name
        self._save_dir = os.fspath(save_dir) if save_dir is not None else None
        self._version = version
        self._log_model = log_model
        self._prefix = prefix
        self._init_kwargs = init_kwargs
        self._run: Run | None = run
        self._owns_run = False
        self._noop: Any = None  # what experiment is on other processes
        self._trainer_ref: Any = None
        self._checkpoint_callback: Any = None
        self._checkpoints = CheckpointLog()
        self._saved: dict[str, tuple[float, int | None, dict[str, float]]] = {}  # path -> (mtime, step, metrics) when saved

    # -- identity ---------------------------------------------------------------------------------
    @property
    def experiment(self) -> Any:
        """The ``tracklet.Run`` on the global-zero process (started on first use); a disabled run elsewhere."""
        if rank_zero_only.rank > 0:
            return self._stand_in()
        if self._run is None:
            self._run, self._owns_run = acquire_run(
                project=self._project or (None if os.environ.get("TRACKLET_PROJECT") else DEFAULT_PROJECT),
                name=self._name,
                id=self._version,
                resume="allow" if self._version else None,
                **self._init_kwargs,
            )
        return self._run

    def _stand_in(self) -> Any:
        """A disabled run (same API, records nothing); Lightning's no-op object if this process has a run of its own."""
        if self._noop is None:
            current = tracklet.run
            if current is None or current.finished:
                self._noop = tracklet.init(mode="disabled", project=self.name)
            else:
                self._noop = self._dummy_experiment()
        return self._noop

    @property
    def name(self) -> str:
        if self._run is not None:
            return self._run.project
        return self._project or os.environ.get("TRACKLET_PROJECT") or DEFAULT_PROJECT

    @property
    def version(self) -> str | None:
        """The run id (``None`` on processes other than global zero)."""
        if rank_zero_only.rank > 0:
            return self._version
        return self.experiment.id

    @property
    def save_dir(self) -> str | None:
        return self._save_dir

    @property
    def root_dir(self) -> str | None:
        return None if self._save_dir is None else os.path.join(self._save_dir, self.name)

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
        if status == "success" and self._log_model is True and self._checkpoint_callback is not None:
            self._log_checkpoints(self._checkpoint_callback)

    def finish(self) -> None:
        """Finish the run now, if this logger started it (for notebooks; scripts finish it at exit)."""
        self._checkpoints.settle(wait=True)
        if self._run is not None and self._owns_run and not self._run.finished:
            release_run(self._run)

    @rank_zero_only
    @guard("TrackletLogger.after_save_checkpoint")
    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        """Record the monitored metric and best score; with ``log_model``, the checkpoints as artifacts."""
        self._checkpoint_callback = checkpoint_callback
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
        for path in sorted(new, key=os.path.getmtime):
            _, step, metrics = self._saved.get(path, (None, None, {}))
            score = checkpoint_callback.best_k_models.get(path)
            if score is None and path == checkpoint_callback.best_model_path:
                score = checkpoint_callback.best_model_score
            metadata = {
                **metrics,
                "global_step": step,
                "monitor": checkpoint_callback.monitor,
                "score": None if score is None else float(score),
                "original_filename": os.path.basename(path),
            }
            best = path == checkpoint_callback.best_model_path
            self._checkpoints.log(run, path, step, metadata, best=best, file_name="model.ckpt")

    # -- used by the monitor ------------------------------------------------------------------------
    def watch(self, model: Any, log: str = "gradients", log_freq: int = 100) -> None:
        """Record gradient / parameter statistics of ``model`` (see ``tracklet.integrations.torch.watch``)."""
        if rank_zero_only.rank > 0:
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
        for lg in self._loggers:
            lg.log_metrics(values, step=step)


def _checkpoint_paths(checkpoint_callback: Any) -> list[str]:
    """The checkpoint files a ModelCheckpoint keeps: its best k, its best and its last."""
    paths = [*getattr(checkpoint_callback, "best_k_models", {}), checkpoint_callback.best_model_path, checkpoint_callback.last_model_path]
    return sorted({p for p in paths if p and os.path.isfile(p)})


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
