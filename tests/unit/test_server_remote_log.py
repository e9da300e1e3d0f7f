"""A run's log arriving in batches (store/sql/_remote_log.py): checked whole, appended once, stored."""

from __future__ import annotations

import os
import threading

import pytest

from server_client import earlier_garbage_collected, logged_run  # noqa: F401 (a fixture)
from tracklet._errors import SyncError, UsageError
from tracklet.store.sql._engine import open_local
from tracklet.store.sql._remote_log import append_log, check_batch, log_position
from tracklet.wal._wal import HEADER_SIZE

pytestmark = pytest.mark.unit


def _boundaries(data: bytes) -> list[int]:
    return check_batch(data, 0)


@pytest.fixture
def sent(tmp_path):
    run_id, data = logged_run(str(tmp_path / "src"))
    root = str(tmp_path / "dst")
    os.makedirs(root)
    return run_id, data, root, open_local(root)


def test_batches_and_replays_store_each_record_once(sent):
    run_id, data, root, engine = sent
    cut = _boundaries(data)[len(_boundaries(data)) // 2]
    assert append_log(engine, root, run_id, 0, data[:cut]) == cut
    assert append_log(engine, root, run_id, 0, data[:cut]) == cut  # a replay adds nothing
    assert append_log(engine, root, run_id, HEADER_SIZE, data[HEADER_SIZE:]) == len(data)  # overlaps what is held
    assert append_log(engine, root, run_id, cut, data[cut:]) == len(data)
    with open(os.path.join(root, "runs", run_id, "run.tlog"), "rb") as f:
        assert f.read() == data
    assert log_position(engine, root, run_id)["offset"] == len(data)
    from tracklet.store.sql._store import SqlStore

    rows = list(SqlStore(root).history(run_id, ["loss"]))
    assert [r["_step"] for r in rows] == list(range(20))


def test_a_gap_a_torn_batch_and_bad_bytes_are_refused_and_nothing_is_written(sent):
    run_id, data, root, engine = sent
    cut = _boundaries(data)[3]
    with pytest.raises(SyncError) as gap:
        append_log(engine, root, run_id, cut, data[cut:])
    assert gap.value.offset == 0
    assert not os.path.exists(os.path.join(root, "runs", run_id))
    with pytest.raises(UsageError, match="inside a record"):
        append_log(engine, root, run_id, 0, data[: cut + 5])
    damaged = bytearray(data[:cut])
    damaged[cut - 2] ^= 0xFF
    with pytest.raises(UsageError, match="CRC"):
        append_log(engine, root, run_id, 0, bytes(damaged))
    with pytest.raises(UsageError, match="not a tracklet log"):
        append_log(engine, root, run_id, 0, b"x" * 100)
    assert log_position(engine, root, run_id) == {"offset": 0, "log_id": None}


def test_another_log_under_the_same_run_id_is_refused_with_new_id(sent, tmp_path):
    run_id, data, root, engine = sent
    append_log(engine, root, run_id, 0, data)
    _, other = logged_run(str(tmp_path / "other"), id=run_id)
    with pytest.raises(SyncError, match="--new-id"):
        append_log(engine, root, run_id, 0, other)
    with open(os.path.join(root, "runs", run_id, "run.tlog"), "rb") as f:
        assert f.read() == data


def test_concurrent_batches_of_one_run_never_interleave(sent):
    run_id, data, root, engine = sent
    bounds = _boundaries(data)
    cuts = [0, bounds[len(bounds) // 3], bounds[2 * len(bounds) // 3], len(data)]
    errors = []

    def send(i: int) -> None:
        for _ in range(20):  # every thread sends every batch it can, in order, racing the others
            try:
                for a, b in zip(cuts, cuts[1:]):
                    append_log(engine, root, run_id, a, data[a:b])
                return
            except SyncError:
                continue
            except Exception as e:  # noqa: BLE001
                errors.append(e)
                return

    threads = [threading.Thread(target=send, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with open(os.path.join(root, "runs", run_id, "run.tlog"), "rb") as f:
        assert f.read() == data


def test_run_ids_that_leave_the_store_are_refused(sent):
    _, data, root, engine = sent
    for bad in ("../x", "..", "/etc", "a/b", ".hidden", ""):
        with pytest.raises(UsageError):
            append_log(engine, root, bad, 0, data)


def _remote_log(path: str, run_id: str, steps: int) -> "object":
    from tracklet.wal._wal import RecordType, WalWriter, new_log_id

    os.makedirs(os.path.dirname(path), exist_ok=True)
    w = WalWriter(path)
    w.append_json(RecordType.RUN, {"run_id": run_id, "project": "p", "name": run_id, "mode": "remote", "created_at": 1.0,
                                   "t": 1.0, "host": "elsewhere", "pid": 1, "log_id": new_log_id()})
    w.append_key(1, "loss")
    for s in range(steps):
        w.append_history(s, 1.0, [1, float(s)], None)
    return w


def test_a_tail_a_killed_server_kept_but_never_stored_is_stored_by_the_next_server(tmp_path):
    """A server stores each batch of a run that arrives over HTTP itself, so its reads skip catching those
    runs up, except on a store's first read: what a SIGKILL left written but unstored is stored then."""
    from tracklet.store.sql._store import SqlStore
    from tracklet.wal._wal import RecordType

    src, root = str(tmp_path / "src.tlog"), str(tmp_path / "dst")
    os.makedirs(root)
    w = _remote_log(src, "r1", 10)
    with open(src, "rb") as f:
        first = f.read()
    engine = open_local(root)
    assert append_log(engine, root, "r1", 0, first) == len(first)
    for s in range(10, 15):
        w.append_history(s, 1.0, [1, float(s)], None)
    w.append_json(RecordType.EXIT, {"t": 2.0, "exit_code": 0, "state": "finished", "error": None})
    with open(src, "rb") as f:
        tail = f.read()[len(first):]
    held = os.path.join(root, "runs", "r1", "run.tlog")
    with open(held, "ab") as f:  # written (fsync'd) by a server that was killed before it stored them
        f.write(tail)
    store = SqlStore(root)
    assert store.run("r1")["stored_offset"] == len(first) + len(tail)  # the first read caught it up
    assert [r["_step"] for r in store.history("r1", ["loss"])] == list(range(15))
    assert store.run("r1")["state"] == "finished"
