"""``import tracklet.weave as weave``: a Weave script's calls, models, datasets and evaluations, stored locally."""

import asyncio

import pytest

import tracklet.weave as weave
from tracklet.tracing import stop_tracing

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _tracing_off_after():
    yield
    stop_tracing()


def test_a_weave_script_runs_unchanged(tmp_path):
    client = weave.init("team/weave-proj", dir=str(tmp_path / "s"))

    @weave.op()
    def extract(text: str) -> str:
        return text.split()[0]

    class Extractor(weave.Model):
        prefix: str
        suffix: str = "!"

        @weave.op()
        async def predict(self, sentence: str) -> str:
            return self.prefix + extract(sentence) + self.suffix

    class Match(weave.Scorer):
        strict: bool = True

        @weave.op()
        def score(self, expected: str, output: str) -> dict:
            return {"match": output == expected}

    dataset = weave.Dataset(name="sentences", rows=[{"sentence": "hello world", "expected": ">hello!"},
                                                     {"sentence": "bye now", "expected": "bye"}])
    weave.publish(dataset)
    with weave.attributes({"env": "test"}):
        summary = asyncio.run(weave.Evaluation(dataset=dataset, scorers=[Match()]).evaluate(Extractor(prefix=">")))
    assert summary["Match"] == {"match": {"true_count": 1, "true_fraction": 0.5}}
    assert weave.ref("sentences:latest").get().rows[1]["sentence"] == "bye now"
    calls = client.get_calls({"op": "extract"})
    assert len(calls) == 2 and calls[0].attributes["env"] == "test"
    with pytest.raises(TypeError, match="needs the field 'prefix'"):
        Extractor()
