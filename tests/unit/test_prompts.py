"""Prompt versions: content-addressed publish, aliases, ref().get(), and the version a call used."""

import pytest

import tracklet
from tracklet.store.sql._store import SqlStore
from tracklet.tracing import stop_tracing

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _tracing_off_after():
    yield
    stop_tracing()


def test_publishing_makes_a_version_only_when_the_content_changes(tmp_path):
    tracklet.init_tracing("prompts", dir=str(tmp_path / "s"))
    p = tracklet.Prompt("Answer briefly: {question}")
    assert tracklet.publish(p, name="qa").uri == "qa:v0"
    assert tracklet.publish(tracklet.Prompt("Answer briefly: {question}"), name="qa").uri == "qa:v0"
    chat = tracklet.Prompt([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "{question}"}])
    assert tracklet.publish(chat, name="qa", aliases=["production"]).uri == "qa:v1"
    assert tracklet.ref("qa:v0").get() == p
    got = tracklet.ref("qa:production").get()
    assert got == chat and got.ref.uri == "qa:v1"
    assert tracklet.ref("qa:latest").get().format(question="RAG?")[1] == {"role": "user", "content": "RAG?"}
    assert tracklet.publish({"k": 3}, name="settings").uri == "settings:v0" and tracklet.ref("settings").get() == {"k": 3}


def test_a_call_records_the_prompt_version_it_formatted(tmp_path):
    tracklet.init_tracing("prompts", dir=str(tmp_path / "s"))
    p = tracklet.Prompt("Say {word}")
    tracklet.publish(p, name="say")

    @tracklet.op
    def speak(word):
        return p.format(word=word)

    assert speak("hi") == "Say hi"
    (c,) = SqlStore(str(tmp_path / "s")).calls("prompts")
    assert c["summary"] == {"prompts": ["say:v0"]}


def test_prompt_versions_compare_by_latency_tokens_cost_and_scores(tmp_path):
    from server_client import ServerClient
    from tracklet.server.app import create_app

    tracklet.init_tracing("prompts", dir=str(tmp_path / "s"))
    tracklet.publish(tracklet.Prompt("Answer: {question}"), name="qa")

    @tracklet.op
    def answer(question: str) -> str:
        text = tracklet.ref("qa:latest").get().format(question=question)
        tracklet.tracing.record_usage("gpt-4o-mini", prompt_tokens=len(text), completion_tokens=2)
        return text

    @tracklet.op
    def pipeline(question: str) -> str:
        return answer(question)

    pipeline("a")
    pipeline("b")
    tracklet.publish(tracklet.Prompt("Answer briefly: {question}"), name="qa", aliases=["production"])
    pipeline("c")

    def brief(output: str) -> bool:
        return output.startswith("Answer briefly")

    tracklet.Evaluation(dataset=[{"question": "d"}, {"question": "e"}], scorers=[brief], name="brevity").evaluate_sync(answer)
    api = tracklet.Api(dir=str(tmp_path / "s"))
    roots = api.calls("prompts", {"roots": True, "op": "pipeline"})
    assert [r.summary["prompts"] for r in roots] == [["qa:v0"], ["qa:v0"], ["qa:v1"]]  # recorded up the tree
    assert [c.op_name for c in api.calls("prompts", {"prompt": "qa:v0"})] == ["pipeline", "answer", "pipeline", "answer"]
    assert len(api.calls("prompts", {"prompt": "qa:production"})) == len(api.calls("prompts", {"prompt": "qa:v1"})) == 7
    v0, v1 = api.prompt_versions("prompts", "qa")
    assert v0["version"] == "qa:v0" and v0["traces"]["calls"] == 2 and v0["evaluations"] == []
    assert v0["traces"]["total_tokens"] == len("Answer: a") + 2 and v0["traces"]["cost"] > 0 and v0["traces"]["latency_ms"] > 0
    assert v1["traces"]["calls"] == 1 and v1["traces"]["total_tokens"] == len("Answer briefly: c") + 2
    (ev,) = v1["evaluations"]
    assert ev["name"] == "brevity" and ev["model"] == "answer" and ev["scores"]["brief"]["true_fraction"] == 1.0
    assert ev["total_tokens"] == 2 * (len("Answer briefly: d") + 2) and ev["cost"] > 0
    served = ServerClient(create_app(SqlStore(str(tmp_path / "s")))).get("/api/v1/calls", params={"project": "prompts", "prompt": "qa:v0"})
    assert served.status_code == 200 and len(served.json()) == 4
    with pytest.raises(tracklet.UsageError, match="no version"):
        api.prompt_versions("prompts", "qa:v1")


def test_bad_prompts_are_refused():
    with pytest.raises(TypeError, match="template string or chat messages"):
        tracklet.Prompt(3)
    with pytest.raises(tracklet.UsageError, match="needs a value for 'x'"):
        tracklet.Prompt("{x}").format()
    with pytest.raises(tracklet.UsageError, match="need a project"):
        tracklet.publish(tracklet.Prompt("a"), name="a")
