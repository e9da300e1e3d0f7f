"""Hugging Face ``Trainer`` → tracklet: ``TrainingArguments(report_to="tracklet")`` or
``Trainer(callbacks=[TrackletCallback()])``.

Importing this module registers ``"tracklet"`` in transformers' ``report_to`` registry and in what
``report_to="all"`` picks; the start-up hook that tracklet installs does the same as soon as
transformers loads its integrations, so a script needs no ``import tracklet``.

Recorded, at the Trainer's ``global_step``: ``train/loss``, ``train/learning_rate``,
``train/grad_norm``, ``train/epoch``, ``train/samples_per_second``, ``train/steps_per_second``,
``train/tokens_per_second`` and ``train/num_input_tokens_seen`` (when the Trainer counts input
tokens), every ``eval/*`` and ``test/*`` metric. The final ``train_runtime``, ``train_loss``,
``total_flos``... go to the summary. Config: ``args`` (TrainingArguments), ``model_config``,
``peft_config`` (PEFT models), ``num_parameters``, ``num_trainable_parameters``.

Settings: ``TRACKLET_PROJECT`` (else ``args.project``, else "huggingface"), ``TRACKLET_RUN_NAME``
(else ``args.run_name``), ``TRACKLET_TAGS``, ``TRACKLET_LOG_MODEL=false|end|checkpoint``,
``TRACKLET_WATCH=false|gradients|parameters|all``.
"""

from __future__ import annotations

import functools
import importlib
import os
import shutil
import sys
import tempfile
import time
import warnings
from typing import TYPE_CHECKING, Any

from transformers.trainer_callback import TrainerCallback

import tracklet

from ._checkpoints import CheckpointLog
from ._common import (
    acquire_run,
    guard,
    jsonable,
    log_model_setting,
    model_facts,
    release_run,
    resume_run,
    scalars,
    warn_once,
    watch_setting,
)

if TYPE_CHECKING:
    from tracklet import Run

__all__ = ["TrackletCallback"]

# Values the Trainer reports once, at the end of training: summary, not history.
SUMMARY_KEYS = frozenset(
    ("train_runtime", "train_samples_per_second", "train_steps_per_second", "train_tokens_per_second", "train_loss", "total_flos")
)
TRAIN_KEYS = {
    "loss": "train/loss",
    "learning_rate": "train/learning_rate",
    "grad_norm": "train/grad_norm",
    "epoch": "train/epoch",
    "num_input_tokens_seen": "train/num_input_tokens_seen",
}


