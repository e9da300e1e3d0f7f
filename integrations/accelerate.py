"""Accelerate → tracklet: ``Accelerator(log_with="tracklet")`` (accelerate 1.15+, which has
``register_tracker_class``), ``Accelerator(log_with="all")`` (any version: tracklet is one of the
installed trackers "all" picks up, as wandb is) or ``Accelerator(log_with=TrackletTracker("my-project"))``.

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

import weakref
from typing import TYPE_CHECKING, Any, Callable

from accelerate import tracking as _tracking
from accelerate.tracking import GeneralTracker

from ._common import acquire_run, guard, optimizer_lrs, release_run, total_grad_norm, warn_once

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
        if not isinstance(self, _ByName):
            _instances.add(self)

    @property
    def tracker(self) -> "Run | None":
        """The tracklet ``Run`` (``accelerator.get_tracker("tracklet", unwrap=True)``)."""
        return self.run

    def _ensure_run(self) -> "Run | None":
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
        run = self._ensure_run()
        if run is not None:
            run.config.update(values, allow_val_change=True)

    @on_main_process
    def log(self, values: dict[str, Any], step: int | None = None, **kwargs: Any) -> None:
        """``accelerator.log(values, step=)``: record ``values`` at ``step``."""
        run = self._ensure_run()
        if run is not None:
            run.log(values, step=step, commit=kwargs.get("commit"))

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
        if self._ensure_run() is None:
            return
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


# TrackletTracker objects the user made (and passed as log_with=[..., TrackletTracker(...)])
_instances: "weakref.WeakSet[TrackletTracker]" = weakref.WeakSet()


class _ByName(TrackletTracker):
    """The tracker accelerate builds from the name: ``log_with="tracklet"``, or ``"all"``.

    ``log_with=["all", TrackletTracker("p")]`` names tracklet twice; accelerate starts the user's
    object first (``filter_trackers`` puts instances before the names), and this one then records
    nothing, rather than starting a second run that would end the first.
    """

    def _ensure_run(self) -> "Run | None":
        if self.run is None and any(t.run is not None and not t.run.finished for t in _instances):
            return None
        return super()._ensure_run()


def _register() -> None:
    """Make ``log_with="tracklet"`` (1.15+) and ``log_with="all"`` (every version) build a TrackletTracker.

    ``"all"`` is ``filter_trackers``' ``get_available_trackers()``, the module list ``_available_trackers``
    that accelerate fills at import with the trackers it finds installed (the same in 0.26 to 1.15), and
    ``init_trackers`` builds each name in it with ``LOGGER_TYPE_TO_CLASS[name](project_name, **init_kwargs[name])``.
    tracklet joins both, as an installed wandb joins them. An accelerate where that does not take gets
    one warning that says what to pass instead.
    """
    classes = getattr(_tracking, "LOGGER_TYPE_TO_CLASS", None)
    register = getattr(_tracking, "register_tracker_class", None)  # accelerate 1.15+
    if isinstance(classes, dict) and classes.get(TrackletTracker.name) is not _ByName:
        if register is not None:
            register(_ByName)
        else:
            classes[TrackletTracker.name] = _ByName  # what register_tracker_class does, for 0.26-1.14
    available = getattr(_tracking, "_available_trackers", None)
    if isinstance(available, list) and TrackletTracker.name not in available:
        available.append(TrackletTracker.name)
    if not _in_all():
        warn_once(
            "accelerate-all",
            f"tracklet: this accelerate ({_version()}) does not let tracklet join Accelerator(log_with=\"all\"), "
            "so \"all\" records nothing to tracklet; pass log_with=[\"all\", TrackletTracker(project)] "
            "(from tracklet.integrations.accelerate).",
        )


def _in_all() -> bool:
    """Whether ``log_with="all"`` expands to a tracklet tracker (asked of accelerate's own function)."""
    try:
        names = [str(t) for t in _tracking.filter_trackers(["all"], None)]
        return TrackletTracker.name in names and _tracking.LOGGER_TYPE_TO_CLASS.get(TrackletTracker.name) is _ByName
    except Exception:  # noqa: BLE001 - a changed accelerate: then it does not
        return False


def _version() -> str:
    from importlib.metadata import version

    try:
        return version("accelerate")
    except Exception:  # noqa: BLE001
        return "unknown version"


_register()
