"""Offline runs and `tracklet sync`; the ingest worker that keeps the store live."""

import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing

import tracklet
from helpers import run_python, spawn_python, wait_until


def tracklet_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "tracklet", *args], capture_output=True, text=True, env={**os.environ, **(env or {})})


def test_offline_run_waits_for_sync_and_sync_is_idempotent(tracklet_env, tmp_path):
    out = run_python("""
        import tracklet
        run = tracklet.init(project="off", mode="offline", config={"lr": 0.1})
        for i in range(500):
            run.log({"loss": 1.0 / (i + 1)})
        run.finish()
        print(run.dir)
    """)
    assert out.returncode == 0, out.stderr
    run_dir = out.stdout.strip()
    assert not (tracklet_env / "tracklet.db").exists()
    assert tracklet.Api().runs("off") == []  # an offline run is not ingested until synced

    first = tracklet_cli("sync", run_dir)
    assert first.returncode == 0, first.stderr
    assert "synced 1 run(s)" in first.stdout
    (run,) = tracklet.Api().runs("off")
    assert run.state == "finished" and run.config == {"lr": 0.1}
    rows = [r["loss"] for r in run.scan_history(keys=["loss"])]
    assert len(rows) == 500

    again = tracklet_cli("sync", str(tracklet_env))
    assert "0 new record(s)" in again.stdout
    assert [r["loss"] for r in tracklet.Api().run(run.id).scan_history(keys=["loss"])] == rows

    # a run folder copied from a cluster (rsync) syncs into another store, log and all
    copied = tmp_path / "from-cluster" / os.path.basename(run_dir)
    shutil.copytree(run_dir, copied)
    other = tmp_path / "laptop-store"
    moved = tracklet_cli("sync", str(copied), "--dir", str(other))
    assert moved.returncode == 0, moved.stderr
    assert (other / "runs" / run.id / "run.tlog").exists()
    assert len(list(tracklet.Api(dir=str(other)).run(run.id).scan_history())) == 500


def test_worker_ingests_while_the_run_is_open_and_exits_when_idle(tracklet_env):
    proc = spawn_python(
        """
        import sys, tracklet
        run = tracklet.init(project="live")
        for i in range(200):
            run.log({"loss": float(i)})
        print(run.id, flush=True)
        sys.stdin.readline()  # hold the run open until the test says so
        run.finish()
        """,
        env={"TRACKLET_WORKER_IDLE": "1"},
        stdin=subprocess.PIPE,
    )
    run_id = proc.stdout.readline().strip()
    db = tracklet_env / "tracklet.db"

    def stored_rows():  # read the store directly: no Api, so no catch-up of our own
        if not db.exists():
            return 0
        with closing(sqlite3.connect(db)) as conn:
            try:
                return conn.execute("SELECT count(*) FROM history").fetchone()[0] == 200
            except sqlite3.OperationalError:
                return 0

    wait_until(stored_rows, timeout=30)
    proc.stdin.write("\n")
    proc.stdin.flush()
    proc.communicate(timeout=30)

    def state():
        with closing(sqlite3.connect(db)) as conn:
            return conn.execute("SELECT state FROM runs WHERE run_id = ?", (run_id,)).fetchone()[0] == "finished"

    wait_until(state, timeout=30)
    from tracklet.store.sql._spawn import worker_running

    wait_until(lambda: worker_running(str(tracklet_env)) is False, timeout=30)
    assert not os.listdir(tracklet_env / "active")
    from tracklet.store.sql._spawn import wake_path

    path = wake_path(str(tracklet_env))
    assert path is None or not os.path.exists(path)  # its wake-up pipe went with it


