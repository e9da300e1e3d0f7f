"""A store is private to its user, and secrets on the command line never reach it (issue 10, item 10)."""

from __future__ import annotations

import os
import stat

import tracklet
from helpers import run_python


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_store_is_private_and_a_shared_one_follows_the_umask(tmp_path):
    out = run_python("""
        import os, tracklet
        os.umask(0o022)
        for name, private in (("private", None), ("shared", "false")):
            if private:
                os.environ["TRACKLET_PRIVATE"] = private
            run = tracklet.init(project="p", dir=name)
            run.log({"loss": 1.0})
            run.finish()
            print(run.id)
            tracklet.Api(dir=name).run(run.id)
    """, cwd=str(tmp_path), env={"TRACKLET_WORKER": "off"})
    assert out.returncode == 0, out.stderr
    private_id, shared_id = out.stdout.split()
    private = tmp_path / "private"
    assert _mode(private) == 0o700
    assert _mode(private / "runs" / private_id / "run.tlog") == 0o600
    assert _mode(private / "runs" / private_id / "loss.json") == 0o600
    shared = tmp_path / "shared"
    assert _mode(shared) == 0o755
    assert _mode(shared / "runs" / shared_id / "run.tlog") == 0o644


def test_secret_arguments_are_redacted_in_the_log_and_the_store(tracklet_env, tmp_path):
    script = tmp_path / "train.py"
    script.write_text("import tracklet\nrun = tracklet.init(project='p')\nrun.log({'loss': 1.0})\nprint(run.id)\nrun.finish()\n")
    secrets = ["sk-live-0123456789abcdef", "hunter2-very-secret", "hf_ABCDEFGHIJKLMNOPQRSTUV", "pg-pass-xyz"]
    out = run_python(f"""
        import runpy, sys
        sys.argv = [{str(script)!r}, "--token={secrets[0]}", "--api-key", {secrets[1]!r}, "--lr", "0.1",
                    {secrets[2]!r}, "db.password={secrets[3]}"]
        runpy.run_path(sys.argv[0], run_name="__main__")
    """, env={"TRACKLET_WORKER": "off"})
    assert out.returncode == 0, out.stderr
    run = tracklet.Api().run(out.stdout.split()[-1])
    assert run.metadata["argv"][1:] == ["--token=***", "--api-key", "***", "--lr", "0.1", "***", "db.password=***"]
    tracklet.store.sql._engine.close_all()
    for path in (os.path.join(run.dir, "run.tlog"), tracklet_env / "tracklet.db"):
        with open(path, "rb") as f:
            data = f.read()
        assert not any(s.encode() in data for s in secrets), path