def rename_logs(logs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split the Trainer's ``logs`` into (history metrics with tracklet names, summary values)."""
    metrics: dict[str, Any] = {}
    summary: dict[str, Any] = {}
    for key, value in scalars(logs).items():
        if key in SUMMARY_KEYS:
            summary[key] = value
        elif key in TRAIN_KEYS:
            metrics[TRAIN_KEYS[key]] = value
        elif key.startswith("eval_"):
            metrics["eval/" + key[5:]] = value
        elif key.startswith("test_"):
            metrics["test/" + key[5:]] = value
        else:
            metrics[key] = value  # the user's own trainer.log({...}) keys stay as they were
    return metrics, summary


class TrackletCallback(TrainerCallback):
    """A ``TrainerCallback`` that records a Trainer's run; built with no arguments by ``report_to``.

    Args:
        run: record into this run (default: the current run if the user started one, else a new run
            that is finished at the end of training).
        project: overrides ``TRACKLET_PROJECT`` and ``args.project``.
        log_model: ``"false"``, ``"end"`` or ``"checkpoint"``; default ``TRACKLET_LOG_MODEL``.
        watch: ``"false"``, ``"gradients"``, ``"parameters"`` or ``"all"``; default ``TRACKLET_WATCH``.

    Raises:
        UsageError: a ``log_model`` / ``watch`` value (or variable) that is not one of the choices.
    """

    def __init__(self, run: "Run | None" = None, project: str | None = None, log_model: Any = None, watch: str | None = None) -> None:
        self._given_run = run
        self._project = project
        self.log_model = log_model_setting(log_model)
        self.watch = watch_setting(watch)
        self.run: Run | None = None
        self._owns_run = False
        self._ended = False  # train() ended and an owned run was finished
        self._state: Any = None
        self._watched: Any = None
        self._clock_reset(None)
        self._latest: dict[str, Any] = {}  # the newest value of each metric, for checkpoint metadata
        self._eval_step: int | None = None  # the step of the newest evaluation
        self._best: float | None = None
        self._checkpoints = CheckpointLog()
        self._saved_steps: set[int] = set()

    # -- setup ----------------------------------------------------------------------------------
    def _setup(self, args: Any, state: Any, model: Any) -> None:
        self._state = state
        trial = state.trial_name if getattr(state, "is_hyper_param_search", False) else None
        env_name = os.environ.get("TRACKLET_RUN_NAME")
        name = None if env_name else (trial or getattr(args, "run_name", None))
        group = (getattr(args, "run_name", None) or args.output_dir) if trial else None
        project = self._project
        if project is None and not os.environ.get("TRACKLET_PROJECT"):
            project = getattr(args, "project", None) or "huggingface"
        if self._given_run is not None:
            self.run, self._owns_run = self._given_run, False
        else:
            self.run, self._owns_run = acquire_run(project=project, name=name, group=group)
        self._ended = False
        config: dict[str, Any] = {"args": jsonable(args.to_dict())}
        config.update(model_facts(model))
        self.run.config.update(config, allow_val_change=True)
        if self.watch != "false" and model is not None:
            from .torch import watch

            every = _every(args.logging_steps, state.max_steps)
            self._watched = model
            # the forward passes of the step that the Trainer logs: recorded at that step
            watch(
                model,
                log=self.watch,
                run=self.run,
                step=lambda: self._state.global_step + 1,
                when=lambda: (self._state.global_step + 1) % every == 0,
            )

    def _run_for(self, args: Any, state: Any, model: Any) -> "Run | None":
        """The run to record into, set up on first use; None on processes other than the main one."""
        if not state.is_world_process_zero:
            return None
        self._state = state
        if self.run is None:
            self._setup(args, state, model)
        elif self._ended and self._owns_run:
            self.run = resume_run(self.run)  # evaluate() or predict() after train()
            self._ended = False
        return self.run

    # -- Trainer events -------------------------------------------------------------------------
    @guard("TrackletCallback.on_train_begin")
    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        if self.run is not None and (self._ended or getattr(state, "is_hyper_param_search", False)):
            if self._owns_run and not self.run.finished:
                release_run(self.run)
            self.run = None  # each train() (and each trial of a search) is a run of its own
        self._run_for(args, state, model)
        self._clock_reset(state)

    @guard("TrackletCallback.on_log")
    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, model: Any = None, **kwargs: Any) -> None:
        run = self._run_for(args, state, model)
        if run is None or not logs:
            return
        metrics, summary = rename_logs(logs)
        if "eval_runtime" in logs:
            self._eval_seconds += float(logs["eval_runtime"])
            self._eval_step = state.global_step
        self._latest.update((k, v) for k, v in metrics.items() if isinstance(v, (int, float)))
        if "train/loss" in metrics:
            metrics.update(self._throughput(args, state))
        if metrics:
            _log(run, metrics, state.global_step)
        if summary:
            run.summary.update(summary)

    @guard("TrackletCallback.on_predict")
    def on_predict(self, args: Any, state: Any, control: Any, metrics: dict[str, Any] | None = None, **kwargs: Any) -> None:
        run = self._run_for(args, state, kwargs.get("model"))
        if run is None or not metrics:
            return
        logged, _ = rename_logs(metrics)
        if logged:
            _log(run, logged, state.global_step)

    @guard("TrackletCallback.on_save")
    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        """``TRACKLET_LOG_MODEL=checkpoint``: the checkpoint just written, as a model artifact version."""
        if self.log_model != "checkpoint" or not state.is_world_process_zero or self.run is None or self.run.finished:
            return
        path = _checkpoint_dir(args, state)
        if path is None:
            warn_once(
                f"hf-checkpoint-dir:{args.output_dir}",
                f"tracklet: no checkpoint-{state.global_step} folder under {args.output_dir}; checkpoints are not recorded.",
            )
            return
        self._checkpoints.log(self.run, path, state.global_step, self._metadata(state), best=self._is_best(args, state))
        self._saved_steps.add(state.global_step)

    def _metadata(self, state: Any) -> dict[str, Any]:
        return {"global_step": state.global_step, "epoch": state.epoch, **self._latest}

    def _is_best(self, args: Any, state: Any) -> bool:
        """Whether the evaluation at this step is the best so far, by ``metric_for_best_model`` (default eval loss)."""
        if self._eval_step != state.global_step:
            return False
        name = args.metric_for_best_model or "loss"
        name = name[len("eval_"):] if name.startswith("eval_") else name
        value = self._latest.get(f"eval/{name}")
        if value is None:
            return False
        greater = args.greater_is_better if args.greater_is_better is not None else not name.endswith("loss")
        if self._best is None or (value > self._best if greater else value < self._best):
            self._best = value
            return True
        return False

    def _log_final_model(self, args: Any, state: Any, model: Any, processing_class: Any) -> None:
        """``TRACKLET_LOG_MODEL=end|checkpoint``: the trained model (``save_pretrained``) as a version aliased ``final``."""
        if model is None:
            return
        os.makedirs(args.output_dir, exist_ok=True)
        folder = tempfile.mkdtemp(prefix=".tracklet-final-", dir=args.output_dir)
        try:
            if callable(getattr(model, "save_pretrained", None)):
                model.save_pretrained(folder)
            else:
                import torch

                torch.save(model.state_dict(), os.path.join(folder, "model.pt"))
            if callable(getattr(processing_class, "save_pretrained", None)):
                processing_class.save_pretrained(folder)
            # the final weights are the best ones only when the Trainer loaded the best checkpoint back
            best = bool(args.load_best_model_at_end)
            # step-N stays with the checkpoint of that step when there is one
            step = None if state.global_step in self._saved_steps else state.global_step
            self._checkpoints.log(self.run, folder, step, self._metadata(state), best=best, extra_aliases=("final",))
            self._checkpoints.settle(wait=True)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    @guard("TrackletCallback.on_train_end")
    def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero or self.run is None:
            return
        if self.log_model in ("end", "checkpoint") and not self.run.finished:
            self._log_final_model(args, state, model, kwargs.get("processing_class") or kwargs.get("tokenizer"))
        self._checkpoints.settle(wait=True)
        if self._watched is not None:
            from .torch import unwatch

            unwatch(self._watched)
            self._watched = None
        if state.best_metric is not None and args.metric_for_best_model:
            self.run.summary.update({"best_metric": state.best_metric, "best_global_step": getattr(state, "best_global_step", None)})
        if self._owns_run and not self.run.finished:
            release_run(self.run)
            self._ended = True

    # -- throughput -----------------------------------------------------------------------------
    def _clock_reset(self, state: Any) -> None:
        self._last_time = time.perf_counter()
        self._last_step = state.global_step if state is not None else 0
        self._last_tokens = getattr(state, "num_input_tokens_seen", 0) or 0
        self._eval_seconds = 0.0

    def _throughput(self, args: Any, state: Any) -> dict[str, float]:
        """Samples, steps and tokens per second since the previous training log, evaluation time excluded."""
        now = time.perf_counter()
        elapsed = now - self._last_time - self._eval_seconds
        steps = state.global_step - self._last_step
        tokens = (getattr(state, "num_input_tokens_seen", 0) or 0) - self._last_tokens
        self._clock_reset(state)
        if steps <= 0 or elapsed <= 0:
            return {}
        samples = steps * args.train_batch_size * args.gradient_accumulation_steps * max(1, args.world_size)
        out = {"train/samples_per_second": samples / elapsed, "train/steps_per_second": steps / elapsed}
        if tokens > 0:
            out["train/tokens_per_second"] = tokens / elapsed
        return out


