"""What every integration shares: starting or reusing a run, settings from TRACKLET_* variables,
JSON-safe config, warnings that never stop training, and optimizer/model facts.

Imports nothing heavy: torch is only touched through objects the framework hands over.
"""

from __future__ import annotations

import functools
import os
import weakref
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, TypeVar

import tracklet
from tracklet.util import to_jsonable, warn_once

if TYPE_CHECKING:
    from tracklet import Run

__all__ = [
    "LOG_MODEL_CHOICES",
    "WATCH_CHOICES",
    "acquire_run",
    "env_setting",
    "guard",
    "jsonable",
    "log_model_setting",
    "model_facts",
    "optimizer_lrs",
    "parameter_counts",
    "release_run",
    "resume_run",
    "scalars",
    "total_grad_norm",
    "users_run",
    "warn_once",
    "watch_setting",
]

F = TypeVar("F", bound=Callable[..., Any])

# Runs that an integration started: they are finished by the integration and never reused
# as "the user's run" by another integration object.
_started: "weakref.WeakSet[Run]" = weakref.WeakSet()


def acquire_run(**init_kwargs: Any) -> tuple["Run", bool]:
    """The user's live run if there is one, else a new run; the flag says whether the caller owns it."""
    current = tracklet.run
    if current is not None and not current.finished and current not in _started:
        return current, False
    run = tracklet.init(**{k: v for k, v in init_kwargs.items() if v is not None})
    _started.add(run)
    return run, True


def users_run() -> "Run | None":
    """The user's own live run in this process (not one an integration started), if there is one."""
    current = tracklet.run
    if current is not None and not current.finished and current not in _started:
        return current
    return None


def release_run(run: "Run") -> None:
    """Finish a run that an integration started (``tracklet.run`` follows when it was the current one)."""
    if tracklet.run is run:
        tracklet.finish()
    else:
        run.finish()


def resume_run(run: "Run") -> "Run":
    """Reopen a run this integration started and finished, for logs that arrive after it (e.g. evaluate())."""
    resumed = tracklet.init(id=run.id, project=run.path.rsplit("/", 1)[0], resume="allow", dir=_store_dir(run))
    _started.add(resumed)
    return resumed


def _store_dir(run: "Run") -> str | None:
    # runs live in <store>/runs/<id>
    return None if run.dir is None else os.path.dirname(os.path.dirname(run.dir))


# -- settings ---------------------------------------------------------------------------------------
LOG_MODEL_CHOICES = ("false", "end", "checkpoint")
WATCH_CHOICES = ("false", "gradients", "parameters", "all")


def env_setting(name: str) -> tuple[str, str]:
    """``TRACKLET_<name>``, else wandb's ``WANDB_<name>`` (so wandb scripts' settings carry over): (variable, value)."""
    for var in (f"TRACKLET_{name}", f"WANDB_{name}"):
        if os.environ.get(var):
            return var, os.environ[var]
    return f"TRACKLET_{name}", ""


def log_model_setting(value: Any = None) -> str:
    """``log_model`` argument, ``TRACKLET_LOG_MODEL`` or ``WANDB_LOG_MODEL``: one of false, end, checkpoint."""
    var, raw = env_setting("LOG_MODEL") if value is None else ("log_model", value)
    if raw is True:
        return "end"
    if raw is False:
        return "false"
    text = str(raw).strip().lower()
    if text in ("", "0", "no", "off", "none", "false"):
        return "false"
    if text in ("1", "yes", "on", "true"):
        return "end"
    if text == "all":  # Lightning's word for every checkpoint
        return "checkpoint"
    if text not in LOG_MODEL_CHOICES:
        raise tracklet.UsageError(f"{var}={raw!r} is not one of {', '.join(LOG_MODEL_CHOICES)}")
    return text


