"""The write-ahead log: round trips, torn tails, corruption, resumption, and a full disk."""

import os
import struct
import subprocess
import sys
import textwrap

import pytest

from tracklet.wal._wal import HEADER_SIZE, RecordType, WalReader, WalWriter, decode_history, decode_key


def write_sample(path, n=5):
    w = WalWriter(str(path))
    w.append_json(RecordType.RUN, {"run_id": "r1"})
    w.append_key(1, "loss")
    for i in range(n):
        w.append_history(i, 1000.0 + i, [1, 0.5 * i], None)
    w.close()
    return w


def test_round_trip(tmp_path):
    path = tmp_path / "run.tlog"
    write_sample(path)
    recs = list(WalReader(str(path)).records())
    assert [r.type for r in recs] == [RecordType.RUN, RecordType.KEY] + [RecordType.HISTORY] * 5
    assert [r.seq for r in recs] == list(range(1, 8))
    assert recs[0].json() == {"run_id": "r1"}
    assert decode_key(recs[1].payload) == (1, "loss")
    step, t, pairs, tail = decode_history(recs[-1].payload)
    assert (step, t, pairs, tail) == (4, 1004.0, [(1, 2.0)], None)
    assert recs[-1].end == os.path.getsize(path)


def test_history_tail_carries_non_scalars(tmp_path):
    w = WalWriter(str(tmp_path / "w"))
    w.append_history(3, 1.0, [1, 2.0], b'{"2":"hello"}')
    w.close()
    (rec,) = WalReader(str(tmp_path / "w")).records()
    assert decode_history(rec.payload) == (3, 1.0, [(1, 2.0)], {2: "hello"})


def test_reader_stops_cleanly_at_every_possible_torn_tail(tmp_path):
    path = tmp_path / "run.tlog"
    write_sample(path, n=3)
    data = path.read_bytes()
    ends = [r.end for r in WalReader(str(path)).records()]
    for cut in range(HEADER_SIZE, len(data)):
        path.write_bytes(data[:cut])
        got = [r.end for r in WalReader(str(path)).records()]
        assert got == [e for e in ends if e <= cut]


def test_reader_skips_a_damaged_record_that_whole_records_follow(tmp_path):
    path = tmp_path / "run.tlog"
    write_sample(path, n=5)
    recs = list(WalReader(str(path)).records())
    data = bytearray(path.read_bytes())
    data[recs[2].end - 3] ^= 0xFF  # flip a byte inside the third record
    path.write_bytes(bytes(data))
    reader = WalReader(str(path))
    assert [r.seq for r in reader.records()] == [1, 2, 4, 5, 6, 7]
    assert reader.skipped == [(recs[1].end, recs[2].end)]


@pytest.mark.parametrize("where", ["length", "crc", "type", "payload"])
def test_every_kind_of_damage_in_the_middle_loses_only_the_damaged_record(tmp_path, where):
    path = tmp_path / "run.tlog"
    write_sample(path, n=20)
    recs = list(WalReader(str(path)).records())
    start = recs[9].end  # record seq 11
    offset = {"length": 1, "crc": 5, "type": 8, "payload": 20}[where]
    data = bytearray(path.read_bytes())
    data[start + offset] ^= 0x5A
    path.write_bytes(bytes(data))
    reader = WalReader(str(path))
    assert [r.seq for r in reader.records()] == [s for s in range(1, 23) if s != 11]
    assert reader.skipped == [(start, recs[10].end)]


def test_damage_and_a_torn_tail_in_one_log(tmp_path):
    path = tmp_path / "run.tlog"
    write_sample(path, n=6)
    recs = list(WalReader(str(path)).records())
    data = bytearray(path.read_bytes())
    data[recs[3].end + 12] ^= 0xFF  # damage record seq 5
    data += data[recs[4].end : recs[5].end][:-4]  # and half a record at the end
    path.write_bytes(bytes(data))
    reader = WalReader(str(path))
    got = list(reader.records())
    assert [r.seq for r in got] == [1, 2, 3, 4, 6, 7, 8]
    assert got[-1].end == recs[-1].end  # the torn tail is not read, nor counted as damage
    assert reader.skipped == [(recs[3].end, recs[4].end)]