def _checkpoint_dir(args: Any, state: Any) -> str | None:
    """The folder the Trainer just saved: ``output_dir/checkpoint-N`` (one level down under a hyperparameter search)."""
    name = f"checkpoint-{state.global_step}"
    direct = os.path.join(args.output_dir, name)
    if os.path.isdir(direct):
        return direct
    if not os.path.isdir(args.output_dir):
        return None
    found = [os.path.join(args.output_dir, d, name) for d in os.listdir(args.output_dir)]
    found = [path for path in found if os.path.isdir(path)]
    return max(found, key=os.path.getmtime) if found else None


def _every(logging_steps: float, max_steps: int) -> int:
    """The Trainer's logging interval in steps (``logging_steps`` < 1 is a fraction of the run)."""
    if logging_steps >= 1:
        return int(logging_steps)
    return max(1, int(logging_steps * max(1, max_steps)))


def _log(run: "Run", metrics: dict[str, Any], step: int) -> None:
    if step < run.step:
        # evaluate() after train() on the reopened run logs at the last training step, which a
        # resumed run counts as behind it; that is meant here, so the step-order notice is not.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"tracklet: log\(\) at step", category=tracklet.TrackletWarning)
            run.log(metrics, step=step)
    else:
        run.log(metrics, step=step)


# -- registration in transformers' report_to ----------------------------------------------------------
def _register() -> None:
    iu = importlib.import_module("transformers.integrations.integration_utils")
    iu.INTEGRATION_TO_CALLBACK["tracklet"] = TrackletCallback
    available = iu.get_available_reporting_integrations
    if not getattr(available, "_with_tracklet", False):

        @functools.wraps(available)
        def with_tracklet() -> list[str]:
            found = list(available())
            return found if "tracklet" in found else [*found, "tracklet"]

        with_tracklet._with_tracklet = True  # type: ignore[attr-defined]
        iu.get_available_reporting_integrations = with_tracklet
        package = sys.modules.get("transformers.integrations")
        if package is not None:  # TrainingArguments resolves "all" through the package attribute
            package.get_available_reporting_integrations = with_tracklet


_register()