def watch_setting(value: Any = None) -> str:
    """``watch`` argument, ``TRACKLET_WATCH`` or ``WANDB_WATCH``: one of false, gradients, parameters, all."""
    var, raw = env_setting("WATCH") if value is None else ("watch", value)
    text = str(raw).strip().lower()
    if text in ("", "0", "no", "off", "none", "false"):
        return "false"
    if text not in WATCH_CHOICES:
        raise tracklet.UsageError(f"{var}={raw!r} is not one of {', '.join(WATCH_CHOICES)}")
    return text


# -- warnings that never stop training --------------------------------------------------------------
def guard(what: str) -> Callable[[F], F]:
    """Turn an exception inside a framework hook into one warning: tracking never stops training.

    ``UsageError`` (bad input from the user's own code) still raises, as everywhere in tracklet.
    """

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except tracklet.UsageError:
                raise
            except Exception as e:  # noqa: BLE001 - a tracking failure becomes a warning
                warn_once(
                    f"{what}:{type(e).__name__}",
                    f"tracklet: {what} failed ({type(e).__name__}: {e}); training goes on, "
                    "but what this hook records is missing from the run.",
                )
                return None

        return wrapper  # type: ignore[return-value]

    return decorate


# -- JSON-safe config -------------------------------------------------------------------------------
def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types, quietly: framework configs hold dtypes, callables and classes,
    which become their text (see ``tracklet.util.to_jsonable``)."""
    return to_jsonable(value, "config", quiet=True)


def scalars(values: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``values`` that ``Run.log`` takes: numbers (and 0-d tensors) and strings."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, (int, float, str)):
            out[key] = value
        elif callable(getattr(value, "item", None)) and getattr(value, "numel", lambda: 1)() == 1:
            out[key] = value
    return out


# -- optimizer and model facts ----------------------------------------------------------------------
def optimizer_lrs(optimizer: Any, prefix: str = "train/learning_rate") -> dict[str, float]:
    """The learning rate of each parameter group: ``prefix`` alone for one group, ``prefix/pgN`` for several."""
    groups = getattr(optimizer, "param_groups", None) or []
    if len(groups) == 1:
        return {prefix: float(groups[0]["lr"])}
    return {f"{prefix}/pg{i}": float(g["lr"]) for i, g in enumerate(groups) if "lr" in g}


def total_grad_norm(parameters: Iterable[Any]) -> float | None:
    """The 2-norm of all gradients together (as ``clip_grad_norm_`` reports it), or None without gradients."""
    import torch

    grads = [p.grad for p in parameters if getattr(p, "grad", None) is not None]
    if not grads:
        return None
    with torch.no_grad():
        norms = torch._foreach_norm(grads) if hasattr(torch, "_foreach_norm") else [torch.linalg.vector_norm(g) for g in grads]
        total = torch.linalg.vector_norm(torch.stack([n.to(norms[0].device) for n in norms]))
    return float(total)


def parameter_counts(model: Any) -> tuple[int, int]:
    """(trainable, total) parameter counts; PEFT models count as PEFT reports them."""
    nb = getattr(model, "get_nb_trainable_parameters", None)
    if callable(nb):
        try:
            trainable, total = nb()
            return int(trainable), int(total)
        except Exception:  # noqa: BLE001 - fall back to counting
            pass
    trainable = total = 0
    for p in model.parameters():
        n = p.numel()
        total += n
        if p.requires_grad:
            trainable += n
    return trainable, total


def model_facts(model: Any) -> dict[str, Any]:
    """Config entries for a model: its config, its PEFT adapter configs, parameter counts."""
    from .peft import adapter_configs

    facts: dict[str, Any] = {}
    if model is None:
        return facts
    config = getattr(model, "config", None)
    to_dict = getattr(config, "to_dict", None)
    if callable(to_dict):
        facts["model_config"] = jsonable(to_dict())
    peft = adapter_configs(model)
    if peft:
        facts["peft_config"] = peft
    if callable(getattr(model, "parameters", None)):
        trainable, total = parameter_counts(model)
        facts["num_parameters"] = total
        facts["num_trainable_parameters"] = trainable
    return facts
