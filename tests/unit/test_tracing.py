"""Ops and their calls: the call tree, inputs, outputs, exceptions, streams, context, usage and cost, the store's reads."""

import asyncio
import os
import threading

import pytest

import tracklet
from tracklet.store.sql._store import SqlStore
from tracklet.tracing import _setup, record_usage, stop_tracing

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _tracing_off_after():
    yield
    stop_tracing()


@pytest.fixture
def store(tmp_path):
    tracklet.init_tracing("proj", dir=str(tmp_path / "store"))
    return SqlStore(str(tmp_path / "store"))


def by_op(store, project="proj"):
    out = {}
    for c in store.calls(project):
        out.setdefault(c["op_name"], []).append(c)
    return out


@tracklet.op
def retrieve(question: str, k: int = 2) -> list:
    return [f"doc{i}" for i in range(k)]


@tracklet.op()
def generate(prompt: str, model: str = "gpt-4o-mini") -> str:
    record_usage(model, prompt_tokens=100, completion_tokens=20)
    return prompt.upper()


@tracklet.op(name="rag")
def rag(question: str) -> str:
    docs = retrieve(question)
    return generate(f"{docs} {question}")


def test_a_pipeline_is_one_trace_with_bound_inputs_outputs_and_usage_summed_to_the_root(store):
    assert rag("what is rag?") == "['DOC0', 'DOC1'] WHAT IS RAG?"
    calls = by_op(store)
    root, r, g = calls["rag"][0], calls["retrieve"][0], calls["generate"][0]
    assert root["parent_id"] is None and root["trace_id"] == root["id"]
    assert r["parent_id"] == root["id"] and g["parent_id"] == root["id"] and g["trace_id"] == root["id"]
    assert r["inputs"] == {"question": "what is rag?", "k": 2}  # the default is recorded
    assert g["inputs"]["model"] == "gpt-4o-mini" and r["output"] == ["doc0", "doc1"]
    assert root["status"] == "ok" and root["latency_ms"] >= 0 and root["ended_at"] >= root["started_at"]
    usage = {"gpt-4o-mini": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120, "requests": 1}}
    assert g["usage"] == usage and root["usage"] == usage and root["total_tokens"] == 120
    assert root["cost"] == pytest.approx((100 * 0.15 + 20 * 0.60) / 1e6)
    assert len(root["op_version"]) == 16


def test_a_price_the_user_sets_costs_the_calls_of_that_model_and_its_dated_names(store, monkeypatch):
    monkeypatch.setattr(tracklet.tracing._usage, "PRICES", dict(tracklet.tracing.PRICES))  # the table as it was, after
    tracklet.set_price("my-finetune", input=0.3, output=1.2)

    @tracklet.op
    def ask(model):
        record_usage(model, prompt_tokens=1000, completion_tokens=500)

    ask("my-finetune-2026-01-01")
    ask("unpriced-model")
    priced, free = store.calls("proj")
    assert priced["cost"] == pytest.approx((1000 * 0.3 + 500 * 1.2) / 1e6) and free["cost"] is None
    with pytest.raises(ValueError, match="output must be dollars per million tokens"):
        tracklet.set_price("x", input=1, output=-1)


def test_an_exception_is_raised_unchanged_and_recorded_with_its_traceback(store):
    class Boom(Exception):
        pass

    @tracklet.op
    def fails(x):
        raise Boom(f"bad {x}")

    with pytest.raises(Boom, match="bad 3") as info:
        fails(3)
    assert type(info.value) is Boom
    (c,) = store.calls("proj")
    assert c["status"] == "error" and c["exception"]["message"] == "bad 3"
    assert c["exception"]["type"].endswith("Boom") and "raise Boom" in c["exception"]["traceback"]


def test_methods_async_functions_and_task_parents(store):
    class Model:
        @tracklet.op
        def predict(self, x):
            return x * 2

        @tracklet.op
        async def apredict(self, x):
            await asyncio.sleep(0)
            return self.predict(x)

    @tracklet.op
    async def fan_out(n):
        return await asyncio.gather(*(Model().apredict(i) for i in range(n)))

    assert Model().predict(2) == 4
    assert asyncio.run(fan_out(3)) == [0, 2, 4]
    calls = by_op(store)
    root = calls["fan_out"][0]
    children = [c for c in calls["Model.apredict"]]
    assert len(children) == 3 and all(c["parent_id"] == root["id"] for c in children)
    assert all(c["task"] for c in children) and "self" not in children[0]["inputs"]
    leaves = [c for c in calls["Model.predict"] if c["parent_id"]]
    assert {c["parent_id"] for c in leaves} == {c["id"] for c in children}


