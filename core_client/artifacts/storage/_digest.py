"""BLAKE3 digests of files: chunked (bounded memory), parallel across files, optionally while copying.

BLAKE3 is a cryptographic hash (collision resistance like SHA-256's) that runs several times
faster than SHA-256 on any CPU with SIMD, so hashing stays cheaper than copying the bytes.
The ``blake3`` extension releases the GIL while it hashes a large buffer, so one thread per CPU
hashes that many files at once; each holds one 1 MiB buffer, whatever the file sizes.

Digests are lowercase hex. Stores written before BLAKE3 hold SHA-256 digests; they are kept
as ``sha256:<hex>`` in memory, and every function that checks content against a digest hashes
with the algorithm that digest names.
"""

from __future__ import annotations

import os
import threading

from blake3 import blake3

TYPE_CHECKING = False  # typing itself is not imported: every millisecond of import is in the first log
if TYPE_CHECKING:
    from typing import Any, Callable, Sequence, TypeVar

    from ._progress import ProgressFn
    from ._statcache import DigestCache

    T = TypeVar("T")
    R = TypeVar("R")

__all__ = [
    "ALGORITHM",
    "CHUNK",
    "LEGACY_PREFIX",
    "copy_and_hash",
    "copy_then_hash",
    "default_workers",
    "hash_bytes",
    "hash_file",
    "hash_files",
    "is_content_digest",
    "parallel_map",
]

ALGORITHM = "blake3"
LEGACY_PREFIX = "sha256:"  # digests from stores written before BLAKE3
CHUNK = 1 << 20  # large enough that the hash drops the GIL and syscalls are few; small enough to stay in cache
_MAP_STEP = 16 << 20  # of a memory-mapped file hashed at a time: a progress bar moves during a large file

_HEX = frozenset("0123456789abcdef")
_per_thread = threading.local()


def _buffer() -> bytearray:
    """This thread's 1 MiB read buffer: allocated (and page-faulted) once, not once per file."""
    buf = getattr(_per_thread, "buf", None)
    if buf is None:
        buf = _per_thread.buf = bytearray(CHUNK)
    return buf