def test_garbage_between_records_is_skipped_and_a_long_run_of_it_too(tmp_path):
    path = tmp_path / "run.tlog"
    write_sample(path, n=3)
    recs = list(WalReader(str(path)).records())
    data = path.read_bytes()
    cut = recs[2].end
    for garbage in (b"\x00" * 10, os.urandom(3_000_000)):
        path.write_bytes(data[:cut] + garbage + data[cut:])
        reader = WalReader(str(path))
        assert [r.seq for r in reader.records()] == [1, 2, 3, 4, 5]
        assert reader.skipped == [(cut, cut + len(garbage))]


def test_reader_resumes_from_any_record_boundary(tmp_path):
    path = tmp_path / "run.tlog"
    write_sample(path, n=4)
    recs = list(WalReader(str(path)).records())
    for i, r in enumerate(recs):
        assert [x.seq for x in WalReader(str(path)).records(r.end)] == [x.seq for x in recs[i + 1 :]]


def test_writer_moves_a_torn_tail_aside_before_appending(tmp_path):
    path = tmp_path / "run.tlog"
    write_sample(path, n=2)
    end = WalReader(str(path)).end_offset()
    with open(path, "ab") as f:
        f.write(b"\x40\x00\x00\x00garbage")  # half a record from a killed writer
    w = WalWriter(str(path), next_seq=5, offset=end)
    w.append_history(9, 2.0, [1, 1.0], None)
    w.close()
    recs = list(WalReader(str(path)).records())
    assert [r.seq for r in recs] == [1, 2, 3, 4, 5]
    assert (tmp_path / f"run.tlog.tail-{end}").read_bytes() == b"\x40\x00\x00\x00garbage"


def test_not_a_log(tmp_path):
    path = tmp_path / "x.tlog"
    path.write_bytes(b"hello world, this is not a log")
    with pytest.raises(ValueError, match="not a tracklet log"):
        list(WalReader(str(path)).records())


def test_newer_format_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "x.tlog"
    path.write_bytes(struct.pack("<8sII", b"TRKLWAL\x00", 99, 0))
    with pytest.raises(ValueError, match="pip install -U tracklet"):
        list(WalReader(str(path)).records())


def test_full_disk_keeps_records_in_memory_and_never_writes_half_a_record(tmp_path):
    # RLIMIT_FSIZE makes write(2) fail with EFBIG past the limit: a real full-disk path, in a child.
    path = tmp_path / "run.tlog"
    code = f"""
        import resource, signal
        from tracklet.wal._wal import WalWriter, RecordType
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        w = WalWriter({str(path)!r})
        for i in range(500):
            w.append_history(i, 1.0, [1, float(i)], None)
        print(w.pending_bytes > 0, w.error is not None, w.offset)
    """
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True)
    queued, errored, offset = out.stdout.split()
    assert queued == "True" and errored == "True"
    assert os.path.getsize(path) == int(offset) <= 4096
    recs = list(WalReader(str(path)).records())
    assert recs[-1].end == int(offset)  # the file ends on a whole record
    assert [decode_history(r.payload)[0] for r in recs] == list(range(len(recs)))


def test_a_step_with_images_on_a_full_disk_is_never_half_written_and_reaches_the_file_later(tmp_path):
    # RLIMIT_FSIZE: writev(2) writes part of a step's records, then fails; the writer truncates and queues them whole
    path = tmp_path / "run.tlog"
    code = f"""
        import resource, signal
        from tracklet.wal._wal import WalWriter, RecordType
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
        resource.setrlimit(resource.RLIMIT_FSIZE, (10000, hard))
        w = WalWriter({str(path)!r})
        for i in range(5):
            w.append_history(i, 1.0, [1, float(i)], None, (RecordType.IMAGE, [b"ab", memoryview(bytes([i]) * 3000)]))
        print(w.pending_bytes > 0, w.error is not None, w.offset)
        resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
        w.append_history(5, 1.0, [1, 5.0], None)
        print(w.pending_bytes, w.offset)
    """
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, check=True)
    first, second = out.stdout.splitlines()
    queued, errored, offset = first.split()
    assert queued == "True" and errored == "True" and int(offset) <= 10000
    pending, end = second.split()
    assert pending == "0" and os.path.getsize(path) == int(end)
    recs = list(WalReader(str(path)).records())
    assert [r.type for r in recs] == [RecordType.HISTORY, RecordType.IMAGE] * 5 + [RecordType.HISTORY]
    assert [r.payload for r in recs if r.type == RecordType.IMAGE] == [b"ab" + bytes([i]) * 3000 for i in range(5)]
