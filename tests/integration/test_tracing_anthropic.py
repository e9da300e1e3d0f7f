"""The anthropic client traced once tracing is on, against a local server on loopback."""

import asyncio

import pytest

import tracklet
from llm_server import LLMServer
from tracklet.store.sql._store import SqlStore
from tracklet.tracing import stop_tracing

anthropic = pytest.importorskip("anthropic")
pytestmark = pytest.mark.integration


def test_messages_sync_async_and_streamed_are_calls_with_usage(tmp_path):
    from tracklet.integrations import anthropic as patcher

    tracklet.init_tracing("claude", dir=str(tmp_path / "s"))
    try:
        with LLMServer() as srv:
            client = anthropic.Anthropic(base_url=srv.root, api_key="test", max_retries=0)

            @tracklet.op
            def ask(q: str) -> str:
                m = client.messages.create(model="claude-3-5-haiku-20241022", max_tokens=50, messages=[{"role": "user", "content": q}])
                streamed = "".join(
                    e.delta.text for e in client.messages.create(
                        model="claude-3-5-haiku-20241022", max_tokens=50, messages=[{"role": "user", "content": q}], stream=True)
                    if e.type == "content_block_delta"
                )
                return m.content[0].text + "|" + streamed

            async def aask(q: str) -> str:
                async with anthropic.AsyncAnthropic(base_url=srv.root, api_key="test", max_retries=0) as ac:
                    m = await ac.messages.create(model="claude-3-5-haiku-20241022", max_tokens=50, messages=[{"role": "user", "content": q}])
                return m.content[0].text

            assert ask("a b c") == "c b a|c b a "
            assert asyncio.run(aask("x y")) == "y x"
            client.close()
        calls = SqlStore(str(tmp_path / "s")).calls("claude")
        root = calls[0]
        assert root["op_name"] == "ask" and root["usage"] == {
            "claude-3-5-haiku-20241022": {"prompt_tokens": 6, "completion_tokens": 6, "total_tokens": 12, "requests": 2}}
        assert root["cost"] == pytest.approx((6 * 0.80 + 6 * 4.00) / 1e6)
        messages = [c for c in calls if c["op_name"] == "anthropic.messages.create"]
        assert len(messages) == 3 and messages[1]["output"]["content"][0]["text"] == "c b a "
        assert messages[2]["parent_id"] is None and messages[2]["total_tokens"] == 4
    finally:
        stop_tracing()
        patcher.unpatch()


def test_the_stream_helper_is_a_call_from_entering_its_block_to_leaving_it(tmp_path):
    """``messages.stream()`` (sync and async): one call per ``with`` block, the message put together by the SDK
    as output with its usage; a block left early ends the call with what was read, an error with the error."""
    from tracklet.integrations import anthropic as patcher

    tracklet.init_tracing("claude-stream", dir=str(tmp_path / "s"))
    patcher.patch()  # init_tracing patches once per process, and the test before undid it
    model, ask = "claude-3-5-haiku-20241022", [{"role": "user", "content": "one two three"}]
    try:
        with LLMServer() as srv:
            client = anthropic.Anthropic(base_url=srv.root, api_key="test", max_retries=0)

            @tracklet.op
            def whole() -> str:
                with client.messages.stream(model=model, max_tokens=50, messages=ask) as stream:
                    return "".join(stream.text_stream)

            async def in_async() -> str:
                async with anthropic.AsyncAnthropic(base_url=srv.root, api_key="test", max_retries=0) as ac:
                    async with ac.messages.stream(model=model, max_tokens=50, messages=ask) as stream:
                        return (await stream.get_final_message()).content[0].text

            assert whole() == "three two one "
            assert asyncio.run(in_async()) == "three two one "
            with client.messages.stream(model=model, max_tokens=50, messages=ask) as stream:
                next(e for e in stream if e.type == "content_block_delta")  # the first word, then leave
            with pytest.raises(KeyError):
                with client.messages.stream(model=model, max_tokens=50, messages=ask) as stream:
                    raise KeyError("the caller's own error")
            client.close()
        calls = SqlStore(str(tmp_path / "s")).calls("claude-stream")
        streams = [c for c in calls if c["op_name"] == "anthropic.messages.stream"]
        assert len(streams) == 4 and not [c for c in calls if c["op_name"] == "anthropic.messages.create"]
        first, second, early, broken = streams
        assert first["parent_id"] == calls[0]["id"] and calls[0]["op_name"] == "whole"
        assert first["inputs"]["model"] == model and first["inputs"]["messages"] == ask
        assert first["output"]["content"][0]["text"] == "three two one " and first["total_tokens"] == 6
        assert calls[0]["usage"] == {model: {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6, "requests": 1}}
        assert second["parent_id"] is None and second["output"]["content"][0]["text"] == "three two one "
        assert early["output"]["content"][0]["text"] == "three " and early["exception"] is None
        assert broken["exception"]["type"] == "KeyError" and broken["status"] == "error"
    finally:
        stop_tracing()
        patcher.unpatch()
