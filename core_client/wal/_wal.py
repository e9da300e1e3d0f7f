"""The write-ahead log: one append-only file per run, the queue between training and the store.

File: a 16-byte header (``MAGIC``, format version, reserved), then records:

    u32 length | u32 crc32(body) | body = u8 type | u64 seq | payload

``length`` counts the body. Integers are little-endian. ``docs/wal-format.md``
describes every record type; it is a stable format users may copy with rsync.
A reader stops cleanly at a torn last record (a process killed mid-write), and skips a
damaged record that whole records follow (``WalReader.skipped`` says which bytes).
"""

from __future__ import annotations

import errno
import io
import json
import os
import struct
import sys
import zlib

from ._logfile import open_for_append, open_log, set_aside

TYPE_CHECKING = False  # typing is not imported at run time: it costs ~4 ms of `import tracklet`
if TYPE_CHECKING:
    from typing import Any, Iterator

__all__ = [
    "HISTORY_RUN",
    "MAGIC",
    "HistoryRun",
    "UNNAMED_KEY",
    "Record",
    "RecordType",
    "WalReader",
    "WalWriter",
    "compact_dumps",
    "decode_history",
    "decode_system",
    "encode_json_records",
    "first_run_record",
    "identity_of_log",
    "log_identity",
    "new_log_id",
]

MAGIC = b"TRKLWAL\x00"
VERSION = 1
HEADER = struct.Struct("<8sII")
HEADER_SIZE = HEADER.size  # 16
PREFIX = struct.Struct("<II")  # length, crc
BODY_HEAD = struct.Struct("<BQ")  # type, seq
HIST_HEAD = struct.Struct("<qdI")  # step, wall time, number of scalars
SYS_HEAD = struct.Struct("<dI")  # wall time, number of values
PAIR = struct.Struct("<Id")  # key id, value
_U32 = struct.Struct("<I")
MAX_RECORD = 64 << 20
UNNAMED_KEY = "_unnamed/{}"  # a metric whose KEY record was in damaged bytes: its values are kept under this name
# What ``WalReader.scan(runs=True)`` yields for back-to-back HISTORY records of one shape: not a record type (those are u8)
HISTORY_RUN = 1 << 10
_RUN_MIN = 16  # records: a shorter run of one shape is read record by record
_RUN_PROBE = 64  # records looked at before the whole buffer is (a log whose shape keeps changing pays little)


class RecordType:
    """Record type codes. JSON payloads are UTF-8 objects; the rest are binary."""

    RUN = 1  # JSON: run identity and start (or resume) facts
    CONFIG = 2  # JSON: {"set": {...}} or {"replace": {...}}
    KEY = 3  # u32 key id, then the key's UTF-8 name
    HISTORY = 4  # binary: step, time, scalars by key id; optional JSON tail
    SUMMARY = 5  # JSON: {"set": {...}, "del": [...]} or {"replace": {...}}
    METRIC = 6  # JSON: a define_metric call
    OUTPUT = 7  # JSON: {"t": time, "stream": "stdout"|"stderr", "text": ...}
    SYSTEM = 8  # binary: time, values by key id
    ENVIRONMENT = 9  # JSON: host, git, packages, ...
    EXIT = 10  # JSON: {"t", "exit_code", "state", "error"}
    HEARTBEAT = 11  # JSON: {"t": time}, written when nothing else was for a while
    UPDATE = 12  # JSON: changed run attributes (name, tags, notes, group, job_type)
    ARTIFACT = 13  # JSON: an artifact version the run logged (manifest, aliases), its files already stored
    USE = 14  # JSON: an artifact version the run used as input
    LINK = 15  # JSON: a registry link (or alias change) the run made
    LOSS = 16  # JSON: records the writer had to drop (disk full): {"t", "records", "bytes", "error"}
    FILES = 17  # JSON: files run.save() copied into the run folder's files/
    ALERT = 18  # JSON: a run.alert()
    PREEMPTING = 19  # JSON: run.mark_preempting(): the run expects to be stopped and resumed
    MEDIA = 20  # JSON: rich values of one log() (tables, images, ...): key, step, kind, blob digest; blobs stored first
    TRACE = 21  # JSON, first in a trace log: project, pid, host, log_id
    CALL_START = 22  # JSON: an op call began: ids, op, inputs, attributes, run
    CALL_END = 23  # JSON: an op call ended: output or exception, usage, cost
    IMAGE = 24  # binary: images of one log() as pixels (u32 n, n bytes of JSON, the pixels); made PNG where the log is stored


