"""Evaluation: rows through a model and scorers, each row a traced call, summaries per scorer, errors per row."""

import asyncio
import os

import pytest

import tracklet
from tracklet.store.sql._store import SqlStore
from tracklet.tracing import stop_tracing

pytestmark = pytest.mark.unit

ROWS = [{"question": "2+2", "expected": "4"}, {"question": "3+3", "expected": "6"}, {"question": "1+1", "expected": "3"}]


@pytest.fixture(autouse=True)
def _tracing_off_after():
    yield
    stop_tracing()


@tracklet.op
def calculator(question: str) -> str:
    a, b = question.split("+")
    return str(int(a) + int(b))


def exact(expected: str, output: str) -> bool:
    return output == expected


class Closeness(tracklet.Scorer):
    def score(self, output, expected):
        return {"distance": abs(int(output) - int(expected))}


class Picky(tracklet.Scorer):
    name = "picky"

    def score(self, output, question):
        if question == "3+3":
            raise RuntimeError("cannot judge 3+3")
        return 1.0

    def summarize(self, scores):
        return {"judged": sum(1 for s in scores if s is not None)}


def test_an_evaluation_summarises_per_scorer_and_records_every_row_and_scorer_error(tmp_path):
    tracklet.init_tracing("evals", dir=str(tmp_path / "s"))
    ev = tracklet.Evaluation(dataset=ROWS, scorers=[exact, Closeness(), Picky], name="math")
    summary = asyncio.run(ev.evaluate(calculator))
    assert summary["exact"] == {"true_count": 2, "true_fraction": pytest.approx(2 / 3)}
    assert summary["Closeness"] == {"distance": {"mean": pytest.approx(1 / 3)}}
    assert summary["picky"] == {"judged": 2, "errors": 1}
    assert summary["model_errors"] == 0 and summary["model_latency"]["mean"] >= 0
    store = SqlStore(str(tmp_path / "s"))
    (ev_call,) = tracklet.Api(dir=str(tmp_path / "s")).evaluations("evals")
    assert ev_call.kind == "evaluation" and ev_call.output["exact"]["true_count"] == 2
    assert ev_call.attributes["_evaluation"]["model"] == "calculator" and ev_call.attributes["_evaluation"]["rows"] == 3
    rows = store.calls("evals", filters={"op": "Evaluation.predict_and_score"})
    assert len(rows) == 3 and all(r["parent_id"] == ev_call.id for r in rows)
    assert sorted(r["inputs"]["row"]["question"] for r in rows) == ["1+1", "2+2", "3+3"]
    models = store.calls("evals", filters={"op": "calculator"})
    assert {m["parent_id"] for m in models} == {r["id"] for r in rows}
    failed = store.calls("evals", filters={"op": "picky", "status": "error"})
    assert len(failed) == 1 and failed[0]["exception"]["message"] == "cannot judge 3+3"


def test_a_model_object_trials_concurrency_and_the_run_summary(tmp_path):
    class Model:
        calls = 0

        @tracklet.op
        async def predict(self, question):
            Model.calls += 1
            await asyncio.sleep(0)
            return calculator(question)

    run = tracklet.init(project="evals-run")
    ev = tracklet.Evaluation(dataset=ROWS, scorers=[exact], trials=2, max_concurrency=2)
    summary = ev.evaluate_sync(Model())
    run.finish()
    assert Model.calls == 6 and summary["exact"]["true_count"] == 4
    assert tracklet.Api().run(run.id).summary["eval/evaluation/exact/true_count"] == 4
    calls = SqlStore(os.environ["TRACKLET_DIR"]).calls("evals-run", filters={"kind": "evaluation"})
    assert len(calls) == 1 and calls[0]["run_id"] == run.id


def test_rows_in_flight_never_exceed_max_concurrency(tmp_path):
    tracklet.init_tracing("evals", dir=str(tmp_path / "s"))
    running, most = 0, 0

    async def model(question):
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.01)
        running -= 1
        return question

    tracklet.Evaluation(dataset=ROWS * 4, scorers=[exact], max_concurrency=3).evaluate_sync(model)
    assert most == 3


def test_bad_evaluations_are_refused_at_the_call():
    with pytest.raises(ValueError, match="no rows"):
        tracklet.Evaluation(dataset=[], scorers=[exact])
    with pytest.raises(TypeError, match="list of dicts"):
        tracklet.Evaluation(dataset="rows.csv", scorers=[exact])
    with pytest.raises(ValueError, match="trials=0"):
        tracklet.Evaluation(dataset=ROWS, trials=0)
    with pytest.raises(TypeError, match="a scorer is a function"):
        tracklet.Evaluation(dataset=ROWS, scorers=[3])


def test_a_published_dataset_is_evaluated_by_ref_or_by_artifact(tmp_path):
    tracklet.init_tracing("evals", dir=str(tmp_path / "s"))
    ref = tracklet.publish(tracklet.tracing.Dataset(ROWS, name="math-rows"))
    assert tracklet.Evaluation(dataset=ref, scorers=[exact]).evaluate_sync(calculator)["exact"]["true_count"] == 2
    art = tracklet.Api(dir=str(tmp_path / "s")).artifact("evals/math-rows:latest")
    ev = tracklet.Evaluation(dataset=art, scorers=[exact])
    assert len(ev.rows) == 3 and ev.dataset_name == "math-rows"
