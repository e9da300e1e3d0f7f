"""Tracing of the ``anthropic`` client: ``messages.create``, sync and async, whole or streamed (``stream=True``),
and the ``messages.stream()`` helper.

Applied by ``tracklet.init_tracing`` when ``anthropic`` is installed (entry point ``tracklet.tracing``), or
by hand with ``patch()``; ``unpatch()`` undoes it. Each request is a call named
``anthropic.messages.create`` (or ``anthropic.messages.stream``) with its arguments as inputs, the message
as output and its usage (input and output tokens) by model. A ``stream()`` call runs from entering its
``with`` block to leaving it; its output is the message as far as it was read.
"""

from __future__ import annotations

from typing import Any

from ._llm import request_inputs, traced_async, traced_sync
from ._patcher import Patch, Patches, SdkPatch

__all__ = ["patch", "unpatch"]

NAME = "anthropic.messages.create"
STREAM_NAME = "anthropic.messages.stream"


def _patches() -> list[Patch]:
    from anthropic.resources import messages

    return [
        Patch(messages.Messages, "create", lambda f: traced_sync(f, NAME, _usage, _Gather)),
        Patch(messages.AsyncMessages, "create", lambda f: traced_async(f, NAME, _usage, _Gather)),
        Patch(messages.Messages, "stream", lambda f: _traced_stream(f, _StreamManager)),
        Patch(messages.AsyncMessages, "stream", lambda f: _traced_stream(f, _AsyncStreamManager)),
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

    def __init__(self, call: Any, kwargs: dict[str, Any]) -> None:
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


def _traced_stream(original: Any, manager: type) -> Any:
    """``messages.stream`` whose manager traces the request it makes on entering its ``with`` block."""
    import functools

    @functools.wraps(original)
    def stream(self: Any, *args: Any, **kwargs: Any) -> Any:
        return manager(original(self, *args, **kwargs), request_inputs(args, kwargs))

    return stream


class _StreamManager:
    """The SDK's ``MessageStreamManager``: the call starts with the request on ``__enter__`` and ends on ``__exit__``."""

    def __init__(self, manager: Any, inputs: dict[str, Any]) -> None:
        self._manager, self._inputs, self._call, self._stream = manager, inputs, None, None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._manager, name)

    def __enter__(self) -> Any:
        from tracklet.tracing import finish_call, start_call

        self._call = start_call(STREAM_NAME, self._inputs)
        try:
            self._stream = self._manager.__enter__()
        except BaseException as e:
            finish_call(self._call, error=e)
            raise
        return self._stream

    def __exit__(self, *exc: Any) -> Any:
        try:
            return self._manager.__exit__(*exc)
        finally:
            _end_stream_call(self._call, self._stream, exc[1])


class _AsyncStreamManager(_StreamManager):
    """The SDK's ``AsyncMessageStreamManager``, traced as ``_StreamManager`` traces the sync one."""

    async def __aenter__(self) -> Any:
        from tracklet.tracing import finish_call, start_call

        self._call = start_call(STREAM_NAME, self._inputs)
        try:
            self._stream = await self._manager.__aenter__()
        except BaseException as e:
            finish_call(self._call, error=e)
            raise
        return self._stream

    async def __aexit__(self, *exc: Any) -> Any:
        try:
            return await self._manager.__aexit__(*exc)
        finally:
            _end_stream_call(self._call, self._stream, exc[1])


def _end_stream_call(call: Any, stream: Any, error: BaseException | None) -> None:
    """End a ``stream()`` call with the message its stream put together so far, and that message's usage."""
    from tracklet.tracing import finish_call

    try:
        message = stream.current_message_snapshot if stream is not None else None
    except AssertionError:  # nothing read yet: the SDK has no snapshot before message_start
        message = None
    if call is None:
        return
    try:
        if message is not None:
            _usage(call, message)
    finally:
        finish_call(call, message, error=error)