class Record:
    """One decoded record; ``end`` is the file offset just past it."""

    __slots__ = ("end", "payload", "seq", "type")

    def __init__(self, type: int, seq: int, payload: bytes, end: int) -> None:
        self.type, self.seq, self.payload, self.end = type, seq, payload, end

    def __repr__(self) -> str:
        return f"Record(type={self.type}, seq={self.seq}, {len(self.payload)} bytes, end={self.end})"

    def json(self) -> Any:
        return json.loads(self.payload)


def _frame(body: bytes) -> bytes:
    return PREFIX.pack(len(body), zlib.crc32(body)) + body


def encode_json_records(first_seq: int, records: list[tuple[int, Any]]) -> bytes:
    """``records`` (type, JSON object) as the bytes a ``WalWriter`` would append, numbered from ``first_seq``.

    For a store that keeps no log file: it takes a log's bytes, so an edit is sent as them.
    """
    return b"".join(
        _frame(BODY_HEAD.pack(rtype, seq) + json_payload(obj))
        for seq, (rtype, obj) in enumerate(records, first_seq)
    )


_hist_structs: dict[int, struct.Struct] = {}


def _hist_struct(n: int) -> struct.Struct:
    s = _hist_structs.get(n)
    if s is None:
        s = _hist_structs[n] = struct.Struct("<BQqdI" + "Id" * n)
    return s


def compact_dumps(default: Any = None) -> Any:
    """``json.dumps(obj, separators=(",", ":"), default=default)`` with the C encoder made once: ``dumps``
    makes one at each call (a fifth of a MEDIA record's cost; half of a small traced value's). It does not
    look for cycles: a circular value raises RecursionError."""
    from json.encoder import c_make_encoder, encode_basestring_ascii

    if default is None:

        def default(o: Any) -> Any:
            raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")  # json.dumps' own words

    if c_make_encoder is None:
        return json.JSONEncoder(separators=(",", ":"), default=default).encode
    encoder = c_make_encoder(None, default, encode_basestring_ascii, None, ":", ",", False, False, True)
    join = "".join
    return lambda obj: join(encoder(obj, 0))


_compact = compact_dumps()


def json_payload(obj: Any) -> bytes:
    """A JSON record's payload, as every writer of JSON records encodes it."""
    try:
        return _compact(obj).encode()
    except RecursionError:  # a cycle: json.dumps says "Circular reference detected"
        return json.dumps(obj, separators=(",", ":"), allow_nan=True).encode()


_WRITEV = hasattr(os, "writev")  # not on Windows: the parts are joined there
_MAX_PARTS = 512  # buffers in one writev (POSIX guarantees 16, Linux and macOS take 1024); more are joined


def _joined(data: bytes | list) -> bytes:
    return b"".join(data) if type(data) is list else data


