"""A damaged byte in a run's log costs that record only, is said, and resume never cuts records (issue 10, item 1)."""

from __future__ import annotations

import os
import warnings

import pytest

import tracklet
from tracklet.cli import main as cli
from tracklet.wal._wal import RecordType, WalReader, decode_history


def _logged_run(steps: int = 1000) -> tracklet.Run:
    run = tracklet.init(project="dmg", id="dmg-run")
    for i in range(steps):
        run.log({"loss": 1.0 / (i + 1), "acc": i / steps})
    run.finish()
    return run


def _flip_inside_step(wal: str, step: int) -> tuple[int, int]:
    """Flip one byte inside the HISTORY record of ``step``; returns that record's (start, end)."""
    prev = None
    for rec in WalReader(wal).records():
        if rec.type == RecordType.HISTORY and decode_history(rec.payload)[0] == step:
            break
        prev = rec.end
    else:
        raise AssertionError(f"no record for step {step}")
    with open(wal, "r+b") as f:
        f.seek(rec.end - 5)
        byte = f.read(1)
        f.seek(rec.end - 5)
        f.write(bytes([byte[0] ^ 0x01]))
    return prev, rec.end


def test_one_flipped_byte_in_a_finished_run_costs_one_step_and_is_said(tracklet_env):
    run = _logged_run()
    wal = os.path.join(run.dir, "run.tlog")
    start, end = _flip_inside_step(wal, 500)
    with pytest.warns(tracklet.TrackletWarning, match=r"damaged: \d+ bytes at offset"):
        got = tracklet.Api().run(run.id)
    assert got.state == "finished"  # the exit record after the damage is read
    steps = [r["_step"] for r in got.scan_history(keys=["loss"])]
    assert steps == [s for s in range(1000) if s != 500]
    assert got.summary["loss"] == pytest.approx(1.0 / 1000)
    assert got.problems() == [{"kind": "damaged", "offset": start, "bytes": end - start, "records": None,
                               "detail": "bytes that are not a whole, intact record, followed by whole records; skipped"}]


def test_doctor_and_show_name_the_damaged_run(tracklet_env, capsys):
    run = _logged_run(50)
    start, end = _flip_inside_step(os.path.join(run.dir, "run.tlog"), 20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tracklet.TrackletWarning)
        assert cli(["doctor"]) == 1  # a damaged log is a problem to report
    out = capsys.readouterr().out
    assert f"run {run.id}: {end - start} bytes skipped at offset {start}" in out
    assert cli(["show", run.id]) == 0
    assert f"damaged log: {end - start} bytes at offset {start} skipped" in capsys.readouterr().out


def test_resume_after_damage_keeps_every_record_of_the_log(tracklet_env):
    run = _logged_run(200)
    wal = os.path.join(run.dir, "run.tlog")
    _flip_inside_step(wal, 100)
    size = os.path.getsize(wal)
    with pytest.warns(tracklet.TrackletWarning, match="nothing in the log is removed"):
        resumed = tracklet.init(project="dmg", id=run.id, resume="allow")
    assert os.path.getsize(wal) > size  # appended after the last whole record: nothing was cut
    assert resumed.step == 200
    resumed.log({"loss": 0.0})
    resumed.finish()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tracklet.TrackletWarning)
        got = tracklet.Api().run(run.id)
    assert [r["_step"] for r in got.scan_history(keys=["loss"])] == [s for s in range(201) if s != 100]
    assert got.state == "finished"


def test_a_damaged_key_record_keeps_its_values_under_an_unnamed_key(tracklet_env):
    run = tracklet.init(project="dmg", id="key-run")
    run.log({"loss": 1.0})
    run.log({"loss": 2.0})
    run.finish()
    wal = os.path.join(run.dir, "run.tlog")
    key = next(r for r in WalReader(wal).records() if r.type == RecordType.KEY)
    with open(wal, "r+b") as f:
        f.seek(key.end - 1)
        last = f.read(1)
        f.seek(key.end - 1)
        f.write(bytes([last[0] ^ 0x01]))
    with pytest.warns(tracklet.TrackletWarning, match="damaged"):
        got = tracklet.Api().run(run.id)
    assert [r["_unnamed/1"] for r in got.scan_history(keys=["_unnamed/1"])] == [1.0, 2.0]
    # a resume does not hand the lost key's id to a new key
    with pytest.warns(tracklet.TrackletWarning, match="damaged"):
        resumed = tracklet.init(project="dmg", id=run.id, resume="allow")
    resumed.log({"other": 5.0})
    resumed.finish()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", tracklet.TrackletWarning)
        got = tracklet.Api().run(run.id)
    assert [r["other"] for r in got.scan_history(keys=["other"])] == [5.0]
    assert [r["_unnamed/1"] for r in got.scan_history(keys=["_unnamed/1"])] == [1.0, 2.0]
