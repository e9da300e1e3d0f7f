"""Which call is running: a ``ContextVar``, so parents follow ``asyncio`` tasks, plus attributes and threads.

A thread does not inherit context variables; ``ContextExecutor`` (a ``ThreadPoolExecutor``) and
``in_context(fn)`` carry the caller's current call and attributes into the thread, so a call made
there is a child of the op that submitted it.
"""

from __future__ import annotations

import contextvars
from contextlib import contextmanager

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Iterator

    from ._call import Call

__all__ = ["attributes", "current_attributes", "get_current_call", "in_context"]

CURRENT: contextvars.ContextVar[Call | None] = contextvars.ContextVar("tracklet_call", default=None)
ATTRIBUTES: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("tracklet_attributes", default=None)


def get_current_call() -> Call | None:
    """The call of the op running now (in this thread or task), or None outside any op."""
    call = CURRENT.get()
    return None if call is None or call.id is None else call


def current_attributes() -> dict[str, Any] | None:
    return ATTRIBUTES.get()


@contextmanager
def attributes(values: dict[str, Any]) -> Iterator[None]:
    """Attach ``values`` to every call started inside the block (nested blocks add to the outer ones).

    >>> with tracklet.attributes({"user": "ada", "env": "prod"}):
    ...     answer("What is RAG?")
    """
    if not isinstance(values, dict):
        raise TypeError(f"tracklet.attributes() takes a dict of names to values, got {type(values).__name__}")
    outer = ATTRIBUTES.get()
    token = ATTRIBUTES.set({**outer, **values} if outer else dict(values))
    try:
        yield
    finally:
        ATTRIBUTES.reset(token)


def in_context(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` bound to a copy of the caller's context: run in another thread, its ops are children of the caller's call."""
    ctx = contextvars.copy_context()

    def run(*args: Any, **kwargs: Any) -> Any:
        return ctx.run(fn, *args, **kwargs)

    return run
