"""OpenTelemetry GenAI spans as calls: the local exporter, and the server's OTLP/HTTP endpoint (protobuf and JSON)."""

import json

import pytest

import tracklet
from server_client import ServerClient
from tracklet.store.sql._store import SqlStore

pytest.importorskip("opentelemetry.sdk")
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import Status, StatusCode  # noqa: E402

pytestmark = pytest.mark.unit


def _rag_spans(provider):
    tracer = provider.get_tracer("app")
    with tracer.start_as_current_span("rag") as root:
        root.set_attribute("input.value", "What is RAG?")
        with tracer.start_as_current_span("chat gpt-4o-mini") as chat:
            chat.set_attributes({
                "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini", "gen_ai.response.model": "gpt-4o-mini",
                "gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 20,
                "gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": "What is RAG?",
                "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": "Retrieval-augmented generation.",
            })
        with tracer.start_as_current_span("rerank") as bad:
            bad.record_exception(ValueError("no documents"))
            bad.set_status(Status(StatusCode.ERROR, "no documents"))


def _check(calls):
    by = {c["op_name"]: c for c in calls}
    root, chat, bad = by["rag"], by["chat gpt-4o-mini"], by["rerank"]
    assert root["parent_id"] is None and chat["parent_id"] == root["id"] and chat["trace_id"] == root["trace_id"]
    assert len(root["trace_id"]) == 32 and len(root["id"]) == 16
    assert chat["inputs"] == {"messages": [{"role": "user", "content": "What is RAG?"}]}
    assert chat["output"]["messages"][0]["content"] == "Retrieval-augmented generation."
    assert chat["usage"]["gpt-4o-mini"]["total_tokens"] == 120 and root["total_tokens"] == 120  # summed up the batch
    assert root["cost"] == pytest.approx((100 * 0.15 + 20 * 0.60) / 1e6) and root["inputs"] == {"value": "What is RAG?"}
    assert bad["status"] == "error" and bad["exception"]["type"] == "ValueError" and bad["exception"]["message"] == "no documents"
    assert chat["latency_ms"] >= 0 and chat["attributes"]["gen_ai.operation.name"] == "chat"


def test_the_exporter_writes_genai_spans_as_calls_to_the_local_store(tmp_path):
    provider = TracerProvider()
    exporter = tracklet.tracing.SpanExporter("otel-local", dir=str(tmp_path / "s"))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    _rag_spans(provider)
    provider.shutdown()
    _check(SqlStore(str(tmp_path / "s")).calls("otel-local"))


def _finished_spans():
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "rag-service"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    _rag_spans(provider)
    return memory.get_finished_spans()


def test_the_server_takes_otlp_protobuf_and_json(tmp_path):
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from google.protobuf.json_format import MessageToJson

    from tracklet.server.app import create_app

    (tmp_path / "server").mkdir()
    store = SqlStore(str(tmp_path / "server"))
    client = ServerClient(create_app(store))
    request = encode_spans(_finished_spans())
    r = client.post("/v1/traces", content=request.SerializeToString(), headers={"Content-Type": "application/x-protobuf"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/x-protobuf"
    _check(store.calls("rag-service"))
    doc = json.loads(MessageToJson(encode_spans(_finished_spans())))
    r = client.post("/v1/traces?project=from-json", json=doc)
    assert r.status_code == 200 and r.json() == {}
    _check(store.calls("from-json"))
    again = client.post("/v1/traces?project=from-json", json=doc)  # a retried export stores nothing twice
    assert again.status_code == 200 and len(store.calls("from-json")) == 3
    bad = client.post("/v1/traces", content=b"\x0a\xff\xff", headers={"Content-Type": "application/x-protobuf"})
    assert bad.status_code == 400 and "not an OTLP" in bad.json()["error"]


def _agent_spans():
    """agent -> step -> chat (100 + 20 tokens), and agent -> chat (10 + 5): finished spans, children first."""
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "agent-service"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("app")

    def chat(prompt, completion):
        with tracer.start_as_current_span("chat") as s:
            s.set_attributes({"gen_ai.response.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": prompt,
                              "gen_ai.usage.output_tokens": completion})

    with tracer.start_as_current_span("agent"):
        with tracer.start_as_current_span("step"):
            chat(100, 20)
        chat(10, 5)
    return {s.name if s.name != "chat" else f"chat{s.attributes['gen_ai.usage.input_tokens']}": s for s in memory.get_finished_spans()}


@pytest.mark.parametrize("requests", [
    [["chat100"], ["step"], ["chat10"], ["agent"]],  # each span in its own request, as it ended
    [["agent"], ["step"], ["chat10"], ["chat100"]],  # parents first
    [["step", "chat10"], ["agent"], ["chat100"], ["chat100", "step"]],  # mixed, then a retried request
])
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_usage_adds_up_across_otlp_requests(tmp_path, request, requests, backend):
    """An exporter sends a long trace in several requests: every span's tokens reach each ancestor once."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    from tracklet.server.app import create_app
    from tracklet.store.sql._migrate import migrate

    if backend == "postgresql":
        url = request.getfixturevalue("pg_url")
        migrate(url)
        store = SqlStore(url=url)
    else:
        (tmp_path / "server").mkdir()
        store = SqlStore(str(tmp_path / "server"))
    request.addfinalizer(store.close)
    client = ServerClient(create_app(store))
    spans = _agent_spans()
    for names in requests:
        body = encode_spans([spans[n] for n in names]).SerializeToString()
        assert client.post("/v1/traces", content=body, headers={"Content-Type": "application/x-protobuf"}).status_code == 200
    by = {c["op_name"] + (str(c["prompt_tokens"]) if c["op_name"] == "chat" else ""): c for c in store.calls("agent-service")}
    assert {k: (c["prompt_tokens"], c["completion_tokens"], c["total_tokens"]) for k, c in by.items()} == {
        "agent": (110, 25, 135), "step": (100, 20, 120), "chat100": (100, 20, 120), "chat10": (10, 5, 15)}
    assert by["agent"]["usage"] == {"gpt-4o-mini": {"prompt_tokens": 110, "completion_tokens": 25, "total_tokens": 135, "requests": 2}}
    assert by["agent"]["cost"] == pytest.approx((110 * 0.15 + 25 * 0.60) / 1e6)
    assert by["step"]["cost"] == pytest.approx((100 * 0.15 + 20 * 0.60) / 1e6)
