"""A run's log as files: ``run.tlog``, or ``run.tlog.gz`` once the store's worker compressed it, and the files beside it.

- A finished run's log is compressed by the store's worker when it has been stored and nothing
  has used it for a while (``compress_log``): about half its size. It is written in full,
  read back and compared before the plain log is removed, so there is always one whole copy.
- Whoever appends (a resume, ``Api().run(...).update()``) gets the plain log back first
  (``open_for_append``); a writer holds a shared ``flock`` on it for its life, and the compressor
  takes it exclusively, so a log being written is never compressed.
- ``run.tlog`` wins over a ``run.tlog.gz`` beside it (the rest of a compression interrupted by a crash).
- ``loss.json`` (reserved at start) says what ``finish()`` could not write when the disk was full;
  ``run.tlog.tail-<offset>`` keeps the torn tail a resumed writer cut off.
"""

from __future__ import annotations

import json
import os
import zlib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, BinaryIO

__all__ = [
    "COMPRESSED",
    "LOSS_REPORT",
    "compress_log",
    "log_exists",
    "log_size",
    "open_for_append",
    "open_log",
    "read_loss_report",
    "remove_if_present",
    "reserve_loss_report",
    "set_aside",
    "write_loss_report",
]

COMPRESSED = ".gz"
LOSS_REPORT = "loss.json"
_REPORT_SIZE = 4096


def log_exists(path: str) -> bool:
    """Whether the log ``path`` (``.../run.tlog``) exists, plain or compressed."""
    return os.path.exists(path) or os.path.exists(path + COMPRESSED)


def log_size(path: str) -> int | None:
    """The plain log's size in bytes; None when only the compressed one exists (a finished, stored run)."""
    try:
        return os.path.getsize(path)
    except FileNotFoundError:
        if os.path.exists(path + COMPRESSED):
            return None
        raise


def open_log(path: str) -> BinaryIO:
    """The log for reading, plain or compressed (offsets are those of the plain log either way)."""
    try:
        return open(path, "rb")
    except FileNotFoundError:
        if not os.path.exists(path + COMPRESSED):
            raise
    import gzip

    return gzip.open(path + COMPRESSED, "rb")  # type: ignore[return-value]


def _flock(fd: int, flags: int) -> bool:
    try:
        import fcntl
    except ImportError:  # no advisory locks (Windows): nothing is compressed there, so nothing to guard
        return True
    try:
        fcntl.flock(fd, flags)
        return True
    except BlockingIOError:
        return False


def open_for_append(path: str, mode: int, exclusive: bool = False) -> int:
    """A file descriptor to append to the log, holding its ``flock`` (shared; ``exclusive`` for an editor).

    A compressed log is first made plain again. Raises ``BlockingIOError`` when ``exclusive`` and
    another writer holds the log.
    """
    try:
        import fcntl

        lock = (fcntl.LOCK_EX | fcntl.LOCK_NB) if exclusive else fcntl.LOCK_SH
    except ImportError:
        lock = 0  # no advisory locks (Windows): _flock lets every writer in, and nothing is compressed there
    while True:
        compressed = os.path.exists(path + COMPRESSED)
        if compressed and not os.path.exists(path):
            _restore(path)
            continue
        flags = os.O_WRONLY | os.O_APPEND | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(path, flags if compressed else flags | os.O_CREAT, mode)
        except FileNotFoundError:
            continue  # compressed between our look and the open: restore it
        if not _flock(fd, lock):
            os.close(fd)
            raise BlockingIOError(f"{path} is being written by another process")
        st = os.fstat(fd)
        try:
            current = os.stat(path).st_ino
        except FileNotFoundError:
            current = None
        if current == st.st_ino and not (st.st_size == 0 and os.path.exists(path + COMPRESSED)):
            return fd
        if current == st.st_ino:
            os.remove(path)  # we made an empty file just as the log was compressed: the log is the gz
        os.close(fd)  # the compressor removed it while we waited for the lock: take the compressed one back