def test_generators_end_when_the_stream_ends_and_gather_their_output(store):
    @tracklet.op
    def tokens(n):
        for i in range(n):
            yield f"t{i} "

    @tracklet.op
    async def atokens(n):
        for i in range(n):
            yield i

    stream = tokens(3)
    assert next(stream) == "t0 "
    assert store.calls("proj")[0]["status"] == "running"  # started, not ended
    assert list(stream) == ["t1 ", "t2 "]

    async def consume():
        return [i async for i in atokens(3)]

    assert asyncio.run(consume()) == [0, 1, 2]
    calls = store.calls("proj")
    assert [c["status"] for c in calls] == ["ok", "ok"]
    assert calls[0]["output"] == "t0 t1 t2 " and calls[1]["output"] == [0, 1, 2]

    for t in tokens(5):  # the consumer stops early: cancelled, with what it read
        break

    async def stop_early():
        stream = atokens(5)
        async for i in stream:
            if i == 1:
                break
        await stream.aclose()

    asyncio.run(stop_early())
    cut = store.calls("proj")[2:]
    assert [(c["status"], c["output"]) for c in cut] == [("cancelled", "t0 "), ("cancelled", [0, 1])]


def test_threads_from_the_context_executor_are_children(store):
    @tracklet.op
    def work(i):
        return i + 1

    @tracklet.op
    def parallel():
        with tracklet.ContextExecutor(max_workers=2) as pool:
            return list(pool.map(work, range(4)))

    assert parallel() == [1, 2, 3, 4]
    calls = by_op(store)
    (root,) = calls["parallel"]
    assert all(c["parent_id"] == root["id"] for c in calls["work"])


def test_children_in_threads_add_their_usage_to_the_parent_without_losing_any(store):
    import sys

    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads change hands as often as they can: a lost update would show
    try:
        @tracklet.op
        def ask(i):
            tracklet.get_current_call().add_usage("m", 1, 1)
            return i

        @tracklet.op
        def fan_out():
            tracklet.get_current_call().add_usage("m", 0, 0)  # the parent counts requests of its own meanwhile
            with tracklet.ContextExecutor(max_workers=8) as pool:
                list(pool.map(ask, range(4000)))
                for _ in range(500):
                    tracklet.get_current_call().add_usage("m", 1, 0)

        fan_out()
    finally:
        sys.setswitchinterval(before)
    (root,) = by_op(store)["fan_out"]
    assert root["usage"]["m"] == {"prompt_tokens": 4500, "completion_tokens": 4000, "total_tokens": 8500, "requests": 4501}


def test_attributes_postprocessing_and_what_cannot_be_stored(store):
    class Opaque:
        def __repr__(self):
            return "<opaque>"

    @tracklet.op(postprocess_inputs=lambda i: {**i, "api_key": "***"}, postprocess_output=lambda o: len(o))
    def call_api(text, api_key, extra=None):
        return text * 2

    with tracklet.attributes({"user": "ada"}), tracklet.attributes({"env": "prod"}):
        assert call_api("ab", "sk-secret", extra=Opaque()) == "abab"
    big = "x" * (tracklet.tracing.MAX_VALUE_BYTES + 10)

    @tracklet.op
    def echo(s):
        return s

    assert echo(big) is big
    a, b = store.calls("proj")
    assert a["inputs"]["api_key"] == "***" and a["output"] == 4
    assert a["inputs"]["extra"] == {"_repr": "<opaque>", "_type": Opaque.__module__ + "." + Opaque.__qualname__}
    assert a["attributes"] == {"user": "ada", "env": "prod"}
    assert b["inputs"]["s"]["_truncated"] is True and b["inputs"]["s"]["_size"] == len(big) + 2
    assert b["output"]["_size"] == len(big) + 2


