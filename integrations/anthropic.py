"""Tracing of the ``anthropic`` client: ``messages.create``, sync and async, whole or streamed (``stream=True``).

Applied by ``tracklet.init_tracing`` when ``anthropic`` is installed (entry point ``tracklet.tracing``), or
by hand with ``patch()``; ``unpatch()`` undoes it. Each request is a call named
``anthropic.messages.create`` with its arguments as inputs, the message as output and its usage (input
and output tokens) by model. The ``messages.stream()`` helper is not traced yet.
"""

from __future__ import annotations

from typing import Any

from ._llm import traced_async, traced_sync
from ._patcher import Patch, Patches, SdkPatch

__all__ = ["patch", "unpatch"]

NAME = "anthropic.messages.create"


def _patches() -> list[Patch]:
    from anthropic.resources import messages

    return [
        Patch(messages.Messages, "create", lambda f: traced_sync(f, NAME, _usage, _Gather)),
        Patch(messages.AsyncMessages, "create", lambda f: traced_async(f, NAME, _usage, _Gather)),
    ]


_sdk = SdkPatch("anthropic", _patches)


def patch() -> Patches | None:
    """Trace the anthropic client's requests (no-op when anthropic is not installed); returns the undoable patches."""
    return _sdk.patch()


def unpatch() -> None:
    """Undo ``patch()``."""
    _sdk.unpatch()


def _usage(call: Any, message: Any) -> None:
    usage = getattr(message, "usage", None)
    if usage is not None:
        call.add_usage(getattr(message, "model", None) or "unknown", usage.input_tokens or 0, usage.output_tokens or 0)


class _Gather:
    """A streamed message put back together: text deltas, the model and input tokens from ``message_start``,
    output tokens from ``message_delta``."""

    def __init__(self, call: Any) -> None:
        self.call, self.text, self.model, self.input_tokens, self.output_tokens, self.stop = call, [], None, 0, 0, None

    def add(self, event: Any) -> None:
        kind = getattr(event, "type", "")
        if kind == "message_start":
            message = event.message
            self.model = getattr(message, "model", None)
            usage = getattr(message, "usage", None)
            self.input_tokens = getattr(usage, "input_tokens", 0) or 0
            self.output_tokens = getattr(usage, "output_tokens", 0) or 0
        elif kind == "content_block_delta" and getattr(event.delta, "type", "") == "text_delta":
            self.text.append(event.delta.text)
        elif kind == "message_delta":
            self.output_tokens = getattr(getattr(event, "usage", None), "output_tokens", None) or self.output_tokens
            self.stop = getattr(event.delta, "stop_reason", None)
        elif kind == "message_stop":
            self.call.add_usage(self.model or "unknown", self.input_tokens, self.output_tokens)

    def output(self) -> Any:
        return {"model": self.model, "role": "assistant", "content": [{"type": "text", "text": "".join(self.text)}], "stop_reason": self.stop}
