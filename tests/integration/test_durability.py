"""Real processes killed with SIGKILL at random points: every acknowledged log() is readable."""

import random
import signal
import time

import pytest

import tracklet
from helpers import run_python, spawn_python

LOGGER = """
import sys, tracklet
run = tracklet.init(project="kill", id="victim", resume="allow")
print("START", run.step, flush=True)
i = run.step
while True:
    run.log({"x": float(i), "y": 2.0 * i})
    print(i, flush=True)  # printed only after log() returned: an acknowledgement
    i += 1
"""


def test_sigkill_at_random_points_loses_no_acknowledged_log(tracklet_env):
    rng = random.Random(1234)
    acked: list[int] = []
    for _ in range(12):
        proc = spawn_python(LOGGER)
        first = proc.stdout.readline().split()
        assert first[0] == "START", proc.stderr.read()
        if acked:  # the resumed step follows the last acknowledged one (or one logged just before the kill)
            assert acked[-1] + 1 <= int(first[1]) <= acked[-1] + 2
        time.sleep(rng.uniform(0.0, 0.25))
        proc.send_signal(signal.SIGKILL)
        # read through the same buffered file as readline() above (communicate() would skip its buffer)
        out = proc.stdout.read()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
        acked += [int(line) for line in out.split() if line.strip().isdigit()]
    assert len(acked) > 100
    run = tracklet.Api().run("kill/victim")
    stored = {r["_step"]: (r["x"], r["y"]) for r in run.scan_history(keys=["x", "y"])}
    missing = [s for s in acked if s not in stored]
    assert missing == []
    assert all(stored[s] == (float(s), 2.0 * s) for s in acked)
    assert run.state == "crashed"


@pytest.mark.parametrize("processes", [2, 4])
def test_several_processes_log_into_one_store_at_once(tracklet_env, processes):
    code = """
    import os, tracklet
    run = tracklet.init(project="ddp", name=f"rank-{os.environ['RANK']}", config={"rank": int(os.environ['RANK'])})
    for step in range(3000):
        run.log({"loss": 1.0 / (step + 1), "lr": 1e-3, "rank": float(os.environ['RANK'])})
    run.finish()
    """
    procs = [spawn_python(code, env={"RANK": str(r)}) for r in range(processes)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    runs = tracklet.Api().runs("ddp")
    assert len(runs) == processes
    for r in runs:
        assert r.state == "finished"
        rows = list(r.scan_history(keys=["loss", "lr", "rank"]))
        assert len(rows) == 3000 and {row["rank"] for row in rows} == {float(r.config["rank"])}
    log = tracklet_env / "worker.log"
    assert not log.exists(), log.read_text()


def test_exit_states(tracklet_env):
    failed = run_python("""
        import tracklet
        tracklet.init(project="exit", name="boom")
        raise ValueError("bad batch shape (3, 4)")
    """)
    assert failed.returncode == 1 and "bad batch shape" in failed.stderr
    forgot = run_python("""
        import tracklet
        tracklet.init(project="exit", name="forgot").log({"a": 1})
    """)
    assert forgot.returncode == 0, forgot.stderr
    exited = run_python("""
        import sys, tracklet
        tracklet.init(project="exit", name="sysexit").log({"a": 1})
        sys.exit(0)
    """)
    assert exited.returncode == 0
    exited_3 = run_python("""
        import sys, tracklet
        tracklet.init(project="exit", name="sysexit3").log({"a": 1})
        sys.exit(3)
    """)
    assert exited_3.returncode == 3
    parser = run_python("""
        import argparse, tracklet
        tracklet.init(project="exit", name="argparse")
        argparse.ArgumentParser().parse_args(["--no-such-flag"])  # exits 2 through sys.exit
    """)
    assert parser.returncode == 2
    killed = spawn_python("""
        import os, signal, tracklet
        tracklet.init(project="exit", name="killed").log({"a": 1})
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    killed.communicate(timeout=60)
    states = {r.name: (r.state, r.error) for r in tracklet.Api().runs("exit")}
    assert states["boom"] == ("failed", "ValueError: bad batch shape (3, 4)")
    assert states["forgot"] == ("finished", None)
    assert states["sysexit"] == ("finished", None)
    assert states["sysexit3"][0] == states["argparse"][0] == "failed"
    codes = {r.name: r.exit_code for r in tracklet.Api().runs("exit")}
    assert (codes["sysexit3"], codes["argparse"], codes["sysexit"]) == (3, 2, 0)
    assert states["killed"][0] == "crashed"


def test_a_forked_child_cannot_corrupt_the_log(tracklet_env):
    out = run_python("""
        import os, warnings, tracklet
        run = tracklet.init(project="fork")
        run.log({"a": 1.0})
        pid = os.fork()
        if pid == 0:
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                run.log({"a": 99.0})
            os._exit(0 if any("forked child" in str(x.message) for x in w) else 3)
        _, status = os.waitpid(pid, 0)
        run.log({"a": 2.0})
        run.finish()
        print(os.waitstatus_to_exitcode(status))
    """)
    assert out.stdout.strip() == "0", out.stderr
    (run,) = tracklet.Api().runs("fork")
    assert [r["a"] for r in run.scan_history(keys=["a"])] == [1.0, 2.0]


def test_a_full_disk_warns_once_and_training_goes_on(tracklet_env):
    out = run_python("""
        import resource, signal, warnings, tracklet
        run = tracklet.init(project="full", console="off")
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))  # writes past 8 KiB fail, as on a full disk
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for i in range(2000):
                run.log({"loss": float(i)})
        print("trained", len([w for w in caught if "cannot write" in str(w.message)]))
        print(str(caught[0].message))
    """)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "trained 1"
    assert "run.tlog" in lines[1] and "wait in memory" in lines[1]


def test_a_caught_sys_exit_before_a_run_does_not_fail_it(tracklet_env):
    out = run_python("""
        import sys, tracklet
        tracklet.init(project="exit2", name="first").finish()
        try:
            sys.exit(5)  # e.g. a CLI parser run and caught by the script
        except SystemExit:
            pass
        tracklet.init(project="exit2", name="second").log({"a": 1})
    """)
    assert out.returncode == 0, out.stderr
    states = {r.name: (r.state, r.exit_code) for r in tracklet.Api().runs("exit2")}
    assert states == {"first": ("finished", 0), "second": ("finished", 0)}
