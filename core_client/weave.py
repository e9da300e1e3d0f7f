"""Weave's API on tracklet: ``import tracklet.weave as weave`` and a Weave script runs unchanged, stored locally.

``weave.init``, ``@weave.op()``, ``weave.attributes``, ``weave.publish``, ``weave.ref``, ``weave.Model``,
``weave.Dataset``, ``weave.Evaluation``, ``weave.Scorer``, with Weave's semantics (``asyncio.run(
evaluation.evaluate(model))`` returns the summary per scorer).

>>> import tracklet.weave as weave
>>> weave.init("my-llm-project")
>>> @weave.op()
... def answer(question: str) -> str: ...
"""

from __future__ import annotations

from .tracing import Dataset, attributes, get_current_call, op, publish, ref, stop_tracing
from .tracing import init_tracing as _init_tracing
from .tracing._evaluation import Evaluation as _Evaluation
from .tracing._evaluation import Scorer as _Scorer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Dataset", "Evaluation", "Model", "Object", "Scorer", "attributes", "finish", "get_current_call", "init", "op", "publish", "ref"]


class Client:
    """What ``weave.init`` returns: the project (``entity/project`` when given so), and its calls read back."""

    def __init__(self, project: str, dir: str | None) -> None:
        self.project, self._dir = project, dir

    def get_calls(self, filter: dict[str, Any] | None = None, limit: int | None = None) -> Any:
        """The project's calls (``tracklet.Api().calls``)."""
        from .api._api import Api

        return Api(dir=self._dir).calls(self.project, filter, limit=limit)

    def get_call(self, call_id: str) -> Any:
        from .api._api import Api

        return Api(dir=self._dir).call(call_id)


def init(project_name: str, **settings: Any) -> Client:
    """Start tracing into ``project_name`` (``entity/project`` accepted) and patch the installed LLM SDKs."""
    log = _init_tracing(project_name, dir=settings.get("dir"))
    return Client(project_name, log.root if log is not None else None)


def finish() -> None:
    """Stop tracing (what was recorded stays)."""
    stop_tracing()


class Object:
    """Fields declared as class annotations, set by keyword (Weave's objects are pydantic models)."""

    def __init__(self, **values: Any) -> None:
        fields: dict[str, Any] = {}
        for klass in reversed(type(self).__mro__):
            fields.update(getattr(klass, "__annotations__", {}))
        for name in fields:
            if name in values:
                setattr(self, name, values.pop(name))
            elif not hasattr(type(self), name):
                raise TypeError(f"{type(self).__name__}() needs the field {name!r}")
        if values:
            raise TypeError(f"{type(self).__name__}() has no field {sorted(values)[0]!r}; its fields are {', '.join(fields) or 'none'}")

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={getattr(self, k, None)!r}" for c in type(self).__mro__ for k in getattr(c, "__annotations__", {}))
        return f"{type(self).__name__}({shown})"


class Model(Object):
    """A model for evaluations: declare fields, define ``@weave.op() def predict(self, ...)``."""

    @property
    def name(self) -> str:
        return type(self).__name__


class Scorer(Object, _Scorer):
    """A scorer with fields: define ``score(self, output, ...)`` and optionally ``summarize(self, scores)``."""


class Evaluation(_Evaluation):
    """``weave.Evaluation(dataset=..., scorers=[...], trials=1)``; ``await evaluation.evaluate(model)``."""

    def __init__(self, dataset: Any, scorers: list[Any] | None = None, trials: int = 1, name: str | None = None,
                 evaluation_name: str | None = None, **options: Any) -> None:
        super().__init__(dataset, scorers, trials=trials, name=evaluation_name or name, **options)
