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


def test_bad_prompts_are_refused():
    with pytest.raises(TypeError, match="template string or chat messages"):
        tracklet.Prompt(3)
    with pytest.raises(tracklet.UsageError, match="needs a value for 'x'"):
        tracklet.Prompt("{x}").format()
    with pytest.raises(tracklet.UsageError, match="need a project"):
        tracklet.publish(tracklet.Prompt("a"), name="a")
