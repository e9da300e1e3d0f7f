"""Curves as float64 arrays on the wire: the same values as the store's, for one run or a chart of many."""

from __future__ import annotations

import pytest

from server_client import ServerClient, earlier_garbage_collected, logged_run, make_app  # noqa: F401 (a fixture)
from tracklet.remote._wire import CURVES_TYPE, decode_curves, encode_curves
from tracklet.store.sql._store import SqlStore

pytestmark = pytest.mark.unit


def test_encode_and_decode_give_back_the_curves():
    y = [0.5, -1.0, 1e300, 2.0]
    found = {
        "r1": {"loss": {"x": [0, 1, 2, 3], "y": y, "min": y, "max": y}},  # full resolution: min and max are y
        "rü": {"acc": {"x": [0.0, 64.0], "y": [0.25, 0.75], "min": [0.0, 0.5], "max": [1.0, 1.0]}, "none": {"x": [], "y": [], "min": [], "max": []}},
    }
    back = decode_curves(encode_curves(found))
    assert back == found
    with pytest.raises(ValueError, match="not a curves body"):
        decode_curves(b'{"json": 1}')
    with pytest.raises(ValueError, match="cut short"):
        decode_curves(encode_curves(found)[:-8])


def test_the_server_sends_arrays_to_a_client_that_asks_and_json_to_others(tmp_path):
    root = str(tmp_path / "server")
    sent = dict(logged_run(str(tmp_path / "client"), steps=200) for _ in range(2))
    ids = list(sent)
    app = make_app(root)
    client = ServerClient(app)
    for rid, data in sent.items():
        assert client.send_log(rid, data).status_code == 200
    expected = SqlStore(root).curves_of_runs(ids, ["loss", "acc"], points=50)
    r = client.post("/api/v1/curves", json={"runs": ids, "keys": ["loss", "acc"], "points": 50}, headers={"Accept": CURVES_TYPE})
    assert r.headers["content-type"].startswith(CURVES_TYPE)
    assert decode_curves(r.content) == expected
    one = client.get(f"/api/v1/runs/{ids[0]}/curves", params={"keys": "loss"}, headers={"Accept": CURVES_TYPE})
    assert decode_curves(one.content)[ids[0]]["loss"]["y"] == [1.0 / (i + 1) for i in range(200)]
    as_json = client.post("/api/v1/curves", json={"runs": ids, "keys": ["loss"], "points": 50})
    assert as_json.headers["content-type"].startswith("application/json") and set(as_json.json()) == set(ids)
