"""A process killed while logging an artifact leaves no partial version; the next attempt completes it."""

import os
import signal
import time

import pytest

import tracklet
from helpers import spawn_python, wait_until

LOGGER = """
import os, sys, tracklet
run = tracklet.init(project="ckpt", id="writer", resume="allow")
art = tracklet.Artifact("checkpoint", type="model")
art.add_dir(sys.argv[1] if len(sys.argv) > 1 else os.environ["SRC"])
run.log_artifact(art, aliases=["best"])
print("QUEUED", flush=True)
art.wait()
print("DONE", art.version, "sqlalchemy" in sys.modules, flush=True)
run.finish()
"""


def _artifact_records(wal):
    from tracklet.wal._wal import RecordType, WalReader

    return [r for r in WalReader(str(wal)).records(0) if r.type == RecordType.ARTIFACT]


def test_kill_during_upload_then_retry(tracklet_env, tmp_path):
    import json

    src = tmp_path / "checkpoint"
    src.mkdir()
    for i in range(40):
        (src / f"shard-{i:02d}.bin").write_bytes(os.urandom(1 << 20))
    gate = tmp_path / "gate"
    gate.mkdir()
    # the 6th file stored (and any after it) stops with its copy in a temporary file, unpublished
    proc = spawn_python(LOGGER, env={"SRC": str(src), "TRACKLET_TEST_UPLOAD_GATE": f"6:{gate}"})
    assert proc.stdout.readline().strip() == "QUEUED"
    wait_until(lambda: (gate / "paused").exists(), timeout=60)
    paused = json.loads((gate / "paused").read_text())
    blobs = tracklet_env / "blobs"
    stored = lambda: sorted(p.name for p in (blobs / "blake3").iterdir() if p.is_file())  # noqa: E731
    # really mid-upload: alive, a copy in a temporary file, some blobs published, no version recorded
    assert proc.poll() is None and paused["pid"] == proc.pid
    assert os.path.exists(paused["tmp"]) and os.path.dirname(paused["tmp"]) == str(blobs / "tmp")
    assert 0 < len(stored()) < 40
    wal = tracklet_env / "runs" / "writer" / "run.tlog"
    assert _artifact_records(wal) == []
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()

    assert _artifact_records(wal) == []
    assert tracklet.Api().artifact_versions("ckpt/checkpoint") == []  # no partial version
    assert any(str(proc.pid) in name for name in os.listdir(blobs / "tmp"))  # the dead writer's temporaries

    again = spawn_python(LOGGER, env={"SRC": str(src)})
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert "DONE v0 False" in out  # the worker stored it; the training process never imported SQLAlchemy
    art = tracklet.Api().artifact("ckpt/checkpoint:best")
    assert len(art.files()) == 40 and len(_artifact_records(wal)) == 1
    art.verify(art.download(str(tmp_path / "final")))
    assert stored() == sorted(e.digest for e in art.files())  # the blobs published before the kill are reused, none orphaned
    assert os.listdir(blobs / "tmp") == []  # the killed writer's temporaries are cleaned up


def test_reading_an_artifact_from_an_up_to_date_store_needs_no_sqlalchemy(tracklet_env, tmp_path):
    from helpers import run_python

    src = tmp_path / "data"
    src.mkdir()
    (src / "a.txt").write_text("alpha")
    run = tracklet.init(project="lite")
    art = tracklet.Artifact("data", type="dataset")
    art.add_dir(str(src))
    run.log_artifact(art, aliases=["gold"])
    run.finish()
    tracklet.Api().runs()  # catch the store up
    out = run_python(f"""
        import sys, tracklet
        a = tracklet.Api().artifact("lite/data:gold")
        root = a.download({str(tmp_path / "out")!r})
        print(a.version, sorted(a.aliases), open(root + "/a.txt").read(), "sqlalchemy" in sys.modules)
    """)
    assert out.stdout.split() == ["v0", "['gold',", "'latest']", "alpha", "False"], out.stderr


def test_the_digest_cache_written_after_finish_is_there_for_the_next_process(tmp_path):
    """finish() does not wait for the digest-cache write; the interpreter does, at exit."""
    from helpers import run_python

    src = tmp_path / "data"
    src.mkdir()
    for i in range(20):
        (src / f"f{i}.bin").write_bytes(os.urandom(4096))
    time.sleep(0.1)  # older than the cache's racy window
    code = f"""
        import sys, tracklet
        from tracklet.artifacts.storage import _blobs
        if sys.argv[1:] == ["again"]:
            def no_reading(*args, **kwargs):
                raise AssertionError("an unchanged file was read again")
            _blobs.copy_then_hash = no_reading
        run = tracklet.init(project="cache", console="off")
        art = tracklet.Artifact("data", type="dataset")
        art.add_dir({str(src)!r})
        run.log_artifact(art)
        run.finish()
        if sys.argv[1:] == ["again"]:
            print(art.wait().version)  # the first process ends at once: its cache write is what exit waits for
    """
    env = {"TRACKLET_DIR": str(tmp_path / "tl")}
    first = run_python(code, env=env, cwd=str(tmp_path))
    assert first.returncode == 0, first.stderr
    again = run_python(code.replace("sys.argv[1:]", '["again"]'), env=env, cwd=str(tmp_path))
    assert again.stdout.split() == ["v0"], again.stderr