class WalWriter:
    """Appends records to one run's log; each append reaches the OS before it returns.

    Not thread-safe: the run serialises calls. A failed write (disk full) keeps the
    record in a bounded memory queue and retries on the next append.
    """

    MAX_PENDING = 64 << 20  # bytes of records kept in memory while the disk takes none; beyond, the oldest go

    def __init__(
        self, path: str, next_seq: int = 1, offset: int | None = None, mode: int = 0o600, exclusive: bool = False
    ) -> None:
        self.path = path
        self.seq = next_seq
        # a compressed log is made plain first; the lock keeps the store's worker from compressing it meanwhile
        fd = open_for_append(path, mode, exclusive)
        self._fd = fd
        size = os.fstat(fd).st_size
        if offset is not None and offset < size:
            set_aside(path, offset, size)  # never destroy bytes: a torn tail goes to a file beside the log
            os.ftruncate(fd, offset)
            size = offset
        if size == 0:
            os.write(fd, HEADER.pack(MAGIC, VERSION, 0))
            size = HEADER_SIZE
        self.offset = size
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self.dropped = 0  # records dropped from the memory queue (disk full for too long)
        self.dropped_bytes = 0
        self._reported = (0, 0)  # (records, bytes) of the drops already said in a LOSS record
        self.error: OSError | None = None

    # -- appends -------------------------------------------------------------------
    def append(self, rtype: int, payload: bytes) -> int:
        seq = self.seq
        self.seq = seq + 1
        self._write(_frame(BODY_HEAD.pack(rtype, seq) + payload))
        return seq

    def append_json(self, rtype: int, obj: Any) -> int:
        return self.append(rtype, json_payload(obj))

    def append_many(self, rtype: int, payloads: list[bytes]) -> None:
        """Append a record of ``rtype`` per payload in one write (a batch of MEDIA records: one system call)."""
        frames = []
        for payload in payloads:
            frames.append(_frame(BODY_HEAD.pack(rtype, self.seq) + payload))
            self.seq += 1
        if frames:
            self._write(b"".join(frames))

    def append_history(self, step: int, t: float, pairs: list, tail: bytes | None, then: tuple[int, list] | None = None) -> None:
        """Write a HISTORY record; ``pairs`` is a flat list ``[key_id, value, ...]``. ``then``: a record
        ``(type, payload as a list of byte buffers)`` written right after it, in the same system call
        (a step's images as pixels)."""
        seq = self.seq
        body = _hist_struct(len(pairs) >> 1).pack(RecordType.HISTORY, seq, step, t, len(pairs) >> 1, *pairs)
        self.seq = seq + 1  # after pack(): a value it refuses (an int beyond float64) uses up no seq
        if tail:
            body += tail
        data = PREFIX.pack(len(body), zlib.crc32(body)) + body
        if then is None:
            self._write(data)
            return
        head, parts = BODY_HEAD.pack(then[0], seq + 1), then[1]  # parts: buffers, never joined (pixels are not copied)
        crc = zlib.crc32(head)
        for part in parts:
            crc = zlib.crc32(part, crc)
        self.seq = seq + 2
        self._write([data, PREFIX.pack(len(head) + sum(map(len, parts)), crc), head, *parts])

    def append_key(self, key_id: int, name: str) -> None:
        self.append(RecordType.KEY, struct.pack("<I", key_id) + name.encode())

    def append_system(self, t: float, pairs: list) -> None:
        payload = SYS_HEAD.pack(t, len(pairs) >> 1) + struct.pack("<" + "Id" * (len(pairs) >> 1), *pairs)
        self.append(RecordType.SYSTEM, payload)

    # -- the one place bytes meet the file -----------------------------------------------
    def _write(self, data: bytes | list) -> None:
        """Write ``data``, whole records: bytes, or a list of buffers written as one (``os.writev``: not copied first)."""
        if type(data) is list and (not _WRITEV or len(data) > _MAX_PARTS):
            data = b"".join(data)
        if self._pending and not self._flush_pending():
            self._queue(_joined(data))
            return
        size = sum(map(len, data)) if type(data) is list else len(data)
        try:
            n = os.writev(self._fd, data) if type(data) is list else os.write(self._fd, data)
        except OSError as e:
            self.error = e
            self._queue(_joined(data))
            return
        if n != size:  # a short write (disk full): never leave half a record
            self._short_write(n, size)
            self._queue(_joined(data))
            return
        self.offset += n
        if self.dropped != self._reported[0]:
            self._report_drops()

    def _short_write(self, wrote: int, wanted: int) -> None:
        self.error = OSError(errno.ENOSPC, f"only {wrote} of {wanted} bytes could be written (disk full?)")
        try:
            os.ftruncate(self._fd, self.offset)
        except OSError:
            pass

    def _queue(self, data: bytes) -> None:
        self._pending.append(data)
        self._pending_bytes += len(data)
        while self._pending_bytes > self.MAX_PENDING:
            lost = len(self._pending.pop(0))
            self._pending_bytes -= lost
            self.dropped += 1
            self.dropped_bytes += lost

    def _flush_pending(self) -> bool:
        while self._pending:
            data = self._pending[0]
            try:
                n = os.write(self._fd, data)
            except OSError as e:
                self.error = e
                return False
            if n != len(data):
                self._short_write(n, len(data))
                return False
            self.offset += n
            self._pending.pop(0)
            self._pending_bytes -= len(data)
        self.error = None
        return True

    def _report_drops(self) -> None:
        """Say in the log itself how much was dropped, once the disk takes records again."""
        records, nbytes = self.dropped - self._reported[0], self.dropped_bytes - self._reported[1]
        self._reported = (self.dropped, self.dropped_bytes)
        import time

        body = {"t": time.time(), "records": records, "bytes": nbytes, "error": "the disk was full (or not writable) for too long"}
        self.append_json(RecordType.LOSS, body)

    @property
    def pending_bytes(self) -> int:
        return self._pending_bytes

    def unwritten(self) -> tuple[int, int]:
        """Records (and their bytes) that never reached the file: dropped and not yet said in a LOSS record, or still queued."""
        return (
            self.dropped - self._reported[0] + len(self._pending),
            self.dropped_bytes - self._reported[1] + self._pending_bytes,
        )

    def flush(self) -> bool:
        """Retry queued records; True when nothing is left in memory."""
        if not self._flush_pending():
            return False
        if self.dropped != self._reported[0]:
            self._report_drops()
        return not self._pending

    def sync(self) -> None:
        try:
            os.fsync(self._fd)
        except OSError:
            pass

    def close(self) -> None:
        self._flush_pending()
        try:
            os.close(self._fd)
        except OSError:
            pass