def test_sampling_keeps_or_drops_whole_traces_and_the_switch_turns_tracing_off(tmp_path, monkeypatch):
    tracklet.init_tracing("proj", dir=str(tmp_path / "s"), sample_rate=0.0)
    assert rag("q") == "['DOC0', 'DOC1'] Q"
    assert SqlStore(str(tmp_path / "s")).calls("proj") == []
    monkeypatch.setenv("TRACKLET_TRACING", "off")
    assert tracklet.init_tracing("proj", dir=str(tmp_path / "s")) is None and _setup.TRACER is None
    with pytest.raises(ValueError, match="sample_rate=2"):
        tracklet.init_tracing("proj", sample_rate=2)


def test_a_stream_sampling_dropped_takes_its_own_calls_with_it(tmp_path, monkeypatch):
    from tracklet.tracing import _op

    @tracklet.op
    def tokens(n):
        for i in range(n):
            yield retrieve(str(i), k=1)[0]

    @tracklet.op
    async def atokens(n):
        for i in range(n):
            yield retrieve(str(i), k=1)[0]

    async def consume():
        return [t async for t in atokens(2)]

    tracklet.init_tracing("proj", dir=str(tmp_path / "s"), sample_rate=0.5)
    draws = iter([0.9, 0.9])  # both streams' traces dropped; a draw after them would keep a trace
    monkeypatch.setattr(_op, "_random", lambda: next(draws, 0.1))
    assert list(tokens(2)) == ["doc0", "doc0"] and asyncio.run(consume()) == ["doc0", "doc0"]
    assert SqlStore(str(tmp_path / "s")).calls("proj") == []  # no retrieve call became a trace of its own
    assert list(tokens(1)) == ["doc0"]  # a kept stream keeps its calls
    kept = SqlStore(str(tmp_path / "s")).calls("proj")
    assert [(c["op_name"], c["parent_id"] is None) for c in kept] == [("tokens", True), ("retrieve", False)]


def test_an_edited_op_is_a_new_version(tmp_path, store):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("def f(x):\n    return x\n")
    b.write_text("def f(x):\n    return x + 1\n")
    versions = set()
    for path in (a, b):
        ns = {}
        exec(compile(path.read_text(), str(path), "exec"), ns)
        import linecache

        linecache.checkcache(str(path))
        versions.add(tracklet.op(ns["f"]).op.version)
    assert len(versions) == 2


def test_filters_orders_and_feedback(store):
    for q in ("a", "b", "c"):
        rag(q)
    roots = store.calls("proj", filters={"roots": True})
    assert len(roots) == 3
    slowest = store.calls("proj", filters={"op": "generate"}, order="-latency_ms", limit=2)
    assert len(slowest) == 2 and slowest[0]["latency_ms"] >= slowest[1]["latency_ms"]
    assert len(store.calls("proj", filters={"trace_id": roots[0]["id"]})) == 3
    by_op = [c["op_name"] for c in store.calls("proj", order="op_name")]
    assert by_op == sorted(by_op) and store.calls("proj", order="-op_name")[0]["op_name"] == max(by_op)
    assert {c["status"] for c in store.calls("proj", order="-status")} == {"ok"}
    assert store.calls("proj", filters={"min_tokens": 121}) == []
    store.add_feedback(roots[1]["id"], "reaction", "👍")
    assert [c["id"] for c in store.calls("proj", filters={"feedback": "reaction"})] == [roots[1]["id"]]
    assert store.feedback(roots[1]["id"])[0]["value"] == "👍"
    with pytest.raises(tracklet.UsageError, match="unknown filter 'opp'"):
        store.calls("proj", filters={"opp": "x"})


