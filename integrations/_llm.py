"""The traced stand-ins of LLM SDK ``create`` methods, shared by the OpenAI and Anthropic patches.

A request is a call (``tracing.start_call``): its arguments the inputs, the response the output, its usage
counted by ``usage(call, response)``. A streamed response (``stream=True``) is handed back wrapped so that
the call ends when the stream does; ``gather(call, kwargs)`` puts the stream's items back together as the
output, and its ``add(item)`` returns False for an item only the tracing asked for (``prepare`` changed the
request), which the caller then never sees. Untraced (tracing off, a trace sampled out) the request goes as
the caller wrote it.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from tracklet.tracing import finish_call, start_call

__all__ = ["request_inputs", "traced_async", "traced_sync"]


def _given(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The arguments the caller passed (the SDKs' NOT_GIVEN / Omit placeholders left out)."""
    return {k: v for k, v in kwargs.items() if type(v).__name__ not in ("NotGiven", "Omit")}


def request_inputs(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """A request's inputs as a call records them: positional ones (rare in the SDKs) under ``args``, then the keywords given."""
    return {**({"args": list(args)} if args else {}), **_given(kwargs)}


def traced_sync(original: Any, name: str, usage: Any, gather: Any, prepare: Callable[[dict[str, Any]], dict[str, Any]] = dict) -> Any:
    """``original`` (a sync ``create``) traced as op ``name``."""
    @functools.wraps(original)
    def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        sent = prepare(kwargs)
        call = start_call(name, request_inputs(args, sent))
        if call is None:
            return original(self, *args, **kwargs)
        try:
            r = original(self, *args, **sent)
        except BaseException as e:
            finish_call(call, error=e)
            raise
        return _returned(call, r, kwargs, sent, usage, gather, _Stream)

    return create


def _returned(call: Any, r: Any, kwargs: dict[str, Any], sent: dict[str, Any], usage: Any, gather: Any, stream: Any) -> Any:
    """What a traced ``create`` gives back: a stream that ends the call when it ends, else ``r`` with the call ended.

    ``kwargs``: the request as the caller wrote it; ``sent``: as it went (``prepare``'s changes).
    """
    if sent.get("stream") is True:
        return stream(r, call, gather(call, kwargs))
    try:
        usage(call, r)
    finally:
        finish_call(call, r)
    return r


def traced_async(original: Any, name: str, usage: Any, gather: Any, prepare: Callable[[dict[str, Any]], dict[str, Any]] = dict) -> Any:
    """``original`` (an async ``create``) traced as op ``name``."""
    @functools.wraps(original)
    async def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        sent = prepare(kwargs)
        call = start_call(name, request_inputs(args, sent))
        if call is None:
            return await original(self, *args, **kwargs)
        try:
            r = await original(self, *args, **sent)
        except BaseException as e:
            finish_call(call, error=e)
            raise
        return _returned(call, r, kwargs, sent, usage, gather, _AsyncStream)

    return create


class _Stream:
    """The SDK's ``Stream`` as it was, its call ending when iteration ends, fails or the stream is closed."""

    def __init__(self, stream: Any, call: Any, gather: Any) -> None:
        self._stream, self._call, self._gather = stream, call, gather
        self._items: Any = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def __iter__(self) -> Any:
        try:
            for item in self._stream:
                if self._gather.add(item) is not False:
                    yield item
        except BaseException as e:
            finish_call(self._call, self._gather.output(), error=e)
            raise
        finish_call(self._call, self._gather.output())

    def __next__(self) -> Any:
        if self._items is None:  # next() and a for loop read the same items, and end the call the same way
            self._items = self.__iter__()
        return next(self._items)

    def __enter__(self) -> _Stream:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        finish_call(self._call, self._gather.output())
        self._stream.close()


class _AsyncStream:
    """The SDK's ``AsyncStream`` as it was, its call ending with the stream."""

    def __init__(self, stream: Any, call: Any, gather: Any) -> None:
        self._stream, self._call, self._gather = stream, call, gather
        self._items: Any = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    async def __aiter__(self) -> Any:
        try:
            async for item in self._stream:
                if self._gather.add(item) is not False:
                    yield item
        except BaseException as e:
            finish_call(self._call, self._gather.output(), error=e)
            raise
        finish_call(self._call, self._gather.output())

    async def __anext__(self) -> Any:
        if self._items is None:
            self._items = self.__aiter__()
        return await self._items.__anext__()

    async def __aenter__(self) -> _AsyncStream:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def close(self) -> None:
        finish_call(self._call, self._gather.output())
        await self._stream.close()

