"""``watch(model)``: gradient and parameter statistics per layer, and the total gradient norm, every
``log_freq`` training forward passes, recorded with hooks.

Between log points the only cost is one forward pre-hook on the root module (a counter). At a log
point, gradient hooks are put on the parameters for that one backward pass, each computes its
statistics as tensors, and they are read back with one copy when the pass is over.

Example:
    >>> run = tracklet.init(project="demo")
    >>> tracklet.integrations.torch.watch(model, log="all", log_freq=100)
    >>> ...train...
    >>> tracklet.integrations.torch.unwatch(model)

Each tensor becomes a histogram of 64 bins over its range, ``gradients/<parameter>`` (a
``tracklet.Histogram``, as wandb's watch logs), and scalars: ``gradients/<parameter>.norm``,
``.mean``, ``.std``, ``.min``, ``.max`` (``parameters/<parameter>`` likewise) and
``gradients/total_norm``. The counts are made on the tensor's device beside the statistics and
come back in the same copy. A tensor with NaN or infinite values gets its statistics but no histogram.
"""

from __future__ import annotations

import functools
import math
import weakref
from typing import TYPE_CHECKING, Any, Callable

import torch

import tracklet

from ._common import guard

if TYPE_CHECKING:
    from tracklet import Run

__all__ = ["Watcher", "unwatch", "watch"]

_STATS = ("norm", "mean", "std", "min", "max")
BINS = 64
_LOG_CHOICES = ("gradients", "parameters", "all")

_watchers: "weakref.WeakKeyDictionary[torch.nn.Module, Watcher]" = weakref.WeakKeyDictionary()


def watch(
    model: torch.nn.Module,
    log: str = "gradients",
    log_freq: int = 100,
    run: "Run | None" = None,
    *,
    step: Callable[[], int] | None = None,
    when: Callable[[], bool] | None = None,
) -> "Watcher":
    """Record gradient and/or parameter statistics of ``model`` every ``log_freq`` training steps.

    Args:
        model: the module to watch (its training-mode forward passes are counted).
        log: ``"gradients"``, ``"parameters"`` or ``"all"``.
        log_freq: log at the 1st forward pass and every ``log_freq``-th after it.
        run: the run to record into; default the current run.
        step: a function giving the step to record at; default: the step the run's next ``log()``
            writes (statistics merge into it).
        when: for integrations that know the training step: a function that says whether this
            forward pass is one to record, instead of counting passes (``log_freq`` is then unused).

    Raises:
        UsageError: no run, an unknown ``log`` value, or ``log_freq`` < 1.
    """
    if log not in _LOG_CHOICES:
        raise tracklet.UsageError(f"watch(log={log!r}) must be one of {', '.join(_LOG_CHOICES)}")
    if not isinstance(log_freq, int) or isinstance(log_freq, bool) or log_freq < 1:
        raise tracklet.UsageError(f"watch(log_freq={log_freq!r}) must be an int >= 1")
    if not isinstance(model, torch.nn.Module):
        raise tracklet.UsageError(f"watch() takes a torch.nn.Module; got {type(model).__name__}")
    run = run if run is not None else tracklet.run
    if run is None:
        raise tracklet.UsageError("watch() needs a run: call tracklet.init() first, or pass run=")
    old = _watchers.pop(model, None)
    if old is not None:
        old.remove()
    watcher = Watcher(model, run, log, log_freq, step, when)
    _watchers[model] = watcher
    return watcher


def unwatch(model: torch.nn.Module | None = None) -> None:
    """Stop watching ``model`` (every watched model when None), recording what is still pending."""
    targets = [model] if model is not None else list(_watchers)
    for m in targets:
        watcher = _watchers.pop(m, None)
        if watcher is not None:
            watcher.remove()


