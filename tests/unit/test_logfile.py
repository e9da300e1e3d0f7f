"""A finished run's log, compressed: read as before, made plain again to append, never lost (issue 10, item 19)."""

from __future__ import annotations

import os
import random

import pytest

import tracklet
from tracklet.cli import main as cli
from tracklet.wal._logfile import COMPRESSED, compress_log
from tracklet.wal._wal import WalReader


def _finished_run(steps=3000, **kw):
    run = tracklet.init(project="gz", **kw)
    rnd = random.Random(0)
    for i in range(steps):
        run.log({"loss": rnd.random(), "lr": 1e-4 * (1 - i / steps), "step_time": 0.1 + rnd.random() / 100})
    run.finish()
    return run, os.path.join(run.dir, "run.tlog")


def test_a_compressed_log_reads_as_the_plain_one_and_is_smaller(tracklet_env):
    run, wal = _finished_run()
    plain = [(r.type, r.seq, r.payload, r.end) for r in WalReader(wal).records()]
    size = os.path.getsize(wal)
    assert compress_log(wal, size)
    assert not os.path.exists(wal) and os.path.getsize(wal + COMPRESSED) < size / 1.5
    assert [(r.type, r.seq, r.payload, r.end) for r in WalReader(wal).records()] == plain
    got = tracklet.Api().run(run.id)  # the store is built from the compressed log
    assert len(list(got.scan_history(keys=["loss"]))) == 3000 and got.state == "finished"


def test_compression_waits_for_writers_and_for_the_store(tracklet_env):
    run = tracklet.init(project="gz")
    run.log({"loss": 1.0})
    wal = os.path.join(run.dir, "run.tlog")
    assert not compress_log(wal, os.path.getsize(wal))  # the live run's writer holds the log
    run.finish()
    assert not compress_log(wal, os.path.getsize(wal) - 1)  # the store does not hold all of it
    assert compress_log(wal, os.path.getsize(wal))


def test_resume_and_edits_make_a_compressed_log_plain_again(tracklet_env):
    run, wal = _finished_run(100, id="again")
    tracklet.Api().run(run.id)
    assert compress_log(wal, os.path.getsize(wal))
    resumed = tracklet.init(project="gz", id="again", resume="allow")
    assert os.path.exists(wal) and not os.path.exists(wal + COMPRESSED)
    resumed.log({"loss": 5.0})
    resumed.finish()
    assert compress_log(wal, os.path.getsize(wal))
    edited = tracklet.Api().run("again")
    edited.name = "renamed"
    edited.update()  # a public run's edit appends to its log
    assert os.path.exists(wal) and not os.path.exists(wal + COMPRESSED)
    got = tracklet.Api().run("again")
    assert got.name == "renamed"
    assert [r["loss"] for r in got.scan_history(keys=["loss"])][-1] == 5.0
    assert len(list(got.scan_history(keys=["loss"]))) == 101


def test_rebuild_and_sync_read_compressed_logs(tracklet_env, tmp_path, capsys):
    runs = [_finished_run(200)[0] for _ in range(2)]
    for run in runs:
        wal = os.path.join(run.dir, "run.tlog")
        tracklet.Api().run(run.id)
        assert compress_log(wal, os.path.getsize(wal))
    assert cli(["doctor", "--rebuild"]) == 0
    assert "2 run(s)" in capsys.readouterr().out
    assert {r.id for r in tracklet.Api().runs("gz")} == {r.id for r in runs}
    other = tmp_path / "other"
    assert cli(["sync", str(tracklet_env), "--dir", str(other)]) == 0
    assert "synced 2 run(s)" in capsys.readouterr().out
    for run in runs:
        assert len(list(tracklet.Api(dir=str(other)).run(run.id).scan_history(keys=["loss"]))) == 200
        assert os.path.exists(other / "runs" / run.id / ("run.tlog" + COMPRESSED))
    assert cli(["sync", str(tracklet_env), "--dir", str(other)]) == 0  # again: nothing new
    assert "0 new record(s)" in capsys.readouterr().out


@pytest.mark.parametrize("cut", [100, 5000])
def test_a_damaged_compressed_log_is_an_error_that_names_it_not_a_silent_end(tracklet_env, cut):
    run, wal = _finished_run(500)
    assert compress_log(wal, os.path.getsize(wal))
    with open(wal + COMPRESSED, "rb") as f:
        data = bytearray(f.read())
    data[cut] ^= 0xFF
    with open(wal + COMPRESSED, "wb") as f:
        f.write(bytes(data))
    with pytest.raises(ValueError, match=r"run.tlog.gz is damaged"):
        list(WalReader(wal).records())


def test_runs_log_and_resume_where_there_are_no_advisory_locks(tracklet_env):
    # Windows has no fcntl: writers then take no flock (and nothing is compressed there)
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import sys
        sys.modules["fcntl"] = None  # importing it raises ImportError, as on Windows
        import tracklet
        run = tracklet.init(project="nolock", id="nolock")
        run.log({"a": 1.0})
        run.finish()
        again = tracklet.init(project="nolock", id="nolock", resume="allow")
        again.log({"a": 2.0})
        again.finish()
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert [r["a"] for r in tracklet.Api().run("nolock").scan_history(keys=["a"])] == [1.0, 2.0]