def _restore(path: str) -> None:
    """Decompress ``path.gz`` to ``path`` (a complete file appears at once, or not at all), then drop the gz."""
    import gzip
    import shutil

    tmp = f"{path}.restore-{os.getpid()}"
    try:
        src_fd = os.open(path + COMPRESSED, os.O_RDONLY)
    except FileNotFoundError:
        return  # someone else restored it
    try:
        ino = os.fstat(src_fd).st_ino
        with open(src_fd, "rb", closefd=False) as raw, gzip.GzipFile(fileobj=raw, mode="rb") as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
            dst.flush()
            os.fsync(dst.fileno())
        os.chmod(tmp, os.fstat(src_fd).st_mode & 0o777)
    finally:
        os.close(src_fd)
    try:
        if _inode(path + COMPRESSED) == ino:  # not a newer compressed copy made meanwhile
            os.link(tmp, path)  # fails if another process restored it first: theirs may already be appended to
            if _inode(path + COMPRESSED) == ino:
                os.remove(path + COMPRESSED)
    except FileExistsError:
        pass
    finally:
        os.remove(tmp)


def _inode(path: str) -> int | None:
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


def compress_log(path: str, length: int) -> bool:
    """Replace the plain log with ``path.gz`` when no one writes it and it is ``length`` bytes long; True when it did.

    ``length`` is what the store holds of it: a compressed log is always one the store holds whole.
    The copy is compressed, synced, read back and compared (length and CRC) before the plain log
    goes: at every moment one whole copy is on disk.
    """
    try:
        import fcntl
    except ImportError:
        return False
    import gzip

    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    tmp = f"{path}{COMPRESSED}.tmp-{os.getpid()}"
    try:
        if not _flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB):
            return False  # a writer has it open (a resumed run, an edit)
        if os.fstat(fd).st_size != length:
            return False  # records the store does not hold yet (an edit appended after the run ended)
        crc = length = 0
        with open(fd, "rb", closefd=False) as src, open(tmp, "wb") as raw:
            with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as gz:
                while chunk := src.read(1 << 20):
                    gz.write(chunk)
                    crc, length = zlib.crc32(chunk, crc), length + len(chunk)
            raw.flush()
            os.fsync(raw.fileno())
        check = back = 0
        with gzip.open(tmp, "rb") as again:
            while chunk := again.read(1 << 20):
                check, back = zlib.crc32(chunk, check), back + len(chunk)
        if (check, back) != (crc, length) or os.fstat(fd).st_size != length:
            remove_if_present(tmp)
            return False
        os.chmod(tmp, os.fstat(fd).st_mode & 0o777)
        os.replace(tmp, path + COMPRESSED)
        _sync_folder(os.path.dirname(path))
        os.remove(path)  # still under our exclusive lock: no writer opened it meanwhile
        return True
    except OSError:
        remove_if_present(tmp)
        return False
    finally:
        os.close(fd)


def _sync_folder(folder: str) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_if_present(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def set_aside(path: str, start: int, end: int) -> str | None:
    """Copy bytes ``start:end`` of a log to ``<path>.tail-<start>`` before they are cut off; returns that path."""
    target = f"{path}.tail-{start}"
    with open(path, "rb") as src:
        src.seek(start)
        data = src.read(end - start)
    if not data:
        return None
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return target


LOSS_REPORT = "loss.json"
_REPORT_SIZE = 4096


def reserve_loss_report(run_dir: str) -> None:
    """Make ``loss.json`` in the run's folder now, at its full size: when the disk is full at ``finish()``,
    the report of what was lost overwrites bytes the file already has, which needs no free space.

    An empty report reads as ``{}``.
    """
    path = os.path.join(run_dir, LOSS_REPORT)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:
        return  # already there (a resumed run), or no room: the report then simply cannot be written
    try:
        os.write(fd, b"{}".ljust(_REPORT_SIZE))
    except OSError:
        pass
    finally:
        os.close(fd)


def write_loss_report(run_dir: str, report: dict[str, Any]) -> bool:
    """Overwrite the reserved ``loss.json`` with ``report``; False when it could not be written."""
    data = json.dumps(report, separators=(",", ":")).encode()
    if len(data) > _REPORT_SIZE:
        report = {**report, "error": str(report.get("error", ""))[:1000]}
        data = json.dumps(report, separators=(",", ":")).encode()
    try:
        fd = os.open(os.path.join(run_dir, LOSS_REPORT), os.O_WRONLY | os.O_CREAT, 0o600)
    except OSError:
        return False
    try:
        os.pwrite(fd, data.ljust(_REPORT_SIZE), 0)
        os.fsync(fd)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def read_loss_report(run_dir: str) -> dict[str, Any] | None:
    """What ``finish()`` could not write to the run's log, if anything."""
    try:
        with open(os.path.join(run_dir, LOSS_REPORT), "rb") as f:
            report = json.loads(f.read() or b"{}")
    except (OSError, ValueError):
        return None
    return report or None
