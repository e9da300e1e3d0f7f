"""Tracing: ``@op`` calls recorded as trees (inputs, outputs, exceptions, latency, token usage and cost).

Calls go to a per-process trace log in the store folder (``_log``) and reach the store like a run's
records; ``tracklet.Api().calls(...)`` reads them back.
"""

from __future__ import annotations

from ._call import Call
from ._context import attributes, get_current_call, in_context
from ._objects import Dataset, Prompt, Ref, publish, ref
from ._op import Op, finish_call, op, start_call
from ._setup import init_tracing, stop_tracing
from ._usage import PRICES, add_usage, set_price
from ._values import MAX_VALUE_BYTES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

def __getattr__(name: str) -> Any:
    if name == "ContextExecutor":  # concurrent.futures is imported only when it is used
        from ._executor import ContextExecutor

        return ContextExecutor
    if name == "SpanExporter":  # OpenTelemetry spans into the local store
        from ._otel_export import SpanExporter

        return SpanExporter
    if name in ("Evaluation", "Scorer"):  # asyncio and inspect: ~30 ms of import, paid by evaluations only
        from . import _evaluation

        return getattr(_evaluation, name)
    raise AttributeError(f"module 'tracklet.tracing' has no attribute {name!r}")


__all__ = [
    "MAX_VALUE_BYTES",
    "PRICES",
    "Call",
    "ContextExecutor",
    "Dataset",
    "Evaluation",
    "Op",
    "Prompt",
    "Ref",
    "Scorer",
    "SpanExporter",
    "attributes",
    "finish_call",
    "get_current_call",
    "in_context",
    "init_tracing",
    "op",
    "publish",
    "record_usage",
    "ref",
    "set_price",
    "start_call",
    "stop_tracing",
]


def record_usage(model: str, prompt_tokens: int = 0, completion_tokens: int = 0, total_tokens: int | None = None) -> None:
    """Count one model response's tokens in the current call (an SDK integration calls this); no-op outside a call."""
    from ._context import CURRENT

    call = CURRENT.get()
    if call is not None:
        call.add_usage(model, prompt_tokens, completion_tokens, total_tokens)  # under the live calls' lock
