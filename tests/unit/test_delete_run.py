"""Deleting a run: Api().run(...).delete(), the store, the server route and ``tracklet runs rm``."""

from __future__ import annotations

import os

import numpy as np
import pytest

import tracklet
from server_client import ServerClient, earlier_garbage_collected, make_app  # noqa: F401 (a fixture)
from tracklet.cli import main
from tracklet.store.sql._store import SqlStore

pytestmark = pytest.mark.unit


def _finished(root: str, project: str = "p", **init) -> str:
    """A finished run with history, a table (a media blob), an artifact and console output; returns its id."""
    run = tracklet.init(project=project, dir=root, **init)
    for i in range(5):
        run.log({"loss": 1.0 / (i + 1)})
    run.log({"preds": tracklet.Table(columns=["a", "b"], data=[[1, "x"], [2, "y"]])})
    art = tracklet.Artifact("data", type="dataset")
    with art.new_file("a.txt") as f:
        f.write(f"made by {run.id}")
    run.log_artifact(art).wait()
    print("output line")
    run.finish()
    return run.id


def test_a_deleted_run_is_gone_for_good_and_its_artifacts_and_shared_blobs_stay(tracklet_env):
    root = str(tracklet_env)
    keep, gone = _finished(root), _finished(root)
    store = SqlStore(root)
    digest = store.media(gone, "preds")[0]["digest"]
    tracklet.Api().run(f"p/{gone}").delete()

    assert [r["id"] for r in store.runs("p")] == [keep]
    assert store.run(gone) is None and not os.path.exists(os.path.join(root, "runs", gone))
    assert not os.listdir(os.path.join(root, ".deleted"))
    fresh = SqlStore(root)  # a new reader catches up from the logs: nothing brings the run back
    assert fresh.run(gone) is None and fresh.projects()[0]["runs"] == 1
    assert fresh.get_blob(digest)  # its media blob stays: the kept run logged the same table
    versions = fresh.artifact_versions("p", None, "data")
    assert [v["version_index"] for v in versions] == [0, 1]  # the deleted run's version stays, without its run
    assert fresh.artifact_runs(versions[1]["id"], "output") == []
    assert fresh.media(keep, "preds") and [r["loss"] for r in fresh.history(keep, ["loss"])][-1] == 0.2
    with pytest.raises(tracklet.UsageError, match=f"no run '{gone}'"):
        fresh.delete_run(gone)


def _image(seed: int):
    import numpy as np

    return tracklet.Image(np.random.default_rng(seed).integers(0, 255, (8, 8, 3), dtype=np.uint8))


def test_a_deleted_runs_media_blobs_go_unless_something_else_lists_them(tracklet_env):
    """Only the blobs no other run's media, no committed artifact version and no record still on its way
    to the store lists are removed."""
    root = str(tracklet_env)
    gone = tracklet.init(project="p", dir=root)
    gone.log({"own": _image(1), "shared": _image(2), "in_artifact": _image(3), "pending": tracklet.Histogram([1, 2, 3]), "pixels": _image(4)})
    gone.log({"cells": tracklet.Table(columns=["img"], data=[[_image(5)]])})  # an image nested in a table
    gone.finish()
    kept = tracklet.init(project="p", dir=root)
    kept.log({"same": _image(2)})
    kept.finish()
    store = SqlStore(root)
    digest = {m["key"]: m["digest"] for m in store.media(gone.id)}
    (nested,) = store.media(gone.id, "cells")[0]["refs"]
    art = tracklet.Artifact("pics", type="dataset")
    art.add_file(_blob_file(store, digest["in_artifact"], tracklet_env), "three.png")
    with tracklet.init(project="p", dir=root) as user:
        user.log_artifact(art).wait()
    offline = tracklet.init(project="p", dir=root, mode="offline")  # its records never reach the store
    offline.log({"later": tracklet.Histogram([1, 2, 3]), "again": _image(4)})
    offline.finish()

    tracklet.Api().run(f"p/{gone.id}").delete()

    blobs = store.blob_store()
    assert not blobs.exists(digest["own"]) and not blobs.exists(digest["cells"]) and not blobs.exists(nested)
    assert blobs.exists(digest["shared"]) and blobs.exists(digest["in_artifact"]) and blobs.exists(digest["pending"])
    assert tracklet.Api().run(f"p/{kept.id}").image("same") is not None
    # the offline run's image is pixels in its log, not a digest: the blob may go, and syncing makes it again
    assert main(["sync", offline.dir]) == 0
    assert np.array_equal(tracklet.Api().run(f"p/{offline.id}").image("again").to_numpy(), _image(4).to_numpy())


def _blob_file(store, digest, folder):
    path = folder / "three.png"
    path.write_bytes(store.get_blob(digest))
    return str(path)


def test_delete_artifacts_deletes_what_the_run_logged(tracklet_env):
    root = str(tracklet_env)
    run_id = _finished(root)
    tracklet.Api().run(run_id).delete(delete_artifacts=True)
    assert SqlStore(root).artifact_versions("p", None, "data") == []


def test_a_running_run_refuses_to_be_deleted(tracklet_env):
    run = tracklet.init(project="p")
    run.log({"loss": 1.0})
    with pytest.raises(tracklet.UsageError, match="still running; delete it after it ends"):
        tracklet.Api().run(run.id).delete()
    run.finish()
    assert tracklet.Api().run(run.id).state == "finished"
    tracklet.Api().run(run.id).delete()
    assert tracklet.Api().runs("p") == []


def test_the_server_route_deletes_with_write_access_only(tracklet_env):
    root = str(tracklet_env)
    run_id = _finished(root)
    api = ServerClient(make_app(root))
    assert api.delete("/api/v1/runs/nosuchrun").status_code == 404
    r = api.delete(f"/api/v1/runs/{run_id}")
    assert r.status_code == 200 and r.json() == {"ok": True, "removed_blobs": 1}  # its table, listed by nothing else
    assert api.get(f"/api/v1/runs/{run_id}").status_code == 404
    assert api.get("/api/v1/runs?project=p").json() == []

    live = tracklet.init(project="p", dir=root)
    r = api.delete(f"/api/v1/runs/{live.id}")
    assert r.status_code == 400 and "still running" in r.json()["error"]
    live.finish()


def test_cli_runs_rm_names_the_runs_and_asks(tracklet_env, capsys, monkeypatch):
    from tracklet.cli import main

    root = str(tracklet_env)
    a, b = _finished(root), _finished(root)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["runs", "rm", a]) != 0
    assert "pass --yes" in capsys.readouterr().err and SqlStore(root).run(a) is not None
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert main(["runs", "rm", a]) == 1 and SqlStore(root).run(a) is not None
    assert main(["runs", "rm", "--yes", a, f"p/{b}"]) == 0
    out = capsys.readouterr().out
    assert f"deleted {a}" in out and f"deleted {b}" in out
    assert SqlStore(root).runs() == []
