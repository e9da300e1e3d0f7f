"""What a run records about its machine: the environment captured at start."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest
from helpers import run_python

from tracklet.tracking import _system


def test_outside_a_repository_git_is_not_started(tmp_path, monkeypatch):
    monkeypatch.delenv("GIT_DIR", raising=False)
    started = []
    monkeypatch.setattr(_system, "_git", lambda args, cwd: started.append(args))
    assert _system.git_info(str(tmp_path), None) is None
    assert started == []


@pytest.mark.skipif(subprocess.run(["git", "--version"], capture_output=True).returncode != 0, reason="no git")
def test_inside_a_repository_the_commit_and_dirtiness_are_recorded(tmp_path):
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}
    for args in (["init", "-q"], ["commit", "-q", "--allow-empty", "-m", "first"]):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, env=env)
    (tmp_path / "sub").mkdir()
    info = _system.git_info(str(tmp_path / "sub"), None)  # found from a subfolder, as git does
    assert info is not None and len(info["commit"]) == 40 and info["dirty"] is False


@pytest.mark.skipif(subprocess.run(["git", "--version"], capture_output=True).returncode != 0, reason="no git")
def test_a_dirty_trees_diff_is_recorded_inline_and_in_the_run_folder(tmp_path, monkeypatch):
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}
    repo, run_dir = tmp_path / "repo", tmp_path / "run"
    repo.mkdir()
    run_dir.mkdir()
    (repo / "a.txt").write_text("one\n")
    for args in (["init", "-q"], ["add", "a.txt"], ["commit", "-q", "-m", "first"]):
        subprocess.run(["git", *args], cwd=repo, check=True, env=env)
    (repo / "a.txt").write_text("one\n" + "".join(f"line {i}\n" for i in range(40)))
    info = _system.git_info(str(repo), str(run_dir))
    assert info["dirty"] is True and "+line 39" in info["diff"] and info["diff_truncated"] is False
    assert (run_dir / "diff.patch").read_text() == info["diff"] and info["diff_bytes"] == len(info["diff"])
    subprocess.run(["git", "checkout", "-q", "a.txt"], cwd=repo, check=True)
    subprocess.run(["git", "apply", str(run_dir / "diff.patch")], cwd=repo, check=True)  # the change comes back
    assert (repo / "a.txt").read_text().endswith("line 39\n")
    monkeypatch.setattr(_system, "_INLINE_DIFF", 200)  # a long diff: its first lines inline, cut at a line; the file whole
    info = _system.git_info(str(repo), str(run_dir))
    assert info["diff_truncated"] is True and len(info["diff"]) <= 200 and info["diff"].endswith("\n")
    assert (run_dir / "diff.patch").read_text().startswith(info["diff"]) and info["diff_bytes"] > 200


def test_the_environment_names_the_os_and_python_as_platform_does():
    env = _system.capture_environment(None)
    assert env["os"] == f"{platform.system()} {platform.release()} {platform.machine()}"
    assert env["python_implementation"] == platform.python_implementation()
    assert env["python"] == sys.version.split()[0]


def test_the_user_is_found_as_getpass_finds_it(monkeypatch):
    import getpass

    assert _system._user() == getpass.getuser()
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.delenv(name, raising=False)
    assert _system._user() == getpass.getuser()  # from the password database


def test_a_run_shorter_than_a_second_records_its_environment_without_importing_psutil(tmp_path):
    out = run_python(
        """
        import sys, tracklet
        run = tracklet.init(project="short", console="off")  # the default 10 s interval
        run.finish()
        sampled = "psutil" in sys.modules
        print(sampled, tracklet.Api().run(run.id).metadata["python"] == sys.version.split()[0])
        """,
        env={"TRACKLET_DIR": str(tmp_path / "tl"), "TRACKLET_SYSTEM_INTERVAL": "10"},
        cwd=str(tmp_path),
    )
    assert out.stdout.split() == ["False", "True"], out.stderr
