"""A damaged tracklet.db: a clear error that names the rebuild, a doctor that sees it, a rebuild from the logs (issue 10, item 6)."""

from __future__ import annotations

import os
import random

import pytest

import tracklet
from tracklet.cli import main as cli


def _store_with_runs(n=3, steps=3000):
    ids = []
    for _ in range(n):
        run = tracklet.init(project="dmg", config={"lr": 0.1})
        for j in range(steps):
            run.log({"loss": float(j)})
        run.finish()
        ids.append(run.id)
    assert len(tracklet.Api().runs("dmg")) == n  # ingested
    tracklet.store.sql._engine.close_all()
    return ids


def _damage(db, how):
    data = bytearray(db.read_bytes())
    if how == "pages":  # a bad disk: garbage inside many pages, the header intact
        rnd = random.Random(1)
        # every page but the first, at its b-tree page header: garbage in the middle of a page only hurts a page
        # full enough to use it, so which reads meet it would depend on the schema's table order
        for off in range(4096, len(data), 4096):
            data[off : off + 100] = bytes(rnd.randrange(256) for _ in range(100))
    else:  # overwritten from the start
        data[:4096] = bytes(random.Random(2).randrange(256) for _ in range(4096))
    db.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["pages", "header"])
def test_damaged_database_says_so_and_doctor_rebuilds_it_from_the_logs(tracklet_env, capsys, how):
    ids = _store_with_runs()
    db = tracklet_env / "tracklet.db"
    _damage(db, how)
    damaged_bytes = db.read_bytes()

    with pytest.raises(tracklet.StoreError, match=r"is damaged .* tracklet doctor --rebuild"):
        tracklet.Api().runs("dmg")
    assert cli(["runs"]) == 1
    err = capsys.readouterr().err
    assert "is damaged" in err and "tracklet doctor --rebuild" in err and "Traceback" not in err

    assert cli(["doctor"]) == 1
    assert "database         PROBLEM: damaged" in capsys.readouterr().out

    assert cli(["doctor", "--rebuild"]) == 0
    out = capsys.readouterr().out
    assert "3 run(s)" in out and "PROBLEM" not in out
    kept = [f for f in os.listdir(tracklet_env) if f.startswith("tracklet.db.damaged-") and "-wal" not in f and "-shm" not in f]
    assert len(kept) == 1 and (tracklet_env / kept[0]).read_bytes() == damaged_bytes  # moved aside, not deleted
    runs = {r.id: r for r in tracklet.Api().runs("dmg")}
    assert set(runs) == set(ids)
    for r in runs.values():
        assert r.state == "finished" and r.config == {"lr": 0.1}
        assert [row["loss"] for row in r.scan_history(keys=["loss"])] == [float(j) for j in range(3000)]
