"""Hyperband early termination, as wandb's sweeps do it (asynchronous successive halving).

Rungs are iteration counts (how many times the run has logged the sweep's metric): ``min_iter``,
``min_iter * eta``, ``min_iter * eta**2``, ... (``s`` of them when ``s`` is given; without it, as in wandb,
as long as a run goes on), or with ``max_iter`` the counts ``max_iter / eta**k`` for ``k = s .. 1`` (``s``: 3
when not given). When a run reaches a rung, its best value so far is kept
in its trial (``rungs``); the run is stopped when that value is worse than the best
``1/eta`` of every value the sweep's runs had at the same rung. ``strict: true`` keeps the value logged at the
rung instead of the best so far (the original algorithm's condition: it stops more runs; wandb's docs say
its default is false, as here).
"""

from __future__ import annotations

from collections.abc import Mapping

from .._errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Sequence

__all__ = ["check_early_terminate", "rungs", "should_stop"]

_KEYS = ("eta", "max_iter", "min_iter", "s", "strict", "type")
_MAX_RUNG = 2**31  # no run logs a metric more often than this


def check_early_terminate(raw: dict[str, Any]) -> None:
    """Check ``early_terminate``; ``UsageError`` names what is wrong."""
    et = raw["early_terminate"]
    if not isinstance(et, Mapping):
        raise UsageError(f'sweep config: early_terminate is {{"type": "hyperband", "min_iter": 3}}; got {et!r}')
    unknown = sorted(set(et) - set(_KEYS))
    if unknown:
        raise UsageError(f"sweep config: early_terminate has unknown key {unknown[0]!r}; its keys are {', '.join(_KEYS)}")
    if et.get("type") != "hyperband":
        raise UsageError(f"sweep config: early_terminate.type must be 'hyperband'; got {et.get('type')!r}")
    if ("min_iter" in et) == ("max_iter" in et):
        raise UsageError("sweep config: early_terminate (hyperband) needs min_iter or max_iter (one of them)")
    for key, low in (("min_iter", 1), ("max_iter", 1), ("s", 1), ("eta", 2)):
        v = et.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < low):
            raise UsageError(f"sweep config: early_terminate.{key} must be a whole number >= {low}; got {v!r}")
    if not isinstance(et.get("strict", False), bool):
        raise UsageError(f"sweep config: early_terminate.strict is true or false; got {et['strict']!r}")
    if not (raw.get("metric") or {}).get("name"):
        raise UsageError('sweep config: early_terminate needs a metric to compare runs by: {"name": "val/loss", "goal": ...}')


def rungs(et: Mapping[str, Any]) -> list[int]:
    """The iteration counts at which runs are compared, ascending."""
    eta, s = int(et.get("eta", 3)), int(et.get("s", 3))
    if "min_iter" in et:
        first = int(et["min_iter"])
        if "s" in et:
            return [first * eta**k for k in range(s)]
        found = []  # as in wandb: with min_iter alone the rungs go on for as long as a run logs
        while first <= _MAX_RUNG:
            found.append(first)
            first *= eta
        return found
    found = sorted({max(1, int(et["max_iter"]) // eta**k) for k in range(1, s + 1)})
    return found


def should_stop(value: float, others: Sequence[float], eta: int, maximize: bool) -> bool:
    """Whether ``value`` at a rung is outside the best ``1/eta`` of ``others`` (every run's value there, its own included)."""
    ranked = sorted(others, reverse=maximize)
    keep = max(1, len(ranked) // eta)
    threshold = ranked[keep - 1]
    return value < threshold if maximize else value > threshold