class WalReader:
    """Reads records from a log, from any record boundary.

    It stops at a torn tail (the bytes end inside a record: a writer killed mid-write, or
    writing now) and skips damaged bytes that whole records follow; ``skipped`` lists the
    ``(start, end)`` offsets skipped by the last scan.
    """

    def __init__(self, path: str, window: "_Window | None" = None) -> None:
        self.path = path
        self.skipped: list[tuple[int, int]] = []
        self._kept: Any = None  # the open file between scans, inside ``with WalReader(...)``
        self._keep = False
        self._window = window

    @classmethod
    def over_bytes(cls, data: bytes, base: int, label: str) -> "WalReader":
        """A reader of ``data``, the bytes of a log from offset ``base`` (a batch sent to a server); offsets stay the log's."""
        return cls(label, _Window(data, base))

    def __enter__(self) -> "WalReader":
        self._keep = True  # a compressed log is read on from where the last scan stopped, not from its start
        return self

    def __exit__(self, *exc: object) -> None:
        self._keep = False
        if self._kept is not None:
            self._kept.close()
            self._kept = None

    def _open(self) -> Any:
        if self._window is not None:
            return self._window
        if self._kept is not None:
            return self._kept
        f = open_log(self.path)
        if self._keep:
            self._kept = f
        return f

    def check_header(self) -> None:
        if self._window is not None:
            self._window.seek(0)
        with self._window or open_log(self.path) as f:
            try:
                head = f.read(HEADER_SIZE)
            except (OSError, EOFError, zlib.error) as e:
                if isinstance(f, io.BufferedReader):
                    raise
                raise self._damaged_copy(e) from None
        if len(head) < HEADER_SIZE:
            raise ValueError(f"{self.path} is too short to be a tracklet log ({len(head)} bytes)")
        magic, version, _ = HEADER.unpack(head)
        if magic != MAGIC:
            raise ValueError(f"{self.path} is not a tracklet log (bad magic {magic!r})")
        if version > VERSION:
            raise ValueError(
                f"{self.path} uses log format {version}, newer than this tracklet reads ({VERSION}). "
                "Upgrade tracklet: pip install -U tracklet"
            )

    def scan(
        self, offset: int = 0, limit_bytes: int | None = None, after_seq: int = 0, runs: bool = False
    ) -> Iterator[tuple[int, int, Any, int, int, int]]:
        """Yield ``(type, seq, buf, start, stop, end)`` per record without copying payloads.

        The payload is ``buf[start:stop]``; ``end`` is the file offset past the record.
        ``after_seq`` is the sequence number of the record before ``offset``, when known: a
        record found past damaged bytes must come after it.

        With ``runs``, back-to-back intact HISTORY records of one shape (the same keys, no JSON
        tail: what a training loop writes) come as one item, ``(HISTORY_RUN, last seq,
        HistoryRun, 0, count, end)``, decoded a column at a time (see ``_history_run``).
        """
        self.skipped = []
        if offset < HEADER_SIZE:
            self.check_header()
            offset = HEADER_SIZE
        unpack_prefix = PREFIX.unpack_from
        unpack_head = BODY_HEAD.unpack_from
        unpack_n = _U32.unpack_from
        crc32 = zlib.crc32
        last_seq = after_seq
        f = self._open()
        try:
            f.seek(offset)
            buf = f.read(1 << 16 if limit_bytes is not None and limit_bytes < 1 << 16 else 1 << 22)
            pos = 0
            base = offset  # file offset of buf[0]
            done = 0
            probe_at = 0  # position in buf from which a HISTORY record may start a run
            while True:
                if len(buf) - pos < 8:
                    more = f.read(1 << 22)
                    if more:
                        buf, base, pos, probe_at = buf[pos:] + more, base + pos, 0, 0
                        continue
                    if len(buf) == pos:
                        return
                    bad = True  # a few bytes at the end: a torn tail, unless records follow (they cannot)
                else:
                    length, crc = unpack_prefix(buf, pos)
                    end = pos + 8 + length
                    bad = length < 9 or length > MAX_RECORD
                    if not bad and end > len(buf):
                        more = f.read(max(1 << 22, end - len(buf)))
                        if more:
                            buf, base, pos, probe_at = buf[pos:] + more, base + pos, 0, 0
                            continue
                        bad = True  # the bytes end inside this record
                    if not bad and crc32(memoryview(buf)[pos + 8 : end]) != crc:
                        bad = True
                if bad:
                    start = base + pos
                    found = _next_record(f, start + 1, last_seq)
                    if found is None:
                        return  # a torn tail: the writer died mid-record, or is writing it now
                    self.skipped.append((start, found))  # damaged bytes with whole records after them
                    f.seek(found)
                    buf, base, pos, probe_at = f.read(1 << 22), found, 0, 0
                    continue
                rtype, seq = unpack_head(buf, pos + 8)
                # 37 + 12 n bytes: a HISTORY record of n scalars without a JSON tail
                if runs and rtype == RecordType.HISTORY and pos >= probe_at and (length - 29) % 12 == 0 and unpack_n(buf, pos + 33)[0] * 12 + 29 == length:
                    most = len(buf) - pos if limit_bytes is None else min(len(buf) - pos, limit_bytes - done + length + 7)
                    count, seq, run = _history_run(buf, pos, length + 8, most // (length + 8))
                    if count:
                        stop = pos + count * (end - pos)
                        last_seq = seq
                        yield HISTORY_RUN, seq, run, 0, count, base + stop
                        done += stop - pos
                        pos = stop
                        if limit_bytes is not None and done >= limit_bytes:
                            return
                        continue
                    probe_at = pos + _RUN_MIN * (end - pos)  # no run starts here: look again a few records on
                last_seq = seq
                yield rtype, seq, buf, pos + 17, end, base + end
                done += end - pos
                pos = end
                if limit_bytes is not None and done >= limit_bytes:
                    return
        except (OSError, EOFError, zlib.error) as e:
            if isinstance(f, io.BufferedReader):
                raise
            raise self._damaged_copy(e) from None
        finally:
            if f is not self._kept:
                f.close()

    def _damaged_copy(self, error: Exception) -> ValueError:
        from ._logfile import COMPRESSED

        return ValueError(
            f"{self.path}{COMPRESSED} is damaged ({error}): the compressed copy of this run's log cannot be read "
            "past this point. Restore it from a backup, or keep it aside and `tracklet doctor --rebuild` without it."
        )

    def records(self, offset: int = 0, limit_bytes: int | None = None) -> Iterator[Record]:
        """Yield decoded records after ``offset`` (0 means the start); stop at the end or a torn tail."""
        for rtype, seq, buf, start, stop, end in self.scan(offset, limit_bytes):
            yield Record(rtype, seq, bytes(buf[start:stop]), end)

    def end_offset(self, offset: int = 0) -> int:
        """Offset just past the last whole record (where a resumed writer appends)."""
        end = max(offset, HEADER_SIZE)
        for rec in self.records(offset):
            end = rec.end
        return end


class HistoryRun:
    """Back-to-back HISTORY records of one shape and the same keys, by column (``WalReader.scan(runs=True)``).

    ``values[j]`` are the values of key ``keys[j]``, one per record, in log order, as are ``steps`` and ``times``.
    """

    __slots__ = ("keys", "steps", "times", "values")

    def __init__(self, keys: tuple[int, ...], steps: list[int], times: list[float], values: list[list[float]]) -> None:
        self.keys, self.steps, self.times, self.values = keys, steps, times, values


_RUNS_OK = sys.byteorder == "little"  # columns are read as native numbers (the log is little-endian)


def _column(buf: bytes, first: int, stop: int, size: int, width: int, count: int, fmt: str) -> list:
    """The field of ``width`` bytes at ``first``, ``first + size``, ... (below ``stop``) of ``count`` records, as numbers."""
    out = bytearray(width * count)
    for b in range(width):
        out[b::width] = buf[first + b : stop : size]
    return memoryview(out).cast(fmt).tolist()


def _history_run(buf: bytes, pos: int, size: int, most: int) -> tuple[int, int, HistoryRun | None]:
    """Decode the HISTORY records of ``size`` bytes each that start at ``buf[pos]``, as many as are intact in a row.

    Returns ``(count, last seq, run)``; ``(0, 0, None)`` when fewer than ``_RUN_MIN`` records
    qualify. No object is made per record: the length, type, scalar count and key ids of
    every record are compared as strided slices of ``buf``, the numbers are read a column at a
    time, and only the CRC check calls a function per record.
    """
    count = min((len(buf) - pos) // size, most)
    if count < _RUN_MIN or not _RUNS_OK:
        return 0, 0, None
    n = (size - 37) // 12
    same_at = (0, 1, 2, 3, 8, 33, 34, 35, 36) + tuple(37 + 12 * j + b for j in range(n) for b in range(4))
    for window in (min(count, _RUN_PROBE), count):
        stop = pos + window * size
        same = window
        for at in same_at:  # the length, the type, the scalar count and the key ids, byte by byte
            col = buf[pos + at : stop : size]
            same = min(same, len(col) - len(col.lstrip(col[:1])))
            if same < _RUN_MIN:
                return 0, 0, None
        if same < window:
            count = same
            break
    keys = struct.unpack_from("<" + "I8x" * n, buf, pos + 37)
    if len(set(keys)) != n:
        return 0, 0, None  # a key twice in one record: not what a writer makes; read it record by record
    stop = pos + count * size
    view = memoryview(buf)
    crcs = list(map(zlib.crc32, map(view.__getitem__, map(slice, range(pos + 8, stop, size), range(pos + size, stop + size, size)))))
    stored = _column(buf, pos + 4, stop, size, 4, count, "I")
    if crcs != stored:  # damage inside the run: keep the intact records before it; the reader deals with the rest
        count = next(i for i, (a, b) in enumerate(zip(crcs, stored)) if a != b)
        if count < _RUN_MIN:
            return 0, 0, None
        stop = pos + count * size
    (seq,) = struct.unpack_from("<Q", buf, stop - size + 9)
    run = HistoryRun(
        keys,
        _column(buf, pos + 17, stop, size, 8, count, "q"),
        _column(buf, pos + 25, stop, size, 8, count, "d"),
        [_column(buf, pos + 41 + 12 * j, stop, size, 8, count, "d") for j in range(n)],
    )
    return count, seq, run


_WINDOW = 1 << 20


def _next_record(f: Any, start: int, after_seq: int) -> int | None:
    """The offset of the first whole, intact record at or after ``start`` (None: none follows).

    A candidate needs a sane length that fits in the file, a known-looking type, a sequence
    number after ``after_seq``, and its CRC. Damage is rare and short (a record or a few), so a
    look at every offset costs little; a torn tail is at most one record long.
    """
    if not isinstance(f, io.BufferedReader):
        return None  # a compressed log: it was read back and compared when it was made
    size = os.fstat(f.fileno()).st_size
    unpack_prefix = PREFIX.unpack_from
    unpack_head = BODY_HEAD.unpack_from
    pos = start
    while pos + 17 <= size:
        f.seek(pos)
        window = f.read(_WINDOW + 16)
        last = min(len(window) - 17, _WINDOW - 1)
        for i in range(last + 1):
            length, crc = unpack_prefix(window, i)
            if length < 9 or length > MAX_RECORD or pos + i + 8 + length > size:
                continue
            rtype, seq = unpack_head(window, i + 8)
            if not (0 < rtype < 128 and after_seq < seq <= after_seq + (1 << 40)):
                continue
            if i + 8 + length <= len(window):
                body = window[i + 8 : i + 8 + length]
            else:
                f.seek(pos + i + 8)
                body = f.read(length)
            if zlib.crc32(body) == crc:
                return pos + i
        pos += last + 1
    return None


class _Window:
    """The part of a file that ``WalReader`` needs (seek, read), over bytes that start at offset ``base`` of a log."""

    def __init__(self, data: bytes, base: int) -> None:
        self._data, self._base, self._pos = data, base, base

    def seek(self, pos: int) -> None:
        if pos < self._base:
            raise ValueError(f"offset {pos} is before the bytes at hand (from {self._base})")
        self._pos = pos

    def read(self, n: int = -1) -> bytes:
        start = self._pos - self._base
        chunk = self._data[start:] if n < 0 else self._data[start : start + n]
        self._pos += len(chunk)
        return bytes(chunk)

    def close(self) -> None:
        pass

    def __enter__(self) -> "_Window":
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def first_run_record(path: str) -> dict[str, Any] | None:
    """The first RUN record of a log (who, where, which mode), or None if it is not written yet."""
    for rec in WalReader(path).records(0, limit_bytes=1):
        return rec.json() if rec.type == RecordType.RUN else None
    return None


def new_log_id() -> str:
    """A fresh log identity, written in a log's first RUN record (``log_id``)."""
    return os.urandom(12).hex()


def log_identity(run_record: dict[str, Any]) -> str:
    """Which log this is, from its first RUN record: two logs of one run id from two machines differ.

    Logs written before log ids existed get one derived from their first record's facts.
    """
    given = run_record.get("log_id")
    if given:
        return str(given)
    facts = json.dumps([run_record.get(k) for k in ("run_id", "created_at", "t", "host", "pid")])
    return f"legacy-{zlib.crc32(facts.encode()):08x}"


def identity_of_log(path: str) -> str | None:
    """``log_identity`` of the log at ``path``; None when it cannot be read or has no RUN record yet."""
    try:
        first = first_run_record(path)
    except (OSError, ValueError):
        return None
    return log_identity(first) if first else None


def decode_history(payload: bytes) -> tuple[int, float, list[tuple[int, float]], dict[int, Any] | None]:
    """Split a HISTORY payload into step, time, scalar pairs and non-scalar values by key id."""
    step, t, n = HIST_HEAD.unpack_from(payload)
    off = HIST_HEAD.size
    flat = struct.unpack_from("<" + "Id" * n, payload, off)
    pairs = list(zip(flat[0::2], flat[1::2]))
    off += n * PAIR.size
    tail = None
    if off < len(payload):
        tail = {int(k): v for k, v in json.loads(payload[off:]).items()}
    return step, t, pairs, tail


def decode_system(payload: bytes) -> tuple[float, list[tuple[int, float]]]:
    t, n = SYS_HEAD.unpack_from(payload)
    flat = struct.unpack_from("<" + "Id" * n, payload, SYS_HEAD.size)
    return t, list(zip(flat[0::2], flat[1::2]))


def decode_key(payload: bytes) -> tuple[int, str]:
    (kid,) = struct.unpack_from("<I", payload)
    return kid, payload[4:].decode()
