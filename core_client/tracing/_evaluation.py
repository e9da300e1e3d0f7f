"""``Evaluation`` and ``Scorer``: a model run over a dataset's rows with scorers, every row a traced call.

The evaluation's own call (op ``Evaluation.evaluate``, kind ``evaluation``) holds the summary as its
output and the model's and dataset's names as attributes: ``Api().evaluations(project)`` lists them,
comparable across models. Inside a run the summary is also set in the run's summary under
``eval/<evaluation name>/...``.
"""

from __future__ import annotations

import asyncio
import inspect
import math
import time

from .._errors import UsageError
from ._context import attributes
from ._op import Op, op, wrap

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

__all__ = ["Evaluation", "Scorer", "summarize_scores"]


class Scorer:
    """A scorer with its own summary: subclass it, define ``score(self, output, **columns)`` (columns by
    argument name) and, if the mean and true fraction do not suit, ``summarize(self, scores)``.

    >>> class Exact(tracklet.Scorer):
    ...     def score(self, output, expected):
    ...         return {"correct": output == expected}
    """

    name: str | None = None

    def score(self, output: Any, **columns: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define score(self, output, ...)")

    def summarize(self, scores: list[Any]) -> Any:
        """The summary of this scorer's per-row results (default: mean of numbers, true fraction of booleans)."""
        return summarize_scores(scores)


def summarize_scores(scores: list[Any]) -> Any:
    """Numbers -> ``{"mean"}``; booleans -> ``{"true_count", "true_fraction"}``; dicts -> per key; None rows left out."""
    scores = [s for s in scores if s is not None]
    if not scores:
        return None
    if all(isinstance(s, bool) for s in scores):
        n = sum(scores)
        return {"true_count": n, "true_fraction": n / len(scores)}
    if all(isinstance(s, (int, float)) and not isinstance(s, bool) for s in scores):
        finite = [float(s) for s in scores if math.isfinite(s)]
        return {"mean": sum(finite) / len(finite)} if finite else None
    if all(isinstance(s, dict) for s in scores):
        keys = {k for s in scores for k in s}
        out = {k: summarize_scores([s.get(k) for s in scores]) for k in sorted(keys)}
        return {k: v for k, v in out.items() if v is not None} or None
    return None


def _rows_of(dataset: Any) -> list[dict[str, Any]]:
    from ._objects import Ref, dataset_of_artifact

    if isinstance(dataset, Ref):  # tracklet.ref("qa:latest")
        dataset = dataset.get()
    elif type(dataset).__name__ == "Artifact" and hasattr(dataset, "get_entry"):  # a published dataset's artifact
        dataset = dataset_of_artifact(dataset)
    rows = getattr(dataset, "rows", dataset)  # a tracklet.weave.Dataset
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):  # a pandas DataFrame
        rows = rows.to_dict("records")
    elif hasattr(rows, "columns") and hasattr(rows, "data"):  # a tracklet.Table
        rows = [dict(zip(rows.columns, r)) for r in rows.data]
    if not isinstance(rows, (list, tuple)) or not all(isinstance(r, dict) for r in rows):
        raise TypeError(
            f"Evaluation(dataset=...) takes a list of dicts (one per row), a Dataset, a DataFrame or a tracklet.Table; got {type(dataset).__name__}"
        )
    if not rows:
        raise ValueError("Evaluation(dataset=[]) has no rows to evaluate")
    return list(rows)


def _name_of(thing: Any) -> str:
    o = getattr(thing, "op", None)
    if isinstance(o, Op):
        return o.name
    return getattr(thing, "name", None) or getattr(thing, "__name__", None) or type(thing).__name__