def test_an_unwritable_store_leaves_the_function_as_it_is(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.warns(tracklet.TrackletWarning, match="cannot write traces"):
        tracklet.init_tracing("proj", dir=str(blocker / "store"))
    assert rag("q") == "['DOC0', 'DOC1'] Q"
    with pytest.raises(AttributeError, match="'int' object has no attribute 'upper'"):
        generate(3)


def test_ops_inside_a_run_link_to_it_without_init_tracing(tmp_path):
    run = tracklet.init(project="runproj")
    rag("q")
    run.finish()
    calls = SqlStore(os.environ["TRACKLET_DIR"]).calls("runproj")
    assert len(calls) == 3 and {c["run_id"] for c in calls} == {run.id}


def test_a_thread_started_with_in_context_sees_the_parent(store):
    @tracklet.op
    def child():
        return 1

    @tracklet.op
    def parent():
        t = threading.Thread(target=tracklet.tracing.in_context(child))
        t.start()
        t.join()

    parent()
    p, c = store.calls("proj")
    assert c["parent_id"] == p["id"]


def test_api_reads_calls_with_children_exports_and_takes_feedback(store, tmp_path):
    rag("a")
    rag("b")
    api = tracklet.Api(dir=store.root)
    roots = api.calls("proj", {"roots": True})
    assert [c.op_name for c in roots] == ["rag", "rag"]
    call = api.call(roots[0].id)
    assert [c.op_name for c in call.children] == ["retrieve", "generate"]
    assert len(call.trace()) == 3
    call.feedback.add("score", 0.5, name="relevance")
    with pytest.raises(tracklet.UsageError, match="feedback kind 'like'"):
        call.feedback.add("like", 1)
    assert [f["value"] for f in api.call(roots[0].id).feedback] == [0.5]
    out = tmp_path / "calls.jsonl"
    assert api.calls("proj").to_jsonl(str(out)) == 6 and len(out.read_text().splitlines()) == 6
    assert list(api.calls("proj", {"op": "generate"}).to_pandas()["total_tokens"]) == [120, 120]
    with pytest.raises(tracklet.UsageError, match="no call 'nope'"):
        api.call("nope")


def test_api_filters_by_time_status_latency_tokens_cost_and_run(tmp_path):
    import datetime
    import time

    @tracklet.op
    def slow(x):
        time.sleep(0.03)
        if x == "bad":
            raise ValueError(x)
        return x

    run = tracklet.init(project="filters")
    rag("in a run")
    run.finish()
    tracklet.init_tracing("filters", dir=os.environ["TRACKLET_DIR"])
    middle = datetime.datetime.now()
    time.sleep(0.01)
    slow("ok")
    with pytest.raises(ValueError):
        slow("bad")
    api = tracklet.Api()

    def ops(filter):
        return [c.op_name for c in api.calls("filters", filter)]

    assert ops({"run": run.id}) == ["rag", "retrieve", "generate"]
    assert ops({"since": middle}) == ["slow", "slow"] and ops({"until": middle}) == ["rag", "retrieve", "generate"]
    assert ops({"status": "error"}) == ["slow"] and ops({"min_latency_ms": 25}) == ["slow", "slow"]
    assert ops({"max_latency_ms": 25, "roots": True}) == ["rag"]
    assert ops({"min_tokens": 120}) == ["rag", "generate"] and ops({"min_cost": 1e-6}) == ["rag", "generate"]
    assert [c.op_name for c in api.calls("filters", order="-cost")] == ["rag", "generate"]  # calls without cost left out


def test_the_cli_lists_calls_and_prints_a_trace_tree(store, capsys):
    from tracklet.cli import main

    rag("a")
    assert main(["calls", "proj", "--dir", store.root, "--op", "generate", "--slowest", "5"]) == 0
    out = capsys.readouterr().out
    assert "generate" in out and "120 tok" in out and "rag" not in out
    root = store.calls("proj", filters={"roots": True})[0]
    assert main(["trace", root["id"], "--dir", store.root]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("rag ") and lines[1].startswith("├─ retrieve") and lines[2].startswith("└─ generate")


def test_a_server_that_is_down_changes_nothing_for_the_op_and_the_calls_stay_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKLET_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("TRACKLET_FINISH_TIMEOUT", "0.3")
    tracklet.init_tracing("proj", dir=str(tmp_path / "local"))
    with pytest.warns(tracklet.TrackletWarning) as said:
        assert rag("q") == "['DOC0', 'DOC1'] Q"
        with pytest.raises(AttributeError):
            generate(1)
        stop_tracing()
    assert any("did not reach the server; they stay in" in str(w.message) for w in said)
    assert len(SqlStore(str(tmp_path / "local")).calls("proj")) == 4  # the local trace log keeps them