DISK_FULL_LOGGER = """
import errno, os, sys, time, tracklet
run = tracklet.init(project="p", id="twin-writer")
full = os.environ["FULL"]
real_write = os.write
def write(fd, data):  # the run's log cannot be written while FULL exists: a full disk, for this file only
    if fd == run._writer._fd and os.path.exists(full):
        raise OSError(errno.ENOSPC, "No space left on device")
    return real_write(fd, data)
os.write = write
open(full, "w").close()
art = tracklet.Artifact("twin", type="dataset")
art.add_dir(os.environ["SRC"])
run.log_artifact(art)
art._done.wait()
print("IN MEMORY", run._writer.pending_bytes > 0, flush=True)
while os.path.exists(full):
    time.sleep(0.01)
run.log({"x": 1})  # the next write takes the queued records to the file
print("WRITTEN", run._writer.pending_bytes, flush=True)
sys.stdin.readline()
run.finish()
"""


def test_delete_keeps_the_blobs_of_a_version_whose_record_waits_for_a_full_disk(tracklet_env, tmp_path):
    """Another process found its files stored and recorded its version, but the record is still in
    memory (its run's log could not be written): a delete then cannot see which blobs it lists."""
    import subprocess

    src = tmp_path / "data"
    src.mkdir()
    for i in range(3):
        (src / f"f{i}.bin").write_bytes(os.urandom(1000))
    run = tracklet.init(project="p")
    art = tracklet.Artifact("data", type="dataset")
    art.add_dir(str(src))
    run.log_artifact(art).wait()
    run.finish()

    full = tmp_path / "disk-full"
    twin = spawn_python(DISK_FULL_LOGGER, env={"SRC": str(src), "FULL": str(full)}, stdin=subprocess.PIPE)
    assert twin.stdout.readline().split() == ["IN", "MEMORY", "True"]
    with pytest.raises(tracklet.StoreError, match="could not yet write to its run's log.*then delete again"):
        tracklet.Api().artifact("p/data:v0").delete()
    assert tracklet.Api().artifact("p/data:v0").version == "v0"  # nothing changed
    full.unlink()  # space comes back: the record reaches the file
    assert twin.stdout.readline().split() == ["WRITTEN", "0"]
    wait_until(lambda: _no_pin(tracklet_env))
    tracklet.Api().artifact("p/data:v0").delete()  # now it sees the twin, and keeps the blobs it lists
    twin.stdin.write("\n")
    twin.stdin.close()
    assert twin.wait(60) == 0, twin.stderr.read()
    twin.stdout.close()
    twin.stderr.close()
    got = tracklet.Api().artifact("p/twin:latest")
    got.verify(got.download(str(tmp_path / "out")))


def _no_pin(store):
    from tracklet.artifacts.storage import open_blob_store

    return not open_blob_store(None, root=str(store)).records_pending()


def test_a_blob_folder_another_store_logs_into_keeps_its_blobs_on_delete(tracklet_env, tmp_path, monkeypatch):
    src = tmp_path / "data"
    src.mkdir()
    (src / "a.bin").write_bytes(os.urandom(1000))
    run = tracklet.init(project="p")
    art = tracklet.Artifact("data", type="dataset")
    art.add_dir(str(src))
    run.log_artifact(art).wait()
    run.finish()
    other = tmp_path / "other-store"  # logs into this store's blob folder, from its own store
    from helpers import run_python

    done = run_python(f"""
        import tracklet
        run = tracklet.init(project="q")
        art = tracklet.Artifact("same", type="dataset")
        art.add_dir({str(src)!r})
        run.log_artifact(art).wait()
        run.finish()
    """, env={"TRACKLET_DIR": str(other), "TRACKLET_BLOB_URL": str(tracklet_env / "blobs")})
    assert done.returncode == 0, done.stderr
    tracklet.Api().artifact("p/data:v0").delete()  # this store cannot see the other's versions: it removes nothing
    monkeypatch.setenv("TRACKLET_BLOB_URL", str(tracklet_env / "blobs"))
    got = tracklet.Api(dir=str(other)).artifact("q/same:latest")
    got.verify(got.download(str(tmp_path / "out")))
