"""SHA-256 digests of files: chunked (bounded memory), parallel across files, optionally while copying.

hashlib releases the GIL while it hashes a large buffer, so a thread pool the size of the
CPU count hashes that many files at once. Each worker holds one 1 MiB buffer, whatever
the file sizes. OpenSSL's SHA-256 uses the CPU's SHA extensions where present, which
makes it several times faster than coreutils' ``sha256sum``.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Sequence

from ._progress import ProgressFn

if TYPE_CHECKING:
    from ._statcache import DigestCache

__all__ = ["ALGORITHM", "CHUNK", "copy_and_hash", "default_workers", "hash_bytes", "hash_file", "hash_files"]

ALGORITHM = "sha256"
CHUNK = 1 << 20  # large enough that hashlib drops the GIL and syscalls are few; small enough to stay in cache


def default_workers() -> int:
    """Threads for CPU-bound work: the CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def hash_bytes(data: bytes) -> str:
    """The hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def hash_file(path: str, progress: ProgressFn | None = None) -> str:
    """The hex SHA-256 of the file at ``path``, read in 1 MiB chunks.

    ``progress(n)`` is called with the bytes read since the last call.
    """
    digest = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            digest.update(view[:n])
            if progress is not None:
                progress(n)
    return digest.hexdigest()


def copy_and_hash(src: str, dst: str, progress: ProgressFn | None = None) -> tuple[str, int]:
    """Copy ``src`` to the new file ``dst`` and hash the bytes written, reading ``src`` once.

    Returns ``(hex digest, size)``: the digest of exactly what ``dst`` holds, even if
    ``src`` changes meanwhile. ``dst`` must not exist.
    """
    digest = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    size = 0
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o644)
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
    return digest.hexdigest(), size


def hash_files(
    paths: Sequence[str],
    progress: ProgressFn | None = None,
    workers: int | None = None,
    cache: DigestCache | None = None,
) -> list[str]:
    """Hex SHA-256 digests of ``paths``, in order, hashed in parallel.

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

    workers = min(workers or default_workers(), max(1, len(paths)))
    if workers == 1:
        return [one(p) for p in paths]
    with ThreadPoolExecutor(workers, thread_name_prefix="tracklet-hash") as pool:
        return list(pool.map(one, paths))
