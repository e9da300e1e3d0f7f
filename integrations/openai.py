"""Tracing of the ``openai`` client: chat completions and the Responses API, sync and async, streamed or not.

Applied by ``tracklet.init_tracing`` when ``openai`` is installed (entry point ``tracklet.tracing``), or
by hand with ``patch()``; ``unpatch()`` undoes it. Each request is a call (a child of the op that made
it) named ``openai.chat.completions.create`` or ``openai.responses.create``, with the request's
arguments as inputs, the response as output and its token usage by model. A streamed chat completion
asks for usage in its last chunk (``stream_options={"include_usage": True}``) unless the caller said
otherwise, and that chunk (no choices, only usage) is kept from a caller who did not ask for it, so code
that reads ``chunk.choices[0]`` runs as untraced; the call ends when the stream does, its output the text
gathered from the chunks.
"""

from __future__ import annotations

from typing import Any

from ._llm import traced_async, traced_sync
from ._patcher import Patch, Patches, SdkPatch

__all__ = ["patch", "unpatch"]

def _patches() -> list[Patch]:
    from openai.resources.chat import completions as chat

    found = [
        Patch(chat.Completions, "create", lambda f: traced_sync(f, "openai.chat.completions.create", _chat_usage, _ChatGather, _ask_usage)),
        Patch(chat.AsyncCompletions, "create", lambda f: traced_async(f, "openai.chat.completions.create", _chat_usage, _ChatGather, _ask_usage)),
    ]
    try:
        from openai.resources import responses
    except ImportError:  # openai before 1.66 has no Responses API
        return found
    return found + [
        Patch(responses.Responses, "create", lambda f: traced_sync(f, "openai.responses.create", _responses_usage, _ResponsesGather)),
        Patch(responses.AsyncResponses, "create", lambda f: traced_async(f, "openai.responses.create", _responses_usage, _ResponsesGather)),
    ]


_sdk = SdkPatch("openai", _patches)


def patch() -> Patches | None:
    """Trace the openai client's requests (no-op when openai is not installed); returns the undoable patches."""
    return _sdk.patch()


def unpatch() -> None:
    """Undo ``patch()``: the client's methods are the originals again."""
    _sdk.unpatch()


def _adds_usage_option(kwargs: dict[str, Any]) -> bool:
    """Whether tracing asks for usage in a streamed chat completion's last chunk: the caller set no stream_options."""
    options = kwargs.get("stream_options")
    return bool(kwargs.get("stream")) and (options is None or type(options).__name__ in ("NotGiven", "Omit"))


def _ask_usage(kwargs: dict[str, Any]) -> dict[str, Any]:
    """A streamed chat completion asks for usage in its last chunk, unless the caller set stream_options."""
    return {**kwargs, "stream_options": {"include_usage": True}} if _adds_usage_option(kwargs) else kwargs


def _chat_usage(call: Any, r: Any) -> None:
    usage = getattr(r, "usage", None)
    if usage is not None:
        call.add_usage(getattr(r, "model", None) or "unknown", usage.prompt_tokens or 0, usage.completion_tokens or 0, usage.total_tokens)


def _responses_usage(call: Any, r: Any) -> None:
    usage = getattr(r, "usage", None)
    if usage is not None:
        call.add_usage(getattr(r, "model", None) or "unknown", usage.input_tokens or 0, usage.output_tokens or 0, usage.total_tokens)


class _ChatGather:
    """A streamed chat completion put back together: its text, model and usage."""

    def __init__(self, call: Any, kwargs: dict[str, Any]) -> None:
        self.call, self.text, self.model, self.usage, self.finish = call, [], None, None, None
        self.hide_usage_chunk = _adds_usage_option(kwargs)  # the caller did not ask for it: their loop never sees it

    def add(self, chunk: Any) -> bool:
        """Take in a chunk; False for the usage chunk that only tracing asked for."""
        self.model = getattr(chunk, "model", None) or self.model
        for choice in getattr(chunk, "choices", None) or ():
            delta = getattr(choice, "delta", None)
            if delta is not None and getattr(delta, "content", None):
                self.text.append(delta.content)
            if getattr(choice, "finish_reason", None):
                self.finish = choice.finish_reason
        if getattr(chunk, "usage", None) is not None:
            self.usage = chunk.usage
            _chat_usage(self.call, chunk)
            return not (self.hide_usage_chunk and not getattr(chunk, "choices", None))
        return True

    def output(self) -> Any:
        out: dict[str, Any] = {"model": self.model, "choices": [{"message": {"role": "assistant", "content": "".join(self.text)}, "finish_reason": self.finish}]}
        if self.usage is not None:
            out["usage"] = self.usage
        return out


class _ResponsesGather:
    """A streamed response: the text of its deltas, and the final response (with usage) from ``response.completed``."""

    def __init__(self, call: Any, kwargs: dict[str, Any]) -> None:
        self.call, self.text, self.response = call, [], None

    def add(self, event: Any) -> None:
        kind = getattr(event, "type", "")
        if kind == "response.output_text.delta":
            self.text.append(getattr(event, "delta", "") or "")
        elif kind in ("response.completed", "response.incomplete", "response.failed"):
            self.response = getattr(event, "response", None)
            if self.response is not None:
                _responses_usage(self.call, self.response)

    def output(self) -> Any:
        return {"output_text": "".join(self.text), "response": self.response}
