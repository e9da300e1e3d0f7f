"""Ingest's fast path: runs of HISTORY records of one shape, decoded by column, store what record-by-record reading would."""

from __future__ import annotations

import os
import sqlite3

import pytest

import tracklet
from tracklet.store.sql._engine import open_local
from tracklet.store.sql._ingest import ingest_run
from tracklet.wal._wal import HISTORY_RUN, RecordType, WalReader, WalWriter, decode_history


def _write_log(path: str) -> None:
    """A log whose HISTORY records change shape now and then, as a training loop's do."""
    w = WalWriter(path)
    w.append_json(RecordType.RUN, {"run_id": "r", "project": "p", "created_at": 1000.0, "t": 1000.0})
    for k, name in ((1, "loss"), (2, "acc"), (3, "lr")):
        w.append_key(k, name)
    step = 0
    for count, keys, tail in (
        (100, (1, 2, 3), None),
        (5, (1, 2), b'{"3":"text"}'),  # a JSON tail: record by record
        (40, (1, 2), None),  # another shape
        (3, (1, 2, 3), None),  # too short to be a run
        (50, (2, 1, 3), None),  # the same shape, the keys in other places
        (30, (1, 2, 3), None),
    ):
        for _ in range(count):
            pairs = [x for k in keys for x in (k, k * 0.5 + step * 1e-3)]
            w.append_history(step, 1000.0 + step * 0.0137, pairs, tail)
            step += 1
    for i in range(20):  # repeated steps: the last value of a (key, step) wins
        w.append_history(7, 1002.0 + i, [1, float(i), 2, -float(i), 3, 0.0], None)
    w.close()


def _points(reader: WalReader, runs: bool, **kw) -> tuple[list[tuple], list[int]]:
    """(key, step, t, value) in log order, and the end offset of every item the scan yielded."""
    out, ends = [], []
    for rt, seq, buf, start, stop, end in reader.scan(runs=runs, **kw):
        ends.append(end)
        if rt == HISTORY_RUN:
            out += [(k, s, t, v[i]) for i, (s, t) in enumerate(zip(buf.steps, buf.times)) for k, v in zip(buf.keys, buf.values)]
        elif rt == RecordType.HISTORY:
            step, t, pairs, _ = decode_history(bytes(buf[start:stop]))
            out += [(k, step, t, v) for k, v in pairs]
    return out, ends


def test_runs_yield_the_points_record_by_record_reading_does(tmp_path):
    path = str(tmp_path / "run.tlog")
    _write_log(path)
    plain, plain_ends = _points(WalReader(path), runs=False)
    fast, fast_ends = _points(WalReader(path), runs=True)
    assert fast == plain
    assert fast_ends[-1] == plain_ends[-1] == os.path.getsize(path)
    assert set(fast_ends) <= set(plain_ends)  # every item ends at a record boundary
    items = list(WalReader(path).scan(runs=True))
    runs = [(buf.keys, stop) for rt, _, buf, _, stop, _ in items if rt == HISTORY_RUN]
    assert runs[:2] == [((1, 2, 3), 100), ((1, 2), 40)]
    assert ((2, 1, 3), 50) in runs or ((2, 1, 3), 50 - 16 + 3) in runs  # looked for again a few records after a short run
    assert sum(count for _, count in runs) > 200  # of 248 HISTORY records
    seqs = [seq for _, seq, *_ in WalReader(path).scan()]
    assert [seq for _, seq, *_ in items][-1] == seqs[-1]  # a run carries its last record's seq


@pytest.mark.parametrize("limit", [1, 500, 3000, 7777])
def test_runs_keep_to_the_batch_limit(tmp_path, limit):
    path = str(tmp_path / "run.tlog")
    _write_log(path)
    plain = list(WalReader(path).scan(limit_bytes=limit))
    fast = list(WalReader(path).scan(limit_bytes=limit, runs=True))
    assert fast[-1][-1] == plain[-1][-1]  # the batch ends at the same record


def test_a_damaged_record_inside_a_run_costs_that_record_only(tmp_path):
    path = str(tmp_path / "run.tlog")
    _write_log(path)
    recs = list(WalReader(path).records())
    hist = [r for r in recs if r.type == RecordType.HISTORY]
    victim = hist[60]  # inside the first run of 100
    with open(path, "r+b") as f:
        f.seek(victim.end - 3)
        byte = f.read(1)
        f.seek(victim.end - 3)
        f.write(bytes([byte[0] ^ 0x40]))
    plain_reader, fast_reader = WalReader(path), WalReader(path)
    plain, _ = _points(plain_reader, runs=False)
    fast, _ = _points(fast_reader, runs=True)
    assert fast == plain
    assert fast_reader.skipped == plain_reader.skipped == [(hist[59].end, victim.end)]
    assert 60 not in {s for _, s, _, _ in fast if s < 100}


def test_a_torn_run_ends_at_its_last_whole_record(tmp_path):
    path = str(tmp_path / "run.tlog")
    _write_log(path)
    with open(path, "rb") as f:
        data = f.read()
    ends = [r.end for r in WalReader(path).records()]
    for cut in (len(data) - 1, ends[50] + 20, ends[120] + 1):
        with open(path, "wb") as f:
            f.write(data[:cut])
        fast, fast_ends = _points(WalReader(path), runs=True)
        assert fast == _points(WalReader(path), runs=False)[0]
        assert fast_ends[-1] == max(e for e in ends if e <= cut)


def _history(store) -> list[tuple]:
    with sqlite3.connect(os.path.join(store, "tracklet.db")) as db:
        return db.execute("SELECT run_pk, key_id, step, ts, value FROM history ORDER BY run_pk, key_id, step").fetchall()


def test_ingest_stores_what_the_log_says_and_a_replay_doubles_nothing(tracklet_env):
    store = str(tracklet_env)
    run_dir = os.path.join(store, "runs", "r")
    os.makedirs(run_dir)
    wal = os.path.join(run_dir, "run.tlog")
    _write_log(wal)
    engine = open_local(store)
    assert ingest_run(engine, wal, "r") > 0
    stored = _history(store)
    expected: dict[tuple[int, int], tuple[int, float]] = {}
    for rec in WalReader(wal).records():
        if rec.type == RecordType.HISTORY:
            step, t, pairs, _ = decode_history(rec.payload)
            for k, v in pairs:
                expected[(k, step)] = (int(t * 1000.0 - 1000.0 * 1000.0 + 0.5), v)  # the last of a repeated step wins
    assert stored == [(1, k, s, ms, v) for (k, s), (ms, v) in sorted(expected.items())]
    assert dict(tracklet.Api().run("r").summary)["loss"] == 19.0

    ends = [r.end for r in WalReader(wal).records()]
    seqs = [r.seq for r in WalReader(wal).records()]
    for i in (0, 60, 170):  # a retried batch from the log's start, from inside a run, from near its end
        with engine.begin() as conn:
            conn.exec_driver_sql(f"UPDATE runs SET wal_offset = {ends[i]}, wal_seq = {seqs[i]}")
        assert ingest_run(engine, wal, "r") == len(ends) - i - 1
        assert _history(store) == stored


def test_columns_make_rows_by_key_for_other_databases():
    from tracklet.store.sql._ingest import _Columns

    cols = _Columns((4, 2), [0, 1], [10, 20], [[0.5, 1.5], [2.5, 3.5]])
    assert cols.rows() == [(4, 0, 10, 0.5), (4, 1, 20, 1.5), (2, 0, 10, 2.5), (2, 1, 20, 3.5)]