class Watcher:
    """The hooks of one watched model; ``remove()`` takes them off."""

    def __init__(
        self,
        model: torch.nn.Module,
        run: "Run",
        log: str,
        log_freq: int,
        step: Callable[[], int] | None = None,
        when: Callable[[], bool] | None = None,
    ) -> None:
        self.run = run
        self.log_freq = log_freq
        self.calls = 0
        self._grads = log in ("gradients", "all")
        self._params = log in ("parameters", "all")
        self._named = [(name, p) for name, p in model.named_parameters()]
        self._step_fn = step
        self._when = when
        self._pending: list[tuple[str, torch.Tensor]] = []
        self._pending_step: int | None = None
        self._grad_handles: list[Any] = []
        self._expected = 0
        self._fired = 0
        self._forward_handle = model.register_forward_pre_hook(self._on_forward)

    def remove(self) -> None:
        self._forward_handle.remove()
        self._drop_grad_hooks()
        self._flush()

    # -- hooks ----------------------------------------------------------------------------------
    @guard("watch (forward hook)")
    def _on_forward(self, module: torch.nn.Module, args: Any) -> None:
        if self._pending:
            self._flush()  # the armed backward pass is over, even if some parameters got no gradient
        if not module.training or not torch.is_grad_enabled():
            return
        self.calls += 1
        if not (self._when() if self._when is not None else (self.calls - 1) % self.log_freq == 0):
            return
        if self.run.finished:
            return
        self._pending_step = self._step_fn() if self._step_fn is not None else None
        if self._params:
            with torch.no_grad():
                for name, p in self._named:
                    self._pending.append((f"parameters/{name}", _stats(p.detach())))
            if not self._grads:
                self._flush()
        if self._grads:
            self._arm()

    def _arm(self) -> None:
        self._drop_grad_hooks()
        self._fired = 0
        self._expected = 0
        for name, p in self._named:
            if p.requires_grad:
                hook = functools.partial(self._on_grad, f"gradients/{name}")
                self._grad_handles.append(p.register_post_accumulate_grad_hook(hook))
                self._expected += 1

    @guard("watch (gradient hook)")
    def _on_grad(self, key: str, p: torch.Tensor) -> None:
        """After ``p.grad`` was accumulated in an armed backward pass: its statistics, as tensors."""
        if p.grad is not None:
            with torch.no_grad():
                self._pending.append((key, _stats(p.grad.detach())))
        self._fired += 1
        if self._fired >= self._expected:
            self._drop_grad_hooks()
            self._flush()

    def _drop_grad_hooks(self) -> None:
        for handle in self._grad_handles:
            handle.remove()
        self._grad_handles = []

    def _flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending or self.run.finished:
            return
        device = pending[0][1].device
        values = torch.stack([t.to(device) for _, t in pending]).tolist()  # one copy for everything
        data: dict[str, Any] = {}
        sq_norms = 0.0
        for (prefix, _), row in zip(pending, values, strict=True):
            stats, counts = row[: len(_STATS)], row[len(_STATS):]
            for stat, value in zip(_STATS, stats, strict=True):
                data[f"{prefix}.{stat}"] = value
            edges = _edges(stats[3], stats[4])
            if edges is not None:
                data[prefix] = tracklet.Histogram(np_histogram=(counts, edges))
            if prefix.startswith("gradients/"):
                sq_norms += row[0] * row[0]
        if any(prefix.startswith("gradients/") for prefix, _ in pending):
            data["gradients/total_norm"] = sq_norms**0.5
        if self._pending_step is None:
            self.run.log(data, commit=False)
        else:
            self.run.log(data, step=self._pending_step)


def _stats(t: torch.Tensor) -> torch.Tensor:
    """norm, mean, std, min, max of ``t`` and then its ``BINS`` histogram counts, as one tensor (no copy back yet)."""
    t = t.float()
    if t.numel() < 2:
        value = t.reshape(-1)[0] if t.numel() else torch.zeros((), device=t.device)
        stats = torch.stack([value.abs(), value, torch.zeros_like(value), value, value])
    else:
        std, mean = torch.std_mean(t)
        low, high = torch.aminmax(t)
        stats = torch.stack([torch.linalg.vector_norm(t), mean, std, low, high])
    return torch.cat([stats, _counts(t.reshape(-1), stats[3], stats[4])])


def _counts(flat: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """Counts of ``flat`` in ``BINS`` equal bins over [low, high] (numpy.histogram's bins, as ``_edges`` gives them),
    without a copy back to decide anything: NaN lands in bin 0, and ``_flush`` drops such a histogram."""
    flat_range = high > low
    lo = torch.where(flat_range, low, low - 0.5)  # one value: numpy's range (v - 0.5, v + 0.5)
    width = torch.where(flat_range, high - low, torch.ones_like(high))
    pos = torch.nan_to_num((flat - lo) * (BINS / width), nan=0.0, posinf=BINS - 1.0, neginf=0.0)
    return torch.bincount(pos.clamp_(0, BINS - 1).long(), minlength=BINS)[:BINS].float()


def _edges(low: float, high: float) -> list[float] | None:
    """The ``BINS + 1`` edges ``_counts`` used, or None when the range is not finite (no histogram)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    if high <= low:
        low, high = low - 0.5, high + 0.5
    step = (high - low) / BINS
    return [low + i * step for i in range(BINS)] + [high]
