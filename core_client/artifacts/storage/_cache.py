"""A capped local cache of downloaded blobs, evicting the least recently used when full.

Blobs fetched from a remote blob store land here (``<dir>/blake3/ab/abcdef...``), so a
second download of the same content reads no network. The cache never grows past its
limit for long: ``TRACKLET_CACHE_SIZE`` (``"10GiB"``, ``"500MB"``, bytes; default 10 GiB;
``0`` turns caching off), read when the cache is opened. Each use of a blob touches its
mtime; eviction removes the oldest first. A local blob store needs no cache: its blob
folder already is one.
"""

from __future__ import annotations

import os
import re
import threading

from ..._errors import UsageError
from ._files import clean_dead_temps, publish, temp_name

__all__ = ["DEFAULT_CACHE_SIZE", "BlobCache", "parse_size"]

DEFAULT_CACHE_SIZE = 10 * 1024**3
_ALGORITHMS = ("blake3", "sha256")  # the folders blobs live in, by digest algorithm (sha256: legacy)
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3, "gb": 1000**3,
          "t": 1000**4, "tb": 1000**4, "kib": 1024, "mib": 1024**2, "gib": 1024**3, "tib": 1024**4}


def parse_size(text: str | int) -> int:
    """Bytes from ``"10GiB"``, ``"500 MB"``, ``"1.5g"`` or ``"1048576"``.

    Raises:
        UsageError: the text is not a size.
    """
    if isinstance(text, int):
        return text
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([a-zA-Z]*)\s*", text)
    unit = m.group(2).lower() if m else ""
    if m is None or unit not in _UNITS:
        raise UsageError(f"{text!r} is not a size; write it like 10GiB, 500MB or 1073741824 (bytes)")
    return int(float(m.group(1)) * _UNITS[unit])


class BlobCache:
    """A content-addressed folder capped at ``max_bytes`` (None: ``TRACKLET_CACHE_SIZE`` or 10 GiB)."""

    def __init__(self, directory: str, max_bytes: int | None = None) -> None:
        self.directory = os.path.abspath(directory)
        if max_bytes is None:
            max_bytes = parse_size(os.environ.get("TRACKLET_CACHE_SIZE", "").strip() or DEFAULT_CACHE_SIZE)
        self.max_bytes = max_bytes
        self._tmp = os.path.join(self.directory, "tmp")
        self._lock = threading.Lock()
        self._estimate: int | None = None
        self._cleaned = False

    @property
    def enabled(self) -> bool:
        """False when the limit is 0: downloads then bypass the cache."""
        return self.max_bytes > 0

    def path(self, digest: str) -> str:
        """Where the blob ``digest`` lives in the cache (whether or not it is there)."""
        from ._blobs import blob_key

        return os.path.join(self.directory, *blob_key(digest).split("/"))

    def lookup(self, digest: str) -> str | None:
        """The cached file of ``digest``, marked as just used; None when not cached."""
        path = self.path(digest)
        try:
            os.utime(path)
        except FileNotFoundError:
            return None
        return path

    def temp_path(self) -> str:
        """A fresh temporary path inside the cache, for a download in progress."""
        os.makedirs(self._tmp, exist_ok=True)
        if not self._cleaned:
            self._cleaned = True
            clean_dead_temps(self._tmp)
        return temp_name(os.path.join(self._tmp, "blob"))

    def add(self, temp: str, digest: str) -> str:
        """Move the verified download ``temp`` into the cache as ``digest``; returns its cached path."""
        final = self.path(digest)
        os.makedirs(os.path.dirname(final), exist_ok=True)
        size = os.path.getsize(temp)
        publish(temp, final, read_only=True)
        with self._lock:
            if self._estimate is not None:
                self._estimate += size
        return final

    def _files(self) -> list[tuple[float, int, str]]:
        found: list[tuple[float, int, str]] = []
        prefixes = []
        for algorithm in _ALGORITHMS:
            try:
                prefixes.extend(os.scandir(os.path.join(self.directory, algorithm)))
            except FileNotFoundError:
                pass
        for prefix in prefixes:
            try:
                for entry in os.scandir(prefix.path):
                    try:
                        st = entry.stat()
                    except FileNotFoundError:
                        continue
                    found.append((st.st_mtime, st.st_size, entry.path))
            except (NotADirectoryError, FileNotFoundError):
                continue
        return found

    def size(self) -> int:
        """Bytes the cached blobs take now."""
        return sum(size for _, size, _ in self._files())

    def prune(self, max_bytes: int | None = None) -> int:
        """Evict least recently used blobs until the cache holds at most ``max_bytes``; returns bytes freed."""
        limit = self.max_bytes if max_bytes is None else max_bytes
        files = sorted(self._files())
        total = sum(size for _, size, _ in files)
        freed = 0
        for _, size, path in files:
            if total - freed <= limit:
                break
            try:
                os.unlink(path)
                freed += size
            except FileNotFoundError:
                pass
        with self._lock:
            self._estimate = total - freed
        return freed

    def enforce(self) -> int:
        """Prune to the limit if the cache has grown past it; cheap when it has not."""
        with self._lock:
            estimate = self._estimate
        if estimate is None:
            estimate = self.size()
            with self._lock:
                self._estimate = estimate
        return self.prune() if estimate > self.max_bytes else 0
