"""``ContextExecutor``: a thread pool whose tasks are children of the op that submitted them."""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

__all__ = ["ContextExecutor"]


class ContextExecutor(ThreadPoolExecutor):
    """A ``ThreadPoolExecutor`` whose tasks run in the submitter's context (current call, attributes).

    >>> with tracklet.ContextExecutor(max_workers=4) as pool:
    ...     answers = list(pool.map(answer, questions))   # each a child of the op that called map
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        return super().submit(contextvars.copy_context().run, fn, *args, **kwargs)
