"""Waking the ingest worker: a byte into a named pipe in the user's runtime folder, or nothing."""

from __future__ import annotations

import os
import stat

from tracklet.store.sql import _spawn as _local


def test_waking_a_worker_never_fails_where_there_is_none(tmp_path, monkeypatch):
    _local.wake_worker(str(tmp_path))  # no worker, no pipe: nothing happens
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.delattr(os, "getuid", raising=False)  # as on Windows
    assert _local.wake_path(str(tmp_path), create=True) is None
    _local.wake_worker(str(tmp_path))


def test_the_pipe_lives_in_a_private_runtime_folder_never_in_the_store(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    (tmp_path / "run").mkdir(mode=0o700)
    path = _local.wake_path(str(tmp_path / "store"), create=True)
    assert path is not None and path.startswith(str(tmp_path / "run" / "tracklet") + os.sep)
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    assert path != _local.wake_path(str(tmp_path / "other-store"))  # one pipe per store
    os.chmod(os.path.dirname(path), 0o755)  # open to others: not trusted
    assert _local.wake_path(str(tmp_path / "store")) is None
