"""The write-ahead log: one append-only file per run, the queue between training and the store.

File: a 16-byte header (``MAGIC``, format version, reserved), then records:

    u32 length | u32 crc32(body) | body = u8 type | u64 seq | payload

``length`` counts the body. Integers are little-endian. ``docs/wal-format.md``
describes every record type; it is a stable format users may copy with rsync.
A reader stops cleanly at a torn last record (a process killed mid-write).
"""

from __future__ import annotations

import errno
import json
import os
import struct
import zlib
TYPE_CHECKING = False  # typing is not imported at run time: it costs ~4 ms of `import tracklet`
if TYPE_CHECKING:
    from typing import Any, Iterator

__all__ = [
    "MAGIC",
    "Record",
    "RecordType",
    "WalReader",
    "WalWriter",
    "decode_history",
    "decode_system",
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
MAX_RECORD = 64 << 20


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


_hist_structs: dict[int, struct.Struct] = {}


def _hist_struct(n: int) -> struct.Struct:
    s = _hist_structs.get(n)
    if s is None:
        s = _hist_structs[n] = struct.Struct("<BQqdI" + "Id" * n)
    return s


class WalWriter:
    """Appends records to one run's log; each append reaches the OS before it returns.

    Not thread-safe: the run serialises calls. A failed write (disk full) keeps the
    record in a bounded memory queue and retries on the next append.
    """

    def __init__(self, path: str, next_seq: int = 1, offset: int | None = None) -> None:
        self.path = path
        self.seq = next_seq
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0), 0o644)
        self._fd = fd
        size = os.fstat(fd).st_size
        if offset is not None and offset < size:
            os.ftruncate(fd, offset)  # drop a torn tail before appending after it
            size = offset
        if size == 0:
            os.write(fd, HEADER.pack(MAGIC, VERSION, 0))
            size = HEADER_SIZE
        self.offset = size
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self.dropped = 0
        self.error: OSError | None = None

    # -- appends -------------------------------------------------------------------
    def append(self, rtype: int, payload: bytes) -> int:
        seq = self.seq
        self.seq = seq + 1
        self._write(_frame(BODY_HEAD.pack(rtype, seq) + payload))
        return seq

    def append_json(self, rtype: int, obj: Any) -> int:
        return self.append(rtype, json.dumps(obj, separators=(",", ":"), allow_nan=True).encode())

    def append_history(self, step: int, t: float, pairs: list, tail: bytes | None) -> None:
        """Write a HISTORY record; ``pairs`` is a flat list ``[key_id, value, ...]``."""
        seq = self.seq
        body = _hist_struct(len(pairs) >> 1).pack(RecordType.HISTORY, seq, step, t, len(pairs) >> 1, *pairs)
        self.seq = seq + 1  # after pack(): a value it refuses (an int beyond float64) uses up no seq
        if tail:
            body += tail
        self._write(PREFIX.pack(len(body), zlib.crc32(body)) + body)

    def append_key(self, key_id: int, name: str) -> None:
        self.append(RecordType.KEY, struct.pack("<I", key_id) + name.encode())

    def append_system(self, t: float, pairs: list) -> None:
        payload = SYS_HEAD.pack(t, len(pairs) >> 1) + struct.pack("<" + "Id" * (len(pairs) >> 1), *pairs)
        self.append(RecordType.SYSTEM, payload)

    # -- the one place bytes meet the file -----------------------------------------------
    def _write(self, data: bytes) -> None:
        if self._pending and not self._flush_pending():
            self._queue(data)
            return
        try:
            n = os.write(self._fd, data)
        except OSError as e:
            self.error = e
            self._queue(data)
            return
        if n != len(data):  # a short write (disk full): never leave half a record
            self._short_write(n, len(data))
            self._queue(data)
            return
        self.offset += n

    def _short_write(self, wrote: int, wanted: int) -> None:
        self.error = OSError(errno.ENOSPC, f"only {wrote} of {wanted} bytes could be written (disk full?)")
        try:
            os.ftruncate(self._fd, self.offset)
        except OSError:
            pass

    def _queue(self, data: bytes) -> None:
        self._pending.append(data)
        self._pending_bytes += len(data)
        while self._pending_bytes > 64 << 20:
            self._pending_bytes -= len(self._pending.pop(0))
            self.dropped += 1

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

    @property
    def pending_bytes(self) -> int:
        return self._pending_bytes

    def flush(self) -> bool:
        """Retry queued records; True when nothing is left in memory."""
        return self._flush_pending()

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
    """Reads records from a log, from any record boundary, stopping at a torn tail."""

    def __init__(self, path: str) -> None:
        self.path = path

    def check_header(self) -> None:
        with open(self.path, "rb") as f:
            head = f.read(HEADER_SIZE)
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

    def scan(self, offset: int = 0, limit_bytes: int | None = None) -> Iterator[tuple[int, int, bytes, int, int, int]]:
        """Yield ``(type, seq, buf, start, stop, end)`` per record without copying payloads.

        The payload is ``buf[start:stop]``; ``end`` is the file offset past the record.
        Stops at the end of the file or at a torn or corrupt record.
        """
        if offset < HEADER_SIZE:
            self.check_header()
            offset = HEADER_SIZE
        unpack_prefix = PREFIX.unpack_from
        unpack_head = BODY_HEAD.unpack_from
        crc32 = zlib.crc32
        with open(self.path, "rb") as f:
            f.seek(offset)
            buf = f.read(1 << 22)
            pos = 0
            base = offset  # file offset of buf[0]
            done = 0
            while True:
                if len(buf) - pos < 8:
                    more = f.read(1 << 22)
                    if not more:
                        return
                    buf, base, pos = buf[pos:] + more, base + pos, 0
                    continue
                length, crc = unpack_prefix(buf, pos)
                if length < 9 or length > MAX_RECORD:
                    return  # garbage where a record should start: the torn end
                end = pos + 8 + length
                if end > len(buf):
                    more = f.read(max(1 << 22, end - len(buf)))
                    if not more:
                        return  # torn tail: the writer died mid-record, or is writing it now
                    buf, base, pos = buf[pos:] + more, base + pos, 0
                    continue
                if crc32(memoryview(buf)[pos + 8 : end]) != crc:
                    return
                rtype, seq = unpack_head(buf, pos + 8)
                yield rtype, seq, buf, pos + 17, end, base + end
                done += end - pos
                pos = end
                if limit_bytes is not None and done >= limit_bytes:
                    return

    def records(self, offset: int = 0, limit_bytes: int | None = None) -> Iterator[Record]:
        """Yield decoded records after ``offset`` (0 means the start); stop at the end or a torn record."""
        for rtype, seq, buf, start, stop, end in self.scan(offset, limit_bytes):
            yield Record(rtype, seq, bytes(buf[start:stop]), end)

    def end_offset(self, offset: int = 0) -> int:
        """Offset just past the last whole record (where a resumed writer appends)."""
        end = max(offset, HEADER_SIZE)
        for rec in self.records(offset):
            end = rec.end
        return end


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
