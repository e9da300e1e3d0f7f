"""``run.summary`` and ``define_metric``: the one value per metric that tables and comparisons show.

By default a metric's summary is its last logged value. ``define_metric(name, summary="min,max")``
keeps those aggregates instead (``summary[name] == {"min": ..., "max": ...}``); an explicit
``summary[name] = value`` wins over both.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping

TYPE_CHECKING = False  # typing is not imported at run time: it costs ~4 ms of `import tracklet`
if TYPE_CHECKING:
    from typing import Any, Callable, Iterator

from .._errors import UsageError
from .._jsonable import to_jsonable
from ._values import check_key, check_text, describe, read_items

__all__ = ["MetricDef", "Summary", "parse_metric_def"]

AGGREGATES = ("min", "max", "mean", "last", "first", "best", "none")


class MetricDef:
    """One ``define_metric`` call; ``name`` may end in ``*`` to match a family of keys."""

    __slots__ = ("goal", "hidden", "name", "step_metric", "summary")

    def __init__(
        self,
        name: str,
        step_metric: str | None = None,
        summary: tuple[str, ...] = (),
        goal: str | None = None,
        hidden: bool = False,
    ) -> None:
        self.name, self.step_metric, self.summary, self.goal, self.hidden = name, step_metric, summary, goal, hidden

    def matches(self, key: str) -> bool:
        if key == self.name:
            return True
        if "*" not in self.name:
            return False
        import fnmatch

        return fnmatch.fnmatchcase(key, self.name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MetricDef) and self.to_json() == other.to_json()

    def __repr__(self) -> str:
        return f"MetricDef({self.to_json()!r})"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "step_metric": self.step_metric,
            "summary": list(self.summary),
            "goal": self.goal,
            "hidden": self.hidden,
        }


def parse_metric_def(
    name: str,
    step_metric: str | None = None,
    summary: str | None = None,
    goal: str | None = None,
    hidden: bool = False,
) -> MetricDef:
    """Validate the arguments of ``define_metric`` and return the definition."""
    name = check_key(name, "define_metric()", "metric name")
    if step_metric is not None:
        step_metric = check_key(step_metric, "define_metric(step_metric=)", "metric name")
        if "*" in step_metric:
            raise UsageError(f"define_metric(step_metric={step_metric!r}) names one metric, not a pattern")
    aggs: tuple[str, ...] = ()
    if summary is not None:
        summary = check_text(summary, "define_metric(summary=)")
        aggs = tuple(a.strip().lower() for a in summary.split(",") if a.strip())
        for a in aggs:
            if a not in AGGREGATES:
                raise UsageError(f"define_metric summary {a!r} is not one of {', '.join(AGGREGATES)}")
    if goal is not None:
        goal = check_text(goal, "define_metric(goal=)").lower()
        if goal in ("min", "minimise"):
            goal = "minimize"
        if goal in ("max", "maximise"):
            goal = "maximize"
        if goal not in ("minimize", "maximize"):
            raise UsageError(f"define_metric goal={goal!r} must be 'minimize' or 'maximize'")
    if "best" in aggs and goal is None:
        raise UsageError(f"define_metric({name!r}, summary='best') needs goal='minimize' or 'maximize'")
    if type(hidden) is not bool:
        raise UsageError(f"define_metric(hidden=) takes True or False; got {describe(hidden)}")
    return MetricDef(name, step_metric, aggs, goal, hidden)


class _Agg:
    __slots__ = ("aggs", "goal", "min", "max", "sum", "count", "first", "last", "best")

    def __init__(self, aggs: tuple[str, ...], goal: str | None) -> None:
        self.aggs = aggs
        self.goal = goal
        self.min = self.max = self.first = self.last = self.best = None
        self.sum = 0.0
        self.count = 0

    def observe(self, v: Any) -> None:
        if self.count == 0:
            self.first = v
        self.last = v
        if type(v) is str:
            return  # text logged under a metric with min/max: only first/last can hold it
        if not (isinstance(v, float) and math.isnan(v)):
            if self.min is None or v < self.min:
                self.min = v
            if self.max is None or v > self.max:
                self.max = v
            self.sum += v
            self.count += 1
            if self.goal is not None:
                self.best = self.min if self.goal == "minimize" else self.max

    def value(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for a in self.aggs:
            if a == "none":
                continue
            if a == "mean":
                out["mean"] = self.sum / self.count if self.count else None
            else:
                out[a] = getattr(self, a)
        return out


class Summary:
    """Summary values by metric name, with item access like a dict.

    ``on_set`` receives explicit assignments so the run can record them.
    """

    def __init__(self, on_set: Callable[[dict[str, Any], list[str]], None] | None = None) -> None:
        self._last: dict[str, Any] = {}
        self._explicit: dict[str, Any] = {}
        self._aggs: dict[str, _Agg] = {}
        self._hidden: set[str] = set()
        self._media: dict[str, Any] = {}  # replaced whole, never changed in place: read without the lock
        self._media_lock = threading.Lock()  # two writers: log() (images as pixels) and the uploads thread (the rest)
        self._on_set = on_set

    # -- fed by the run ----------------------------------------------------------------------
    def observe(self, flat: dict[str, Any]) -> None:
        """Record one ``log`` call's scalar values (already flat)."""
        self._last.update(flat)
        if self._aggs:
            for key in self._aggs.keys() & flat.keys():
                self._aggs[key].observe(flat[key])

    def observe_media(self, values: dict[str, Any]) -> None:
        """Record the descriptions of rich values (``wal._media.media_summary``); a key keeps the one of its highest
        step (the uploads thread describes a table after ``log()`` described an image of a later step)."""
        with self._media_lock:
            media = self._media
            self._media = {**media, **{k: v for k, v in values.items() if k not in media or _step(v) >= _step(media[k])}}

    def apply_def(self, key: str, mdef: MetricDef) -> None:
        """Make ``key`` follow ``mdef``'s aggregates from now on."""
        if mdef.hidden:
            self._hidden.add(key)
        if mdef.summary:
            agg = _Agg(mdef.summary, mdef.goal)
            if key in self._last and isinstance(self._last[key], (int, float)):
                agg.observe(self._last[key])
            self._aggs[key] = agg

    def restore(self, values: dict[str, Any]) -> None:
        """Start from a resumed run's summary."""
        for key, value in values.items():
            if isinstance(value, dict) and key in self._aggs:
                agg = self._aggs[key]
                for a, v in value.items():
                    if a in ("min", "max", "first", "last", "best"):
                        setattr(agg, a, v)
            else:
                self._last[key] = value

    # -- the dict-like face ---------------------------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        if key in self._explicit:
            return self._explicit[key]
        if key in self._aggs:
            return self._aggs[key].value()
        media = self._media
        return media[key] if key in media else self._last[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self._explicit.pop(key, None)
        self._last.pop(key, None)
        self._aggs.pop(key, None)
        with self._media_lock:
            if key in self._media:
                self._media = {k: v for k, v in self._media.items() if k != key}
        if self._on_set is not None:
            self._on_set({}, [key])

    def update(self, values: Mapping[str, Any]) -> None:
        """Set summary values explicitly; they win over logged values.

        Raises:
            UsageError: a bad key or value; nothing is set.
        """
        if not isinstance(values, Mapping):
            raise UsageError(f"summary.update() takes a dict; got {describe(values)}")
        clean = {}
        for key, value in read_items(values, "the dict passed to summary.update()"):
            key = check_key(key, "summary")
            clean[key] = to_jsonable(value, f"summary[{key!r}]")
        if self._on_set is not None:
            self._on_set(clean, [])  # first: a value too large to record leaves the summary as it was
        self._explicit.update(clean)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        return key in self._explicit or key in self._aggs or key in self._last

    def keys(self) -> list[str]:
        return list(self.as_dict())

    def items(self) -> list[tuple[str, Any]]:
        return list(self.as_dict().items())

    def __iter__(self) -> Iterator[str]:
        return iter(self.as_dict())

    def __len__(self) -> int:
        return len(self.as_dict())

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self._last.items() if k not in self._hidden}
        out.update((k, v) for k, v in self._media.items() if k not in self._hidden)
        for key, agg in self._aggs.items():
            value = agg.value()
            if value:
                out[key] = value
            else:
                out.pop(key, None)
        out.update(self._explicit)
        return out

    def __repr__(self) -> str:
        return f"Summary({self.as_dict()!r})"


def _step(description: Any) -> int:
    step = description.get("step") if type(description) is dict else None
    return step if type(step) is int else -1
