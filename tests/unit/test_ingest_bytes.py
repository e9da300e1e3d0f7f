"""A run's log arriving as bytes (a server's batches): stored once, in any batching, resumable, refused on a gap."""

import os

import pytest

import tracklet
from tracklet._errors import SyncError
from tracklet.store.sql._engine import make_engine
from tracklet.store.sql._ingest import ingest_bytes
from tracklet.store.sql._store import SqlStore
from tracklet.wal._wal import WalReader

pytestmark = pytest.mark.unit


def _a_log(steps=500):
    run = tracklet.init(project="sent", mode="offline")
    for i in range(steps):
        run.log({"loss": 1.0 / (i + 1), "acc": i / steps})
    run.summary["best"] = 0.9
    run.finish()
    path = os.path.join(run.dir, "run.tlog")
    with open(path, "rb") as f:
        data = f.read()
    bounds = [end for *_, end in WalReader(path).scan(0)]
    return run, data, bounds


@pytest.fixture(params=["sqlite", "postgresql"])
def server_store(request, tmp_path):
    """A server's store: a SQLite file with no run folders beside it, or a PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'server' / 'tracklet.db'}"
    else:
        from tracklet.store.sql._migrate import migrate

        url = request.getfixturevalue("pg_url")
        migrate(url)
    engine = make_engine(url)
    yield engine
    engine.dispose()


def _read(engine, run_id):
    store = SqlStore(url=engine.url.render_as_string(hide_password=False))
    try:
        return [r["loss"] for r in store.history(run_id, keys=["loss"])], store.run(run_id)
    finally:
        store.close()


def test_batches_on_record_boundaries_store_every_point_once(server_store):
    run, data, bounds = _a_log()
    cuts = [0] + bounds[::37] + [len(data)]
    cuts = sorted(set(cuts))
    held = 0
    for a, b in zip(cuts, cuts[1:]):
        held = ingest_bytes(server_store, run.id, a, data[a:b], log_id=None)
        assert held == b
    for a, b in zip(cuts, cuts[1:]):  # every batch again: a replay adds nothing
        assert ingest_bytes(server_store, run.id, a, data[a:b]) == len(data)
    losses, row = _read(server_store, run.id)
    assert losses == [1.0 / (i + 1) for i in range(500)]
    assert row["state"] == "finished" and row["summary"]["best"] == 0.9 and row["stored_offset"] == len(data)


def test_a_batch_overlapping_what_is_held_stores_only_its_new_records(server_store):
    run, data, bounds = _a_log(100)
    mid = bounds[len(bounds) // 2]
    assert ingest_bytes(server_store, run.id, 0, data[:mid]) == mid
    assert ingest_bytes(server_store, run.id, 0, data) == len(data)
    assert len(_read(server_store, run.id)[0]) == 100


def test_a_gap_is_refused_with_where_to_send_from(server_store):
    run, data, bounds = _a_log(100)
    ingest_bytes(server_store, run.id, 0, data[: bounds[3]])
    with pytest.raises(SyncError, match=f"send from {bounds[3]}") as e:
        ingest_bytes(server_store, run.id, bounds[10], data[bounds[10]:])
    assert e.value.offset == bounds[3]


def test_another_log_under_the_same_id_is_refused(server_store):
    run, data, _ = _a_log(10)
    ingest_bytes(server_store, run.id, 0, data)
    other = tracklet.init(project="sent", mode="offline", id=run.id + "x")
    other.log({"loss": 5.0})
    other.finish()
    with open(os.path.join(other.dir, "run.tlog"), "rb") as f:
        theirs = f.read()
    with pytest.raises(SyncError, match="--new-id"):
        ingest_bytes(server_store, run.id, 0, theirs + b"", log_id="another-log")
    assert _read(server_store, run.id)[0] == [1.0 / (i + 1) for i in range(10)]
