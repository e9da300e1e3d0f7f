"""Framework tests: real frameworks and tiny models, one thread, in one pytest process (imports once)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    """One torch thread (two threads on this 2-core box make a 1 s run take up to 23 s), no ingest worker."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("TRACKLET_WORKER", "off")  # readers catch up from the write-ahead log
    monkeypatch.setenv("TRACKLET_CONSOLE", "off")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    torch.set_num_threads(1)
    yield


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """Run in a temp folder: frameworks write output_dir / lightning_logs relative to it."""
    path = tmp_path / "work"
    path.mkdir()
    monkeypatch.chdir(path)
    return path