def test_a_locked_store_warns_at_finish_and_loses_nothing(tracklet_env):
    tracklet_env.mkdir()
    tracklet.Api().runs()  # the store and its schema exist; no worker runs yet
    blocker = sqlite3.connect(tracklet_env / "tracklet.db", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        out = run_python(
            """
            import os, time, tracklet
            run = tracklet.init(project="lock")
            for i in range(300):
                run.log({"loss": float(i)})
            deadline = time.time() + 30
            while not os.path.exists(os.path.join(run.dir, "ingest-error.txt")) and time.time() < deadline:
                time.sleep(0.05)  # until the worker has tried, and failed
            run.finish()
            """,
            env={"TRACKLET_STORE_BUSY_TIMEOUT_MS": "100", "PYTHONWARNINGS": "always"},
        )
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert out.returncode == 0, out.stderr
    assert "could not take run" in out.stderr and "Nothing is lost" in out.stderr
    (run,) = tracklet.Api().runs("lock")
    assert [r["loss"] for r in run.scan_history(keys=["loss"])] == [float(i) for i in range(300)]
    assert run.state == "finished"


def test_reading_an_up_to_date_store_needs_no_sqlalchemy(tracklet_env):
    run = tracklet.init(project="lite", config={"lr": 0.1})
    for i in range(1000):
        run.log({"loss": 1.0 / (i + 1), "acc": i / 1000})
    print("hello")
    run.finish()
    expected = list(tracklet.Api().run(f"lite/{run.id}").scan_history(keys=["loss"]))  # also catches the store up
    out = run_python(f"""
        import json, sys, tracklet
        r = tracklet.Api().run("lite/{run.id}")
        rows = list(r.scan_history(keys=["loss"]))
        print(json.dumps([len(rows), rows[-1]["loss"], r.config, r.state, sorted(r.keys()), "sqlalchemy" in sys.modules]))
    """)
    import json

    n, last, config, state, keys, imported = json.loads(out.stdout)
    assert (n, last, config, state, keys) == (1000, expected[-1]["loss"], {"lr": 0.1}, "finished", ["acc", "loss"]), out.stderr
    assert imported is False


def _worker_pid(store):
    """The pid of the worker serving ``store`` (the process holding its lock), from /proc."""
    lock = os.path.realpath(store / ".worker.lock")
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == lock and int(pid) != os.getpid():
                    return int(pid)
            except OSError:
                continue
    return None


def test_a_woken_worker_stores_a_record_at_once_and_runs_niced(tracklet_env):
    if not sys.platform.startswith("linux"):
        import pytest

        pytest.skip("reads /proc")
    from tracklet.store.sql._spawn import wake_worker
    from tracklet.store.sql._lite import stored_offset

    run = tracklet.init(project="wake")
    run.log({"x": 1.0})
    wait_until(lambda: stored_offset(str(tracklet_env), run.id) > 0, timeout=30)  # the worker is up
    pid = wait_until(lambda: _worker_pid(tracklet_env), timeout=10)
    import stat

    from tracklet.store.sql._spawn import wake_path

    assert stat.S_ISFIFO(os.stat(wake_path(str(tracklet_env))).st_mode)
    assert not any(stat.S_ISFIFO(os.lstat(p).st_mode) for p in tracklet_env.rglob("*"))  # none in the store: copies and zips stay safe
    assert os.getpriority(os.PRIO_PROCESS, pid) >= os.getpriority(os.PRIO_PROCESS, 0) + 10  # training goes first
    assert os.getpgid(pid) == pid and os.getsid(pid) == os.getsid(0)  # own group (no Ctrl-C), same session

    # woken, it stores what was logged (how fast is a benchmark's question: benchmarks/worker_wake.py)
    for i in range(5):
        run.log({"x": float(i)})
        end = run._writer.offset
        wake_worker(str(tracklet_env))
        wait_until(lambda: stored_offset(str(tracklet_env), run.id) >= end, timeout=10, interval=0.001)
    run.finish()


def test_a_worker_whose_store_is_deleted_exits(tracklet_env, tmp_path):
    if not sys.platform.startswith("linux"):
        import pytest

        pytest.skip("reads /proc")
    out = run_python("import tracklet; tracklet.init(project='gone').finish()", env={"TRACKLET_WORKER_IDLE": "600"})
    assert out.returncode == 0, out.stderr
    pid = wait_until(lambda: _worker_pid(tracklet_env), timeout=10)
    wait_until(lambda: not os.listdir(tracklet_env / "active"), timeout=30)
    shutil.rmtree(tracklet_env)  # e.g. a test's or a benchmark's temp store, removed while the worker idles

    def gone():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] == "Z"  # exited, waiting to be reaped by its (gone) parent

    wait_until(gone, timeout=10)


