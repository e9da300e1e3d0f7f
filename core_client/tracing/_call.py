"""``Call``: the live handle of one running op call (what ``get_current_call()`` gives)."""

from __future__ import annotations

import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["LIVE", "Call"]

# Held while a live call's usage or prompts change: children running in threads end into the same parent, and
# ``d[k] += n`` is a read and a write another thread can come between (a lost update, seen with 8 threads).
LIVE = threading.Lock()


class Call:
    """A call in progress: its ids, op, attributes and token usage (its own requests plus its finished children's).

    ``summary`` takes extra values to store with the call's end (an integration's response metadata).
    """

    __slots__ = ("attributes", "id", "op", "op_name", "parent", "parent_id", "run_id", "summary", "trace_id", "usage", "log")

    def __init__(
        self, id: str | None, trace_id: str | None, parent: Call | None, op_name: str, run_id: str | None, log: Any
    ) -> None:
        self.id, self.trace_id, self.parent, self.op_name, self.run_id, self.log = id, trace_id, parent, op_name, run_id, log
        self.parent_id = parent.id if parent is not None else None
        self.usage: dict[str, dict[str, int]] = {}
        self.attributes: dict[str, Any] | None = None
        self.summary: dict[str, Any] | None = None
        self.op: Any = None  # the Op, for a call started by hand (tracing.start_call)

    def __repr__(self) -> str:
        return f"<Call {self.op_name} id={self.id} trace={self.trace_id}>"

    def add_usage(self, model: str, prompt_tokens: int = 0, completion_tokens: int = 0, total_tokens: int | None = None) -> None:
        """Count one model response's tokens in this call (summed into its parents when it ends)."""
        from ._usage import add_usage

        if self.id is not None:
            with LIVE:
                add_usage(self.usage, str(model or "unknown"), prompt_tokens or 0, completion_tokens or 0, total_tokens)

    def set_summary(self, **values: Any) -> None:
        """Store ``values`` with the call when it ends."""
        if self.summary is None:
            self.summary = {}
        self.summary.update(values)
