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
