"""The default store folder: a script run twice from one folder works, whatever the install (issue 10, item 12)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

SCRIPT = """
import tracklet
run = tracklet.init(project="twice", config={"lr": 0.1})
run.log({"loss": 0.5})
run.finish()
print("runs:", len(tracklet.Api().runs("twice")))
"""


def _run_without_dir(code: str, cwd) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "TRACKLET_DIR"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def test_the_same_script_runs_twice_from_one_folder(tmp_path):
    # This project's venv holds tracklet as an editable install, the install where a folder
    # named "tracklet" in the working folder hid the package on the second run.
    first = _run_without_dir(SCRIPT, tmp_path)
    assert first.returncode == 0, first.stderr
    second = _run_without_dir(SCRIPT, tmp_path)
    assert second.returncode == 0, second.stderr
    assert "runs: 2" in second.stdout
    assert (tmp_path / "tracklet-runs" / "tracklet.db").is_file()
    assert not (tmp_path / "tracklet").exists()
    # and a script saved as a file beside the store, run the usual way (sys.path[0] is its folder)
    (tmp_path / "train.py").write_text(SCRIPT)
    third = subprocess.run([sys.executable, "train.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                           env={k: v for k, v in os.environ.items() if k != "TRACKLET_DIR"})
    assert third.returncode == 0, third.stderr
    assert "runs: 3" in third.stdout


def test_a_store_at_the_old_default_is_still_read_and_written(tmp_path):
    old = tmp_path / "old-store-made-elsewhere"
    made = _run_without_dir(f"""
        import tracklet
        run = tracklet.init(project="legacy", dir={str(old)!r})
        run.log({{"loss": 1.0}})
        run.finish()
    """, tmp_path)
    assert made.returncode == 0, made.stderr
    # put it where an earlier tracklet made its store by default, and read it from a script kept in
    # a subfolder (sys.path[0] is the script's folder, so ./tracklet does not shadow the package)
    work = tmp_path / "work"
    work.mkdir()
    os.rename(old, work / "tracklet")
    (work / "sub").mkdir()
    script = work / "sub" / "read.py"
    script.write_text(textwrap.dedent("""
        import os, tracklet
        os.chdir(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        api = tracklet.Api()
        print("dir:", os.path.basename(api.dir), "runs:", len(api.runs("legacy")))
        run = tracklet.init(project="legacy")
        run.finish()
        print("after:", len(tracklet.Api().runs("legacy")), os.path.basename(run.dir and os.path.dirname(os.path.dirname(run.dir))))
    """))
    env = {k: v for k, v in os.environ.items() if k != "TRACKLET_DIR"}
    out = subprocess.run([sys.executable, str(script)], cwd=work / "sub", env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "dir: tracklet runs: 1" in out.stdout
    assert "after: 2 tracklet" in out.stdout
    assert not (work / "tracklet-runs").exists()
    doctor = subprocess.run([os.path.join(os.path.dirname(sys.executable), "tracklet"), "doctor"], cwd=work, env=env,
                            capture_output=True, text=True, timeout=60)
    assert "mv tracklet tracklet-runs" in doctor.stdout, doctor.stdout
