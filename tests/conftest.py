"""Fixtures for every tier: each test gets its own store folder and a clean TRACKLET_* / WANDB_* environment."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))


def pytest_configure(config):
    """With the oldest s3fs (2024.3.1, constraints-oldest.txt) a collected S3 filesystem's finalizer, called
    outside its loop's thread, makes a new event loop (``asyncio.get_event_loop()`` in the collecting thread),
    queues its close there and never runs or closes it: the loop and its AF_UNIX self-pipe warn in whichever
    later test collects them (beside the two warnings pyproject.toml ignores for every version). Ignored
    there only: newer s3fs does not do this."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        oldest = version("s3fs").startswith("2024.3.")
    except PackageNotFoundError:
        return
    if oldest:  # added after pyproject's "error": they take precedence
        for message in (r"<socket.socket fd=\d+, family=1", "<function BaseEventLoop.__del__"):
            config.addinivalue_line("filterwarnings", f"ignore:Exception ignored in. {message}:pytest.PytestUnraisableExceptionWarning")


def pytest_collection_modifyitems(items):
    """Mark each test with its tier, from the folder it lives in."""
    for item in items:
        parts = item.path.parts
        for tier in ("unit", "integration", "e2e"):
            if tier in parts:
                item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(autouse=True)
def tracklet_env(tmp_path, monkeypatch, request):
    """Point TRACKLET_DIR at a temp folder, clear other TRACKLET_* and WANDB_* variables, end any run left open."""
    for name in list(os.environ):
        if name.startswith(("TRACKLET_", "WANDB_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # anything a test writes to the working folder lands in its temp folder
    store = tmp_path / "store"
    monkeypatch.setenv("TRACKLET_DIR", str(store))
    monkeypatch.setenv("TRACKLET_SILENT", "true")
    monkeypatch.setenv("TRACKLET_SYSTEM_INTERVAL", "0")
    monkeypatch.setenv("TRACKLET_CONFIG_FILE", str(tmp_path / "no-settings.ini"))
    monkeypatch.setenv("TRACKLET_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))  # a developer's `tracklet login` stays out
    if request.node.get_closest_marker("unit"):
        monkeypatch.setenv("TRACKLET_WORKER", "off")  # readers catch up from the WAL; no process per test
    yield store
    import tracklet
    from tracklet.tracking import _init

    if _init._current is not None:
        tracklet.finish()
    if "tracklet.store.sql._engine" in sys.modules:
        sys.modules["tracklet.store.sql._engine"].close_all()


@pytest.fixture(scope="session")
def pg_cluster():
    """A private PostgreSQL cluster for the whole session (tests/_postgres.py); skipped only where PostgreSQL is not installed."""
    from _postgres import PgCluster, find_bin_dir

    required = os.environ.get("TRACKLET_TEST_REQUIRE_POSTGRES") == "1"  # set by .ci/run: there they must run
    if find_bin_dir() is None:
        (pytest.fail if required else pytest.skip)(
            "PostgreSQL is not installed (no initdb/pg_ctl): apt-get install -y postgresql (.ci/run does)"
        )
    pytest.importorskip("psycopg", reason="the postgres extra is not installed: pip install -e '.[postgres]'")
    with PgCluster() as cluster:
        yield cluster


@pytest.fixture
def pg_url(pg_cluster):
    """The SQLAlchemy URL of a new, empty PostgreSQL database for this test."""
    return pg_cluster.create_database()
