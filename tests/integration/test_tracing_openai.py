"""The openai client traced once tracing is on, against a local OpenAI-compatible server on loopback."""

import asyncio

import pytest

import tracklet
from llm_server import LLMServer
from tracklet.store.sql._store import SqlStore
from tracklet.tracing import stop_tracing

openai = pytest.importorskip("openai")
pytestmark = pytest.mark.integration


_clients = []


def setup_close(client):
    _clients.append(client)


@pytest.fixture
def setup(tmp_path):
    from tracklet.integrations import openai as patcher

    tracklet.init_tracing("llm", dir=str(tmp_path / "store"))
    with LLMServer() as srv:
        yield srv, SqlStore(str(tmp_path / "store"))
        while _clients:
            _clients.pop().close()
    stop_tracing()
    patcher.unpatch()
    tracklet.tracing._setup._patched = False


def test_chat_completions_sync_and_streamed_are_calls_with_usage_under_their_op(setup):
    srv, store = setup
    client = openai.OpenAI(base_url=srv.url, api_key="test", max_retries=0)
    setup_close(client)

    @tracklet.op
    def generate_response(prompt: str, model: str = "gpt-4o-mini") -> str:
        r = client.chat.completions.create(model=model, messages=[{"role": "user", "content": prompt}])
        return r.choices[0].message.content

    @tracklet.op
    def stream_response(prompt: str) -> str:
        stream = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": prompt}], stream=True)
        return "".join(ch.choices[0].delta.content or "" for ch in stream if ch.choices)

    assert generate_response("one two three") == "three two one"
    assert stream_response("a b") == "b a "
    assert srv.requests[1][1]["stream_options"] == {"include_usage": True}  # asked for usage in the last chunk
    calls = store.calls("llm")
    ops = [c["op_name"] for c in calls]
    assert ops == ["generate_response",
                   "openai.chat.completions.create",
                   "stream_response",
                   "openai.chat.completions.create"]
    gen, chat, stream_op, stream_chat = calls
    assert chat["parent_id"] == gen["id"] and chat["inputs"]["model"] == "gpt-4o-mini"
    assert chat["output"]["choices"][0]["message"]["content"] == "three two one"
    assert gen["usage"] == {"gpt-4o-mini-2024-07-18": {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6, "requests": 1}}
    assert gen["cost"] == pytest.approx((3 * 0.15 + 3 * 0.60) / 1e6)
    assert stream_chat["parent_id"] == stream_op["id"] and stream_chat["output"]["choices"][0]["message"]["content"] == "b a "
    assert stream_op["total_tokens"] == 4 and stream_chat["status"] == "ok"


def test_async_streamed_and_the_responses_api(setup):
    srv, store = setup
    aclient = openai.AsyncOpenAI(base_url=srv.url, api_key="test", max_retries=0)
    client = openai.OpenAI(base_url=srv.url, api_key="test", max_retries=0)

    @tracklet.op
    async def ask(q: str) -> str:
        r = await aclient.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": q}])
        parts = []
        async for ch in await aclient.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": q}], stream=True):
            parts.extend(c.delta.content or "" for c in ch.choices)
        await aclient.close()
        return r.choices[0].message.content + "|" + "".join(parts)

    assert asyncio.run(ask("x y")) == "y x|y x "
    setup_close(client)
    r = client.responses.create(model="gpt-4o-mini", input="hello world")
    assert r.output_text == "world hello"
    text = "".join(e.delta for e in client.responses.create(model="gpt-4o-mini", input="p q r", stream=True)
                   if e.type == "response.output_text.delta")
    assert text == "r q p "
    calls = store.calls("llm")
    (root,) = [c for c in calls if c["parent_id"] is None and c["op_name"].endswith("ask")]
    assert root["total_tokens"] == 8 and root["usage"]["gpt-4o-mini-2024-07-18"]["requests"] == 2
    responses = [c for c in calls if c["op_name"] == "openai.responses.create"]
    assert [c["total_tokens"] for c in responses] == [4, 6]
    assert responses[1]["output"]["output_text"] == "r q p " and responses[0]["inputs"]["input"] == "hello world"


def test_a_failed_request_raises_as_untraced_and_is_recorded(setup):
    srv, store = setup
    client = openai.OpenAI(base_url=srv.url, api_key="test", max_retries=0)
    setup_close(client)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "fail"}])
    (c,) = store.calls("llm")
    assert c["status"] == "error" and c["exception"]["type"] == "openai.InternalServerError"


def test_unpatch_gives_the_client_back(setup):
    from openai.resources.chat.completions import Completions

    from tracklet.integrations import openai as patcher

    patched = Completions.create
    assert patched.__code__.co_filename.endswith("integrations/_llm.py")
    patcher.unpatch()
    assert Completions.create is patched.__wrapped__ and not Completions.create.__code__.co_filename.endswith("integrations/_llm.py")


def test_a_stream_read_as_openai_documents_it_runs_as_untraced(setup):
    srv, store = setup
    client = openai.OpenAI(base_url=srv.url, api_key="test", max_retries=0)
    aclient = openai.AsyncOpenAI(base_url=srv.url, api_key="test", max_retries=0)
    setup_close(client)
    messages = [{"role": "user", "content": "a b c"}]

    def text(chunks):  # OpenAI's docs read every chunk's first choice: a usage-only chunk has none
        return "".join(chunk.choices[0].delta.content or "" for chunk in chunks)

    assert text(client.chat.completions.create(model="gpt-4o", messages=messages, stream=True)) == "c b a "
    stream = client.chat.completions.create(model="gpt-4o", messages=messages, stream=True)
    assert text(iter(lambda: next(stream, None), None)) == "c b a "  # next() skips it too

    async def atext():
        chunks = [c async for c in await aclient.chat.completions.create(model="gpt-4o", messages=messages, stream=True)]
        await aclient.close()
        return text(chunks)

    assert asyncio.run(atext()) == "c b a "
    asked = list(client.chat.completions.create(model="gpt-4o", messages=messages, stream=True, stream_options={"include_usage": True}))
    assert asked[-1].choices == [] and asked[-1].usage.total_tokens == 6  # asked for by the caller: handed on
    calls = store.calls("llm")
    assert [c["total_tokens"] for c in calls] == [6, 6, 6, 6] and {c["status"] for c in calls} == {"ok"}
    assert all(r[1]["stream_options"] == {"include_usage": True} for r in srv.requests)
    tracklet.tracing.stop_tracing()  # patched, not tracing: the request goes as written
    assert text(client.chat.completions.create(model="gpt-4o", messages=messages, stream=True)) == "c b a "
    assert "stream_options" not in srv.requests[-1][1]