def _arguments(fn: Callable[..., Any], values: dict[str, Any]) -> dict[str, Any]:
    """The values ``fn`` takes by parameter name (all of them if it has ``**kwargs``)."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return dict(values)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return dict(values)
    return {k: v for k, v in values.items() if k in params}


def _traced(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    return fn if isinstance(getattr(fn, "op", None), Op) else op(fn, name=name)


async def _run(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    """Call ``fn``: awaited when it is async, in a thread (the caller's context copied: its calls stay children) when not."""
    if inspect.iscoroutinefunction(fn):
        return await fn(**kwargs)
    result = await asyncio.to_thread(fn, **kwargs)
    if inspect.isawaitable(result):
        result = await result
    return result


class Evaluation:
    """Run a model over ``dataset`` and score each output; ``await evaluation.evaluate(model)`` (or ``evaluate_sync``).

    Args:
        dataset: rows (a list of dicts), a ``Dataset`` (or its ``ref``/artifact once published), a pandas DataFrame
            or a ``tracklet.Table``.
        scorers: functions taking row columns by argument name and ``output``, or ``Scorer`` objects.
        trials: how many times each row is run.
        max_concurrency: rows in flight at once.
        name: the evaluation's name (default ``evaluation``).

    >>> ev = tracklet.Evaluation(dataset=[{"q": "2+2", "expected": "4"}], scorers=[exact])
    >>> summary = asyncio.run(ev.evaluate(model))
    """

    def __init__(
        self, dataset: Any, scorers: list[Any] | None = None, trials: int = 1, max_concurrency: int = 8,
        name: str | None = None, preprocess_model_input: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        self.rows = _rows_of(dataset)
        self.dataset_name = getattr(dataset, "name", None)
        if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
            raise ValueError(f"Evaluation(trials={trials!r}): the times each row is run, an integer >= 1")
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int) or max_concurrency < 1:
            raise ValueError(f"Evaluation(max_concurrency={max_concurrency!r}): an integer >= 1")
        self.scorers: list[tuple[str, Any, Callable[..., Any]]] = []
        for s in scorers or []:
            if isinstance(s, type) and issubclass(s, Scorer):
                s = s()
            if isinstance(s, Scorer):
                fn = s.score
            elif callable(s):
                fn = s
            else:
                raise TypeError(f"a scorer is a function or a tracklet.Scorer, got {s!r}")
            name_ = s.name if isinstance(s, Scorer) and s.name else _name_of(s if not isinstance(s, Scorer) else type(s))
            self.scorers.append((name_, s, _traced(fn, name_)))
        names = [n for n, _, _ in self.scorers]
        if len(set(names)) != len(names):
            raise ValueError(f"two scorers share a name ({', '.join(names)}): give each Scorer a distinct name")
        self.trials, self.max_concurrency = trials, max_concurrency
        self.name = name or "evaluation"
        self.preprocess_model_input = preprocess_model_input

    def _model_fn(self, model: Any) -> tuple[str, Callable[..., Any]]:
        for attr in ("predict", "invoke", "forward"):
            method = getattr(model, attr, None)
            if method is not None and callable(method) and not inspect.isfunction(model):
                return _name_of(model), _traced(method, f"{type(model).__name__}.{attr}")
        if callable(model):
            return _name_of(model), _traced(model, _name_of(model))
        raise TypeError(f"evaluate() takes a model: a function, an op, or an object with predict(); got {model!r}")

    async def evaluate(self, model: Any) -> dict[str, Any]:
        """Run the model over every row (``trials`` times), score each output, and return the summary per scorer."""
        model_name, fn = self._model_fn(model)
        o = Op(self._evaluate, "Evaluation.evaluate", postprocess_inputs=lambda i: {"model": i["model"], "dataset": self.dataset_name})
        o.kind = "evaluation"
        meta = {"evaluation": self.name, "model": model_name, "dataset": self.dataset_name, "rows": len(self.rows), "trials": self.trials}
        with attributes({"_evaluation": meta}):
            summary = await wrap(o)(model_name, fn)
        _log_to_run(self.name, summary)
        return summary

    async def _evaluate(self, model: str, fn: Callable[..., Any]) -> dict[str, Any]:
        gate = asyncio.Semaphore(self.max_concurrency)
        row_op = wrap(Op(self._row, "Evaluation.predict_and_score", postprocess_inputs=lambda i: {"row": i["row"]}))

        async def one(row: dict[str, Any]) -> dict[str, Any]:
            async with gate:
                return await row_op(row, fn)

        results = await asyncio.gather(*(one(r) for r in self.rows for _ in range(self.trials)))
        summary: dict[str, Any] = {}
        for name, scorer, _ in self.scorers:
            scores = [r["scores"].get(name) for r in results]
            summarize = scorer.summarize if isinstance(scorer, Scorer) else summarize_scores
            try:
                summary[name] = summarize(scores)
            except Exception as e:
                summary[name] = {"error": f"{type(e).__name__}: {e}"}
            errors = sum(1 for r in results if name in r["errors"])
            if errors:
                summary[name] = {**(summary[name] or {}), "errors": errors}
        latencies = [r["model_latency"] for r in results if r["model_latency"] is not None]
        summary["model_latency"] = {"mean": sum(latencies) / len(latencies)} if latencies else None
        summary["model_errors"] = sum(1 for r in results if r["model_error"])
        return summary

    async def _row(self, row: dict[str, Any], model: Callable[..., Any]) -> dict[str, Any]:
        given = self.preprocess_model_input(dict(row)) if self.preprocess_model_input else row
        out: dict[str, Any] = {"output": None, "scores": {}, "errors": [], "model_latency": None, "model_error": None}
        t = time.perf_counter()
        try:
            out["output"] = await _run(model, _arguments(getattr(model, "__wrapped__", model), given))
            out["model_latency"] = time.perf_counter() - t
        except Exception as e:  # recorded in the model's call; the row scores nothing
            out["model_error"] = f"{type(e).__name__}: {e}"
            return out
        for name, _, score in self.scorers:
            values = {**row, "output": out["output"], "model_output": out["output"]}
            try:
                out["scores"][name] = await _run(score, _arguments(getattr(score, "__wrapped__", score), values))
            except Exception as e:  # recorded in the scorer's call; the evaluation goes on
                out["errors"].append(name)
                out["scores"][name] = None
                out.setdefault("score_errors", {})[name] = f"{type(e).__name__}: {e}"
        return out

    def evaluate_sync(self, model: Any) -> dict[str, Any]:
        """``evaluate`` for code without an event loop."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.evaluate(model))
        raise UsageError("evaluate_sync() was called inside a running event loop: use `await evaluation.evaluate(model)`")


def _log_to_run(name: str, summary: dict[str, Any]) -> None:
    from ..tracking import _init

    run = _init._current
    if run is None or run.disabled:
        return
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}/{k}", v)
        elif isinstance(value, (int, float)):  # bools too
            flat[prefix] = value

    walk(f"eval/{name}", summary)
    run.summary.update(flat)
