"""A logged table read a page at a time, sorted, filtered and searched: the store and ``GET /runs/{id}/table``."""

from __future__ import annotations

import math

import pytest

import tracklet
from server_client import ServerClient, earlier_garbage_collected, make_app  # noqa: F401 (a fixture)
from tracklet.store.sql._store import SqlStore

pytestmark = pytest.mark.unit

LABELS = ["cat", "dog", "Cat food", None]


def _rows(n: int) -> list[list]:
    return [[i, LABELS[i % 4], (i * 7919) % 1000 / 1000, {"tokens": i}] for i in range(n)]


@pytest.fixture
def logged(tracklet_env):
    root = str(tracklet_env)
    run = tracklet.init(project="p", dir=root)
    run.log({"preds": tracklet.Table(columns=["id", "label", "score", "extra"], data=_rows(10))})
    rows = _rows(5000)
    rows[3][2] = math.nan
    run.log({"preds": tracklet.Table(columns=["id", "label", "score", "extra"], data=rows)})
    run.finish()
    return root, run.id


def test_pages_of_the_last_step_sorted_filtered_and_searched(logged):
    root, run_id = logged
    store = SqlStore(root)
    page = store.table_rows(run_id, "preds", limit=3)
    assert (page["step"], page["rows_total"], page["total"], page["columns"]) == (1, 5000, 5000, ["id", "label", "score", "extra"])
    assert page["rows"] == [[0, "cat", 0.0, {"tokens": 0}], [1, "dog", 0.919, {"tokens": 1}], [2, "Cat food", 0.838, {"tokens": 2}]]
    assert store.table_rows(run_id, "preds", step=0)["rows_total"] == 10

    top = store.table_rows(run_id, "preds", sort="-score", limit=5)
    scores = [r[2] for r in top["rows"]]
    assert scores == sorted(scores, reverse=True) and scores[0] == 0.999
    last = store.table_rows(run_id, "preds", sort="score", offset=4999, limit=1)
    assert last["rows"] == [[3, None, "NaN", {"tokens": 3}]] and last["index"] == [3]  # NaN sorts last, sent as text

    labels = store.table_rows(run_id, "preds", sort="label", limit=1000)
    assert labels["rows"][0][1] == "cat" and labels["total"] == 5000
    assert store.table_rows(run_id, "preds", sort="label", offset=3749, limit=2)["rows"][-1][1] is None  # empty cells last

    hits = store.table_rows(run_id, "preds", filter="score >= 0.9 and label == dog", limit=1000)
    assert hits["total"] == sum(1 for r in _rows(5000) if r[1] == "dog" and r[0] != 3 and r[2] >= 0.9)
    assert all(r[1] == "dog" and r[2] >= 0.9 for r in hits["rows"])
    found = store.table_rows(run_id, "preds", search="CAT", limit=1000)  # any cell, any case
    assert found["total"] == 2500 and {r[1] for r in found["rows"]} == {"cat", "Cat food"}
    assert store.table_rows(run_id, "preds", filter="label ~ food", search="tokens\": 42}")["index"] == [42]

    with pytest.raises(tracklet.UsageError, match="filter names column 'nope'; the table has 'id', 'label'"):
        store.table_rows(run_id, "preds", filter="nope > 1")
    with pytest.raises(tracklet.UsageError, match="is not 'column OP value'"):
        store.table_rows(run_id, "preds", filter="score")
    with pytest.raises(tracklet.UsageError, match="sort names column 'x'"):
        store.table_rows(run_id, "preds", sort="-x")
    with pytest.raises(tracklet.UsageError, match="logged no table 'other'"):
        store.table_rows(run_id, "other")


def test_the_route_answers_what_the_store_does(logged):
    root, run_id = logged
    api = ServerClient(make_app(root))
    r = api.get(f"/api/v1/runs/{run_id}/table", params={"key": "preds", "sort": "-score", "filter": "label != cat",
                                                         "q": "o", "offset": 10, "limit": 20})
    assert r.status_code == 200, r.text
    assert r.json() == SqlStore(root).table_rows(run_id, "preds", None, 0, 10, 20, "-score", "label != cat", "o")
    bad = api.get(f"/api/v1/runs/{run_id}/table", params={"key": "preds", "filter": "score >"})
    assert bad.status_code == 400 and "column OP value" in bad.json()["error"]
    assert api.get(f"/api/v1/runs/{run_id}/table", params={"key": "preds", "limit": 5000}).status_code == 400
    assert api.get(f"/api/v1/runs/{run_id}/table").status_code == 400
    assert api.get("/api/v1/runs/nosuchrun/table", params={"key": "preds"}).status_code == 404
