"""The media keys of several runs and their steps in one question: ``store.media_steps`` and ``POST /media/steps``."""

from __future__ import annotations

import numpy as np
import pytest

import tracklet
from server_client import ServerClient, earlier_garbage_collected, make_app  # noqa: F401 (a fixture)
from tracklet.store.sql._store import SqlStore

pytestmark = pytest.mark.unit


@pytest.fixture
def logged(tracklet_env):
    """Two runs logging one image key at their own steps (one a list), a histogram, a table; a third with no media."""
    root = str(tracklet_env)
    ids = []
    for name, steps in (("a", [0, 5, 10]), ("b", [0, 4, 8, 12])):
        run = tracklet.init(project="p", dir=root, name=name)
        for step in steps:
            images = [tracklet.Image(np.full((4, 4), step, np.uint8))] * (2 if name == "a" else 1)
            run.log({"samples": images if name == "a" else images[0], "w": tracklet.Histogram([step, step + 1])}, step=step)
        run.log({"preds": tracklet.Table(columns=["x"], data=[[1]])}, step=steps[-1])
        run.finish()
        ids.append(run.id)
    run = tracklet.init(project="p", dir=root, name="plain")
    run.log({"loss": 1.0})
    run.finish()
    return root, [*ids, run.id]


def test_media_steps_lists_each_runs_keys_with_their_steps(logged):
    root, (a, b, plain) = logged
    store = SqlStore(root)
    assert store.media_steps([a, b, plain, a]) == {
        a: {"preds": {"kind": "table", "steps": [10]}, "samples": {"kind": "image", "steps": [0, 5, 10]},
            "w": {"kind": "histogram", "steps": [0, 5, 10]}},
        b: {"preds": {"kind": "table", "steps": [12]}, "samples": {"kind": "image", "steps": [0, 4, 8, 12]},
            "w": {"kind": "histogram", "steps": [0, 4, 8, 12]}},
        plain: {},
    }
    per_run = {e["step"] for e in store.media(a, "samples")}  # the per-run list agrees
    assert sorted(per_run) == store.media_steps([a])[a]["samples"]["steps"]
    with pytest.raises(tracklet.UsageError, match="no run 'ghost'"):
        store.media_steps([a, "ghost"])


def test_the_route_answers_what_the_store_does(logged):
    root, (a, b, plain) = logged
    api = ServerClient(make_app(root))
    r = api.post("/api/v1/media/steps", json={"runs": [b, a, plain]})
    assert r.status_code == 200, r.text
    assert r.json() == SqlStore(root).media_steps([b, a, plain])
    assert list(r.json()) == [b, a, plain]
    missing = api.post("/api/v1/media/steps", json={"runs": [a, "nosuchrun"]})
    assert missing.status_code == 400 and "nosuchrun" in missing.json()["error"]
    for bad in ({"runs": []}, {}, {"runs": [1]}, {"runs": ["../x"]}, [a]):
        r = api.post("/api/v1/media/steps", json=bad)
        assert r.status_code == 400 and r.json()["error"], bad
    r = api.post("/api/v1/media/steps", json={"runs": [f"r{i}" for i in range(1001)]})
    assert r.status_code == 413 and "at most 1000 runs" in r.json()["error"]