def test_the_worker_starts_with_the_first_metric_a_second_in_or_at_finish_not_at_init(tracklet_env, tmp_path):
    from tracklet.store.sql._spawn import worker_running

    quiet = tmp_path / "quiet"
    run = tracklet.init(project="lazy", dir=str(quiet))
    assert not worker_running(str(quiet))  # init() starts no process
    wait_until(lambda: worker_running(str(quiet)), timeout=10)  # a second in, with nothing logged
    run.finish()

    logging = tmp_path / "logging"
    run = tracklet.init(project="lazy", dir=str(logging))
    run.log({"loss": 1.0})
    assert worker_running(str(logging))  # the first metric starts it at once
    run.finish()


def test_a_script_that_only_logs_an_artifact_gets_its_version_numbered_by_the_worker(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.txt").write_text("alpha")
    out = run_python(
        f"""
        import sys, tracklet
        run = tracklet.init(project="lazy", console="off")
        art = tracklet.Artifact("data", type="dataset")
        art.add_dir({str(tmp_path / "data")!r})
        run.log_artifact(art)
        run.finish()
        art.wait()
        print(art.version, "sqlalchemy" in sys.modules)
        """,
        env={"TRACKLET_DIR": str(tmp_path / "tl")},
        cwd=str(tmp_path),
    )
    assert out.stdout.split() == ["v0", "False"], out.stderr  # no SQLAlchemy import in the script's process


def _gone(pid: int) -> bool:
    """Whether process ``pid`` has exited (a zombie not yet reaped counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_a_worker_whose_store_is_replaced_at_the_same_path_leaves_the_new_one_alone(tracklet_env, tmp_path):
    if not sys.platform.startswith("linux"):
        import pytest

        pytest.skip("reads /proc")
    store = tmp_path / "store"
    old = tracklet.init(project="swap", dir=str(store))
    old.log({"x": 1.0})
    old.finish()
    old_pid = wait_until(lambda: _worker_pid(store), timeout=10)
    shutil.rmtree(store)
    new = tracklet.init(project="swap", dir=str(store))
    for i in range(5):
        new.log({"x": float(i)})
    # while the new run is live, the old worker goes instead of storing it into the deleted database
    wait_until(lambda: _gone(old_pid), timeout=10)
    new.finish()
    (run,) = tracklet.Api(dir=str(store)).runs("swap")
    assert run.id == new.id and [r["x"] for r in run.scan_history(keys=["x"])] == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_the_worker_keeps_storing_while_every_core_is_busy(tracklet_env):
    """Niced, not idle-only: training that saturates the CPUs must not leave its metrics unstored."""
    from tracklet.store.sql._lite import stored_offset

    burners = [
        subprocess.Popen([sys.executable, "-c", "import time\nend = time.time() + 40\nwhile time.time() < end: pass"])
        for _ in range(os.cpu_count() or 2)
    ]
    try:
        run = tracklet.init(project="busy")
        run.log({"loss": 1.0})
        end = run._writer.offset
        run._writer.flush()
        wait_until(lambda: stored_offset(str(tracklet_env), run.id) >= end, timeout=35, interval=0.1)
        run.finish()
    finally:
        for p in burners:
            p.kill()
            p.wait()


def test_the_worker_compresses_a_finished_runs_log_once_idle(tracklet_env, monkeypatch):
    monkeypatch.setenv("TRACKLET_COMPRESS_AFTER", "0.5")
    monkeypatch.setenv("TRACKLET_WORKER_IDLE", "2")
    out = run_python("""
        import random, tracklet
        run = tracklet.init(project="gz")
        for i in range(20000):
            run.log({"loss": random.random(), "lr": 1e-4 * (1 - i / 20000), "epoch": i // 1000})
        run.finish()
        print(run.id)
    """)
    assert out.returncode == 0, out.stderr
    run_id = out.stdout.split()[-1]
    wal = tracklet_env / "runs" / run_id / "run.tlog"
    plain = wal.stat().st_size
    gz = wal.with_name("run.tlog.gz")
    wait_until(gz.exists, timeout=30)
    wait_until(lambda: not wal.exists(), timeout=10)
    assert gz.stat().st_size < plain / 1.5
    got = tracklet.Api().run(run_id)
    assert got.state == "finished" and len(list(got.scan_history(keys=["loss", "lr", "epoch"]))) == 20000