def default_workers() -> int:
    """Threads for CPU-bound work: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _hasher(like: str | None) -> Any:
    if like is not None and like.startswith(LEGACY_PREFIX):
        import hashlib

        return hashlib.sha256()
    return blake3()


def _hex(hasher: Any, like: str | None) -> str:
    out = hasher.hexdigest()
    return LEGACY_PREFIX + out if like is not None and like.startswith(LEGACY_PREFIX) else out


def is_content_digest(digest: str) -> bool:
    """Whether ``digest`` is a content digest tracklet can check (BLAKE3 hex, or legacy ``sha256:`` hex)."""
    bare = digest.removeprefix(LEGACY_PREFIX)
    return len(bare) == 64 and _HEX.issuperset(bare)


def hash_bytes(data: bytes) -> str:
    """The hex BLAKE3 of ``data``."""
    return blake3(data).hexdigest()


def hash_file(path: str, progress: ProgressFn | None = None, like: str | None = None) -> str:
    """The hex digest of the file at ``path``, read in 1 MiB chunks.

    ``like``: a digest to compare with; the file is hashed with its algorithm and the
    result given in its form (so a legacy ``sha256:`` digest compares equal when it should).
    ``progress(n)`` is called with the bytes read since the last call.
    """
    digest = _hasher(like)
    buf = _buffer()
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            digest.update(view[:n])
            if progress is not None:
                progress(n)
    return _hex(digest, like)


def copy_and_hash(
    src: str, dst: str, progress: ProgressFn | None = None, like: str | None = None, mode: int = 0o644
) -> tuple[str, int]:
    """Copy ``src`` to the new file ``dst`` and hash the bytes written, reading ``src`` once.

    Returns ``(hex digest, size)``: the digest of exactly what ``dst`` holds, even if
    ``src`` changes meanwhile. ``dst`` must not exist; it is created with ``mode``.
    ``like`` as for :func:`hash_file`.
    """
    digest = _hasher(like)
    buf = _buffer()
    view = memoryview(buf)
    size = 0
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), mode)
    try:
        with open(src, "rb", buffering=0) as f:
            while n := f.readinto(buf):
                chunk = view[:n]
                digest.update(chunk)
                written = 0
                while written < n:
                    written += os.write(fd, chunk[written:])
                size += n
                if progress is not None:
                    progress(n)
    finally:
        os.close(fd)
    return _hex(digest, like), size


def copy_then_hash(
    src: str, dst: str, progress: ProgressFn | None = None, like: str | None = None, mode: int = 0o644
) -> tuple[str, int]:
    """Copy ``src`` to the new file ``dst`` in the kernel (a reflink where the filesystem can), then hash ``dst``.

    Returns ``(hex digest, size)`` of exactly what ``dst`` holds, even if ``src`` changes
    meanwhile: nobody else writes ``dst``. A kernel copy plus a hash of the fresh, cached copy
    costs well under half of reading and writing every byte through user space, so this beats
    :func:`copy_and_hash` wherever ``copy_file_range`` exists; elsewhere it is that function.
    """
    if not hasattr(os, "copy_file_range"):
        return copy_and_hash(src, dst, progress, like, mode)
    from ._files import clone_file

    halves = _Halves(progress) if progress is not None else None
    clone_file(src, dst, mode, halves.copied if halves else None)
    return _hash_own_file(dst, halves.hashed if halves else None, like)


def _hash_own_file(path: str, progress: ProgressFn | None, like: str | None) -> tuple[str, int]:
    """``(digest, size)`` of a file that only this process writes, hashed through a read-only memory map.

    The hash reads the page cache in place: no read(2) copying every byte into a buffer first
    (a quarter less CPU for a fresh copy). Never for the user's own files: one truncated while
    mapped would kill the process with SIGBUS.
    """
    import mmap

    with open(path, "rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        if size == 0:  # an empty file cannot be mapped
            return _hex(_hasher(like), like), 0
        digest = _hasher(like)
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            view = memoryview(mapped)
            try:
                for at in range(0, size, _MAP_STEP):  # slices large enough that the hash drops the GIL
                    digest.update(view[at : at + _MAP_STEP])
                    if progress is not None:
                        progress(min(_MAP_STEP, size - at))
            finally:
                view.release()  # before the map closes: a live export would make close() fail
    return _hex(digest, like), size


class _Halves:
    """Reports a copy-then-hash as one pass: half of each byte when copied, the other half when hashed.

    The total reported is exactly the file's size once both passes are done (floor + ceil of halves).
    """

    def __init__(self, progress: ProgressFn) -> None:
        self.progress, self.c, self.h, self.reported = progress, 0, 0, 0

    def _emit(self) -> None:
        now = self.c // 2 + (self.h + 1) // 2
        if now > self.reported:
            self.progress(now - self.reported)
            self.reported = now

    def copied(self, n: int) -> None:
        self.c += n
        self._emit()

    def hashed(self, n: int) -> None:
        self.h += n
        self._emit()


def parallel_map(fn: Callable[[T], R], items: Sequence[T], workers: int, name: str = "tracklet-worker") -> list[R]:
    """``[fn(x) for x in items]`` on up to ``workers`` threads, in order; the first exception is raised.

    A few plain threads pulling indices: cheaper to start (and to import) than an executor.
    """
    workers = min(workers, len(items))
    if workers <= 1:
        return [fn(x) for x in items]
    results: list[Any] = [None] * len(items)
    errors: list[BaseException] = []
    lock = threading.Lock()
    next_index = iter(range(len(items)))

    def work() -> None:
        while not errors:
            with lock:
                i = next(next_index, None)
            if i is None:
                return
            try:
                results[i] = fn(items[i])
            except BaseException as exc:  # handed to the caller below
                errors.append(exc)

    threads = [threading.Thread(target=work, name=f"{name}-{k}", daemon=True) for k in range(workers - 1)]
    for t in threads:
        t.start()
    work()  # the calling thread is one of the workers
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def hash_files(
    paths: Sequence[str],
    progress: ProgressFn | None = None,
    workers: int | None = None,
    cache: DigestCache | None = None,
) -> list[str]:
    """Hex BLAKE3 digests of ``paths``, in order, hashed in parallel.

    Args:
        progress: called with bytes hashed (from worker threads); must be thread-safe.
        workers: threads; the CPU count by default.
        cache: a :class:`DigestCache`; files unchanged since they were last hashed are not read.
    """
    def one(path: str) -> str:
        if cache is not None:
            known = cache.lookup(path)
            if known is not None:
                if progress is not None:
                    progress(os.path.getsize(path))
                return known
            started = cache.clock()
            digest = hash_file(path, progress)
            cache.record(path, digest, started)
            return digest
        return hash_file(path, progress)

    return parallel_map(one, list(paths), workers or default_workers(), "tracklet-hash")
