"""Accelerate → tracklet: ``Accelerator(log_with="tracklet")`` (accelerate 1.15+, which has
``register_tracker_class``) or ``Accelerator(log_with=TrackletTracker("my-project"))`` (any version).

Example:
    >>> accelerator = Accelerator(log_with="tracklet")
    >>> accelerator.init_trackers("my-project", config={"lr": 1e-3}, init_kwargs={"tracklet": {"tags": ["x"]}})
    >>> accelerator.get_tracker("tracklet").watch(optimizer, accelerator=accelerator)  # lr + grad norm
    >>> accelerator.log({"train/loss": loss.item()}, step=step)
    >>> accelerator.end_training()

Accelerate has no training hooks: ``watch(optimizer)`` hooks the optimizer step to record the learning
rate of each parameter group and the total gradient norm (what ``accelerator.clip_grad_norm_``
returned, when ``accelerator=`` is given and it was called; else computed) at every optimizer step.
Only the main process records.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from accelerate import tracking as _tracking
from accelerate.tracking import GeneralTracker

from ._common import acquire_run, guard, optimizer_lrs, release_run, total_grad_norm

if TYPE_CHECKING:
    from tracklet import Run

__all__ = ["TrackletTracker"]

on_main_process = getattr(_tracking, "on_main_process", lambda fn: fn)


class TrackletTracker(GeneralTracker):
    """An Accelerate tracker that records into a tracklet run.

    Args:
        project_name: the project (``init_trackers``' first argument when built from ``log_with="tracklet"``).
        run: record into this run (default: the user's current run if there is one, else a new run
            that ``end_training()`` finishes).
        **init_kwargs: more ``tracklet.init`` arguments (``name``, ``tags``, ``config``, ``dir``...).
    """

    name = "tracklet"
    requires_logging_directory = False
    main_process_only = True

    def __init__(self, project_name: str | None = None, run: "Run | None" = None, **init_kwargs: Any) -> None:
        super().__init__()
        self.project_name = project_name
        self.init_kwargs = init_kwargs
        self.run: Run | None = run
        self._owns_run = False
        self._hooks: list[Any] = []
        self._patched: Any = None  # the Accelerator whose clip_grad_norm_ is wrapped
        self._clip_norm: Any = None
        self._grad_norm: float | None = None
        self._params: Any = None
        self._optimizer_steps = 0
        self._step_fn: Callable[[], int] | None = None

    @property
    def tracker(self) -> "Run | None":
        """The tracklet ``Run`` (``accelerator.get_tracker("tracklet", unwrap=True)``)."""
        return self.run

    def _ensure_run(self) -> "Run":
        if self.run is None:
            self.run, self._owns_run = acquire_run(project=self.project_name, **self.init_kwargs)
        return self.run

    @on_main_process
    def start(self) -> None:
        """Start (or pick up) the run; accelerate 1.8+ calls it from ``init_trackers``, older ones at first use."""
        self._ensure_run()

    @on_main_process
    def store_init_configuration(self, values: dict[str, Any]) -> None:
        """Record ``values`` (``init_trackers``' ``config``) as the run's config."""
        self._ensure_run().config.update(values, allow_val_change=True)

    @on_main_process
    def log(self, values: dict[str, Any], step: int | None = None, **kwargs: Any) -> None:
        """``accelerator.log(values, step=)``: record ``values`` at ``step``."""
        self._ensure_run().log(values, step=step, commit=kwargs.get("commit"))

    @on_main_process
    def finish(self) -> None:
        """``accelerator.end_training()``: take the hooks off and finish the run if this tracker started it."""
        self.unwatch()
        if self.run is not None and self._owns_run and not self.run.finished:
            release_run(self.run)

    # -- what accelerate has no hook for ----------------------------------------------------------
    @on_main_process
    def watch(self, optimizer: Any, model: Any = None, accelerator: Any = None, step: Callable[[], int] | None = None) -> None:
        """Record the learning rate of each parameter group and the total gradient norm at every optimizer step.

        Args:
            optimizer: the optimizer (as ``accelerator.prepare`` returned it, or the plain one).
            model: take the gradient norm over this model's parameters (default: the optimizer's).
            accelerator: record what ``accelerator.clip_grad_norm_`` returns instead of computing the norm.
            step: a function giving the step to record at. Default: the optimizer steps taken before
                this one (0, 1, 2...), which lines up with ``accelerator.log(..., step=i)`` when ``i``
                counts optimizer steps from 0 too.
        """
        self.unwatch()
        self._ensure_run()
        self._step_fn = step
        inner = getattr(optimizer, "optimizer", optimizer)  # AcceleratedOptimizer wraps the real one
        self._params = model.parameters if model is not None else (lambda: (p for g in inner.param_groups for p in g["params"]))
        self._hooks = [inner.register_step_pre_hook(self._before_step), inner.register_step_post_hook(self._after_step)]
        if accelerator is not None:
            original = accelerator.clip_grad_norm_

            def clip_grad_norm_(*args: Any, **kwargs: Any) -> Any:
                self._clip_norm = norm = original(*args, **kwargs)
                return norm

            accelerator.clip_grad_norm_ = clip_grad_norm_  # an instance attribute: unwatch() drops it
            self._patched = accelerator

    def unwatch(self) -> None:
        """Take the optimizer hooks off."""
        for handle in self._hooks:
            handle.remove()
        self._hooks = []
        if self._patched is not None:
            vars(self._patched).pop("clip_grad_norm_", None)
            self._patched = None

    @guard("TrackletTracker.watch (before optimizer step)")
    def _before_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        if self._clip_norm is not None:
            self._grad_norm, self._clip_norm = float(self._clip_norm), None
        else:
            self._grad_norm = total_grad_norm(self._params())

    @guard("TrackletTracker.watch (after optimizer step)")
    def _after_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        values: dict[str, float] = optimizer_lrs(optimizer)
        if self._grad_norm is not None:
            values["train/grad_norm"] = self._grad_norm
        step, self._optimizer_steps = self._optimizer_steps, self._optimizer_steps + 1
        if self._step_fn is not None:
            step = self._step_fn()
        if self.run is not None and not self.run.finished:
            self.run.log(values, step=step)


def _register() -> None:
    register = getattr(_tracking, "register_tracker_class", None)  # accelerate 1.15+
    if register is not None and _tracking.LOGGER_TYPE_TO_CLASS.get(TrackletTracker.name) is not TrackletTracker:
        register(TrackletTracker)


_register()
