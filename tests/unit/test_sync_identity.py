"""`tracklet sync` never merges two logs of one run id, and never loses or mislabels a row (issue 10, item 2)."""

from __future__ import annotations

import os

import tracklet
from tracklet.cli import main as cli


def _offline_run(store, keys, value, steps=5):
    run = tracklet.init(project="two", id="exp1", mode="offline", dir=str(store))
    for i in range(steps):
        run.log({k: value + i for k in keys})
    run.finish()
    return os.path.dirname(os.path.dirname(run.dir))


def test_two_offline_runs_with_one_id_are_refused_then_kept_apart_with_new_id(tmp_path, capsys):
    machine_a = _offline_run(tmp_path / "a", ["loss"], 100.0)
    machine_b = _offline_run(tmp_path / "b", ["acc", "loss"], 200.0, steps=8)
    target = tmp_path / "team"
    assert cli(["sync", machine_a, "--dir", str(target)]) == 0
    a_log = (target / "runs" / "exp1" / "run.tlog").read_bytes()

    assert cli(["sync", machine_b, "--dir", str(target)]) == 1
    captured = capsys.readouterr()
    assert "already holds a different log for run 'exp1'" in captured.err and "--new-id" in captured.err
    assert (target / "runs" / "exp1" / "run.tlog").read_bytes() == a_log  # not overwritten
    api = tracklet.Api(dir=str(target))
    (only,) = api.runs("two")
    assert [r["loss"] for r in only.scan_history(keys=["loss"])] == [100.0 + i for i in range(5)]
    assert "acc" not in only.keys()

    assert cli(["sync", machine_b, "--dir", str(target), "--new-id"]) == 0
    assert "is stored as exp1-" in capsys.readouterr().out
    runs = {r.id: r for r in tracklet.Api(dir=str(target)).runs("two")}
    assert len(runs) == 2
    b = next(r for i, r in runs.items() if i != "exp1")
    assert [r["acc"] for r in b.scan_history(keys=["acc"])] == [200.0 + i for i in range(8)]
    assert [r["loss"] for r in b.scan_history(keys=["loss"])] == [200.0 + i for i in range(8)]
    assert [r["loss"] for r in runs["exp1"].scan_history(keys=["loss"])] == [100.0 + i for i in range(5)]

    # syncing everything again changes nothing, and says nothing is wrong for the runs already there
    assert cli(["sync", machine_a, "--dir", str(target)]) == 0
    assert "0 new record(s)" in capsys.readouterr().out


def test_the_same_log_synced_again_longer_is_taken_and_a_shorter_copy_is_left(tmp_path, capsys):
    store = tmp_path / "cluster"
    run = tracklet.init(project="two", id="grow", mode="offline", dir=str(store))
    run.log({"loss": 1.0})
    snapshot = tmp_path / "early"
    os.makedirs(snapshot / "grow")
    with open(os.path.join(run.dir, "run.tlog"), "rb") as f:
        (snapshot / "grow" / "run.tlog").write_bytes(f.read())
    run.log({"loss": 2.0})
    run.finish()
    target = tmp_path / "team"
    assert cli(["sync", str(snapshot / "grow"), "--dir", str(target)]) == 0
    assert cli(["sync", run.dir, "--dir", str(target)]) == 0  # the same log, grown: taken
    assert cli(["sync", str(snapshot / "grow"), "--dir", str(target)]) == 0  # the early copy again: nothing lost
    got = tracklet.Api(dir=str(target)).run("grow")
    assert [r["loss"] for r in got.scan_history(keys=["loss"])] == [1.0, 2.0]
    assert got.state == "finished"


def test_a_log_replaced_under_the_store_is_refused_by_ingest(tracklet_env, recwarn):
    first = tracklet.init(project="two", id="same")
    first.log({"loss": 1.0})
    first.finish()
    assert tracklet.Api().run("same").summary["loss"] == 1.0
    other = tracklet.init(project="two", id="same", mode="offline", dir=str(tracklet_env.parent / "elsewhere"))
    for i in range(50):
        other.log({"acc": float(i)})
    other.finish()
    os.replace(os.path.join(other.dir, "run.tlog"), os.path.join(first.dir, "run.tlog"))
    got = tracklet.Api().run("same")
    assert got.summary == {"loss": 1.0} and "acc" not in got.keys()
    assert any("is not the log the store's run 'same' came from" in str(w.message) for w in recwarn)
