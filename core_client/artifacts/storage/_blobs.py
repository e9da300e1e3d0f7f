"""Content-addressed blob stores chosen by URL: a local folder by default, any fsspec URL otherwise.

Each blob is stored once, under its BLAKE3 digest (``blake3/<digest>`` in a local folder,
``blake3/ab/<digest>`` on object stores), so an
unchanged file is never stored twice. Writers publish a blob only when it is complete
(temporary name + rename locally; a single PUT or a completed multipart upload on object
stores), so a killed process never leaves a half-written blob under its final name, and
the next ``put`` simply stores it again. Readers verify every byte against the digest.
"""

from __future__ import annotations

import os
import stat as statmod

from ..._errors import UsageError
from ._digest import (
    ALGORITHM,
    LEGACY_PREFIX,
    _hasher,
    _hex,
    copy_then_hash,
    default_workers,
    hash_file,
    is_content_digest,
    parallel_map,
)
from ._errors import CorruptBlobError, MissingBlobError
from ._manifest import ManifestEntry, normalize_path
from ._statcache import DigestCache

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any, Iterable

    from ._progress import ProgressFn

__all__ = ["BlobStore", "LocalBlobStore", "blob_key", "blob_store_of", "check_source", "copy_out", "copy_verified", "open_blob_store"]


def blob_key(digest: str) -> str:
    """The blob's path below a store's base: ``blake3/ab/abcdef...`` (``sha256/...`` for a legacy digest)."""
    if not is_content_digest(digest):
        raise UsageError(f"{digest!r} is not a content digest (64 hex characters, or 'sha256:' and 64)")
    if digest.startswith(LEGACY_PREFIX):
        bare = digest.removeprefix(LEGACY_PREFIX)
        return f"sha256/{bare[:2]}/{bare}"
    return f"{ALGORITHM}/{digest[:2]}/{digest}"


def check_source(path: str) -> os.stat_result:
    """Stat a file about to be stored.

    Raises:
        UsageError: it does not exist, is a folder, or is not a regular file; the message says what to do.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise UsageError(
            f"cannot store {path!r}: no such file; check the path (relative paths start at {os.getcwd()!r})"
        ) from None
    except PermissionError:
        raise UsageError(f"cannot store {path!r}: permission denied; make it readable by this user") from None
    if statmod.S_ISDIR(st.st_mode):
        raise UsageError(f"{path!r} is a folder, not a file; add a folder with add_dir()")
    if not statmod.S_ISREG(st.st_mode):
        raise UsageError(f"cannot store {path!r}: not a regular file (a pipe, socket or device); copy it to a file first")
    return st


def copy_verified(src: str, digest: str, dest: str, progress: ProgressFn | None = None) -> None:
    """Copy the blob file ``src`` to ``dest`` atomically, checking every byte against ``digest``.

    Raises:
        CorruptBlobError: ``src`` does not hash to ``digest``; ``dest`` is left untouched.
    """
    parent = os.path.dirname(os.path.abspath(dest))
    os.makedirs(parent, exist_ok=True)
    from ._files import publish, temp_name  # imported where files are made: a log of stored files makes none

    tmp = temp_name(dest)
    try:
        got, _ = copy_then_hash(src, tmp, progress, like=digest)
        if got != digest:
            raise CorruptBlobError(
                f"the stored blob {src} is corrupt (its content hashes to {got}, not {digest}); "
                "delete it and log the artifact again from the original files"
            )
        publish(tmp, dest)
    except BaseException:
        _unlink(tmp)
        raise


def copy_out(
    src: str, digest: str, dest: str, progress: ProgressFn | None = None, digest_cache: DigestCache | None = None
) -> None:
    """Copy the local blob file ``src`` to ``dest`` atomically.

    A blob this machine wrote or checked and that has not changed since (same size,
    mtime and ctime, per ``digest_cache``) is copied by the kernel, as a reflink where the
    filesystem can; any other is hashed while it is copied (:func:`copy_verified`).
    """
    st = os.stat(src)
    if digest_cache is None or digest_cache.lookup(src, st) != digest:
        copy_verified(src, digest, dest, progress)
        if digest_cache is not None:
            digest_cache.record_written(src, digest)
        return
    os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
    from ._files import clone_file, publish, temp_name

    tmp = temp_name(dest)
    try:
        clone_file(src, tmp)
        publish(tmp, dest)
    except BaseException:
        _unlink(tmp)
        raise
    if progress is not None:
        progress(st.st_size)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


class _VerifyingReader:
    """A read-only binary file that raises CorruptBlobError at end of file if the content is not ``digest``."""

    def __init__(self, raw: IO[bytes], digest: str, name: str) -> None:
        self._raw, self._digest, self.name = raw, digest, name
        self._hash = _hasher(digest)
        self._checked = False

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        self._hash.update(data)
        if (not data or n is None or n < 0) and not self._checked:
            self._checked = True
            if _hex(self._hash, self._digest) != self._digest:
                raise CorruptBlobError(f"blob {self.name} does not match its digest {self._digest}; it is corrupt")
        return data

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> _VerifyingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class BlobStore:
    """What every blob store does. ``url`` names it; subclasses store the bytes.

    ``digest_cache`` (optional) remembers digests of local files by identity, so
    storing an unchanged file again reads nothing.
    """

    url: str
    workers: int

    def __init__(self, digest_cache: DigestCache | None = None) -> None:
        self.digest_cache = digest_cache

    def close(self) -> None:
        """Let go of connections the store holds (a remote store's); a local folder holds none."""

    # -- per blob: subclasses implement _stored_size and the transfers -----------------------------
    def _stored_size(self, digest: str) -> int | None:
        """The stored blob's size, or None when it is not stored."""
        raise NotImplementedError

    def exists(self, digest: str) -> bool:
        """Whether the blob ``digest`` is stored."""
        return self._stored_size(digest) is not None

    def size(self, digest: str) -> int:
        """The blob's size in bytes. Raises MissingBlobError when it is not stored."""
        size = self._stored_size(digest)
        if size is None:
            raise MissingBlobError(self._missing(digest))
        return size

    def _missing(self, digest: str) -> str:
        return (f"blob {digest} is not in the blob store {self.url}; the artifact was probably logged "
                "to another store (set the same blob store URL) or its blobs were deleted")

    def put(self, path: str, progress: ProgressFn | None = None) -> tuple[str, int]:
        """Store the file at ``path`` unless its content is already stored; returns ``(digest, size)``.

        Raises:
            UsageError: the file is missing, a folder, or not a regular file.
        """
        (entry,) = self.put_many([(path, "blob")], progress, workers=1)  # the name is not used
        return entry.digest, entry.size  # type: ignore[return-value]

    def _put(self, path: str, progress: ProgressFn | None, st: os.stat_result) -> tuple[str, int]:
        """Store one checked file that :meth:`_already_stored` did not find stored."""
        raise NotImplementedError

    def get(self, digest: str, dest: str, progress: ProgressFn | None = None) -> None:
        """Write the blob to ``dest`` (atomically, verified). Raises MissingBlobError or CorruptBlobError."""
        raise NotImplementedError

    def open(self, digest: str) -> IO[bytes]:
        """A binary reader of the blob; reading it to the end verifies it (CorruptBlobError)."""
        raise NotImplementedError

    def delete(self, digest: str) -> None:
        """Remove the blob if stored (for garbage collection of deleted versions)."""
        raise NotImplementedError

    def local_path(self, digest: str) -> str | None:
        """A local file holding the blob, if the store (or its cache) has one; never write to it."""
        return None

    def presigned_url(self, digest: str, method: str, expires: int = 3600) -> str | None:
        """A URL that lets a client ``GET`` or ``PUT`` the blob's bytes straight to the store for ``expires`` s
        (S3-compatible stores), or None where the store gives none."""
        return None

    def finish_downloads(self) -> None:
        """Called after a batch of :meth:`get`: saves what was learnt and lets a cache evict down to its limit."""
        if self.digest_cache is not None:
            self.digest_cache.flush()

    # -- shared -----------------------------------------------------------------------------------
    def _known_digest(self, path: str, st: os.stat_result) -> str | None:
        return self.digest_cache.lookup(path, st) if self.digest_cache is not None else None

    def _hash_source(self, path: str, st: os.stat_result) -> str:
        digest = self._known_digest(path, st)
        if digest is None:
            started = DigestCache.clock()
            digest = hash_file(path)
            if self.digest_cache is not None:
                self.digest_cache.record(path, digest, started)
        return digest

    def put_many(
        self,
        files: Iterable[tuple[str, str] | tuple[str, str, os.stat_result | None] | str],
        progress: ProgressFn | None = None,
        workers: int | None = None,
        flush: bool = True,
    ) -> list[ManifestEntry]:
        """Store many files in parallel; returns one manifest entry per file, in order.

        Args:
            files: ``(path, name)`` pairs (``name`` is the entry's path in the artifact),
                or bare paths (named by their base name). A third item, the file's ``os.stat()``
                when it was added to the artifact, saves a stat: a file whose digest the cache
                knows for that stat, and whose blob is stored, is that version, and is not opened
                (the artifact holds what was added). Any other file is checked again and stored
                as it is now.
            progress: called with bytes processed, from worker threads.
            flush: save the digests learnt to the digest cache now; with False the caller
                calls ``digest_cache.flush()`` later (off the critical path).

        Raises:
            UsageError: a file is missing, a folder, or not a regular file (checked before anything is stored).
        """
        checked = []
        given = False  # whether some stat came from the caller, to be checked again before storing
        for f in files:
            if isinstance(f, (str, os.PathLike)):
                path, name, st = os.fspath(f), os.path.basename(f), None
            else:
                path, name, st = os.fspath(f[0]), f[1], f[2] if len(f) > 2 else None
            given = given or st is not None
            checked.append((path, normalize_path(name), st or check_source(path)))
        entries: list[ManifestEntry | None] = [None] * len(checked)
        todo = []
        settled = 0
        for i, known in enumerate(self._already_stored([(path, st) for path, _, st in checked])):
            if known is None:
                todo.append(i)
                continue
            _, name, st = checked[i]
            entries[i] = ManifestEntry(name, known, st.st_size)
            settled += st.st_size
        if given:
            for i in todo:
                path, name, _ = checked[i]
                checked[i] = (path, name, check_source(path))
        if progress is not None and settled:
            progress(settled)  # once for every file found stored: a re-log of many files takes one call, not one each

        def one(i: int) -> None:
            path, name, st = checked[i]
            digest, size = self._put(path, progress, st)
            entries[i] = ManifestEntry(name, digest, size)

        try:
            if todo:
                self._before_puts()
                # unchanged files were settled above without threads: for them the threads would only trade the GIL
                parallel_map(one, todo, workers or self.workers, "tracklet-put")
        finally:
            if flush and self.digest_cache is not None:
                self.digest_cache.flush()
        return entries  # type: ignore[return-value]

    def _already_stored(self, files: list[tuple[str, os.stat_result]]) -> list[str | None]:
        """For each ``(path, stat)``: its digest if it is known unchanged and its blob is stored, when that
        is cheap to tell; else None. Here it is not cheap: the cache is only read ahead for :meth:`_put`."""
        if self.digest_cache is not None:
            self.digest_cache.prefetch(files)
        return [None] * len(files)

    def _before_puts(self) -> None:
        """Housekeeping before a batch of puts."""

    def removal_lock(self, exclusive: bool = False) -> Any:
        """A context manager that keeps blob removal and logging apart (see LocalBlobStore); here a no-op."""
        import contextlib

        return contextlib.nullcontext()

    def record_pin(self) -> Any:
        """A context manager held by a log whose version record has not reached its run's log yet
        (see LocalBlobStore); here a no-op."""
        import contextlib

        return contextlib.nullcontext()

    def records_pending(self) -> bool:
        """Whether some log holds :meth:`record_pin` (call under the exclusive removal lock)."""
        return False

    def mark_shared(self) -> None:
        """Note that a store other than the folder's own logs here (see LocalBlobStore); here nothing."""

    @property
    def shared(self) -> bool:
        """Whether other stores may list these blobs, so a delete must remove none."""
        return True

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        """Store ``data``; returns ``(digest, size)``."""
        import tempfile

        fd, tmp = tempfile.mkstemp(prefix="tracklet-", suffix=".blob")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            return self.put(tmp)
        finally:
            _unlink(tmp)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"


class LocalBlobStore(BlobStore):
    """Blobs in a local folder, written read-only: ``<directory>/blake3/<digest>``, one folder for all.

    Storing copies the file in the kernel, then hashes the copy; a file whose digest is known
    and already stored is not read at all. Nothing is hard-linked: the user's file and the
    stored blob stay independent. No fan-out folders (``blake3/ab/...``, as object stores and
    earlier tracklets lay blobs out): ext4, xfs, btrfs and APFS index large folders, and
    making ~140 folders beside the copying threads cost a new store's first log of 200 files
    a sixth of its time. Blobs in that older layout, and legacy SHA-256 blobs under
    ``sha256/ab/<hex>``, are still found.
    """

    def __init__(self, directory: str, digest_cache: DigestCache | None = None, workers: int | None = None) -> None:
        super().__init__(digest_cache)
        self.directory = os.path.abspath(directory)
        self.url = self.directory
        self._base = os.path.join(self.directory, "")  # with the separator; blob keys use "/", as POSIX paths do
        self._flat = self._base + ALGORITHM + os.sep
        self.workers = workers or default_workers()
        self._tmp = os.path.join(self.directory, "tmp")
        self._folders: set[str] = set()  # blob folders known to exist, so each is made once
        self._gate = _test_gate() if _GATE_VAR in os.environ else None  # None but in tests that stop an upload midway

    def path(self, digest: str) -> str:
        """Where the blob ``digest`` is written (see the class); a blob of the older layout may be elsewhere."""
        if digest.startswith(LEGACY_PREFIX) or not is_content_digest(digest):
            return self._base + blob_key(digest)  # legacy SHA-256 (or a UsageError for what is no digest)
        return self._flat + digest  # called per file of every log: a concatenation, not os.path.join

    def _find(self, digest: str) -> tuple[str, int] | None:
        """``(path, size)`` of the stored blob, in this layout or the older fan-out one; None if absent."""
        path = self.path(digest)
        try:
            return path, os.stat(path).st_size
        except FileNotFoundError:
            pass
        path = self._fanned(digest)
        try:
            return (path, os.stat(path).st_size) if path else None
        except FileNotFoundError:
            return None

    def _fanned(self, digest: str) -> str | None:
        """Where earlier tracklets put the BLAKE3 blob ``digest``: ``blake3/ab/<digest>``."""
        return None if digest.startswith(LEGACY_PREFIX) else f"{self._flat}{digest[:2]}{os.sep}{digest}"

    def local_path(self, digest: str) -> str | None:
        found = self._find(digest)
        return found[0] if found else None

    def _stored_size(self, digest: str) -> int | None:
        found = self._find(digest)
        return found[1] if found else None

    def _before_puts(self) -> None:
        os.makedirs(self._tmp, exist_ok=True)
        from ._files import clean_dead_temps

        clean_dead_temps(self._tmp)

    def removal_lock(self, exclusive: bool = False) -> Any:
        """An advisory lock on ``<directory>/.removal.lock``: shared while a log finds or stores its
        blobs and records its version, exclusive while a delete decides which blobs nothing uses.

        So a delete never removes a blob that a log running at the same moment has just found
        already stored and is about to reference. A no-op where ``fcntl`` does not exist.
        """
        return _FileLock(os.path.join(self.directory, ".removal.lock"), exclusive)

    def record_pin(self) -> Any:
        """An advisory lock on ``<directory>/.pending.lock``, held shared by a log whose version record
        is still in memory when it lets go of the removal lock (its run's log could not be written:
        a full disk). A delete that finds it held removes nothing: it cannot know which blobs that
        record lists."""
        return _FileLock(os.path.join(self.directory, ".pending.lock"), exclusive=False)

    def records_pending(self) -> bool:
        lock = _FileLock(os.path.join(self.directory, ".pending.lock"), exclusive=True, blocking=False)
        with lock:
            return not lock.held

    def mark_shared(self) -> None:
        """Leave ``<directory>/.shared`` once: another store logs here (``TRACKLET_BLOB_URL``), so the
        folder's own store must not remove blobs on delete (it cannot see that store's versions)."""
        if self.directory in _marked_shared:
            return
        os.makedirs(self.directory, exist_ok=True)
        os.close(os.open(os.path.join(self.directory, ".shared"), os.O_WRONLY | os.O_CREAT, 0o644))
        _marked_shared.add(self.directory)

    @property
    def shared(self) -> bool:
        return os.path.exists(os.path.join(self.directory, ".shared"))

    def _already_stored(self, files: list[tuple[str, os.stat_result]]) -> list[str | None]:
        if self.digest_cache is None:
            return [None] * len(files)
        out = self.digest_cache.lookup_many(files)
        flat, stat = self._flat, os.stat  # one stat per known file: a re-log of 200 files spends most of its time here
        for i, digest in enumerate(out):
            if digest is None:
                continue
            if not isinstance(digest, str) or not is_content_digest(digest):
                out[i] = None  # not what this cache writes: a damaged snapshot
                continue
            try:
                if stat(flat + digest).st_size == files[i][1].st_size:
                    continue  # stored whole, in this layout
            except OSError:
                pass
            if self._stored_size(digest) != files[i][1].st_size:  # the older fan-out layout, or not stored
                out[i] = None
        return out

    def _put(self, path: str, progress: ProgressFn | None, st: os.stat_result) -> tuple[str, int]:
        from ._files import publish, temp_name

        tmp = temp_name(os.path.join(self._tmp, "blob"))
        started = DigestCache.clock()
        try:
            try:
                digest, size = copy_then_hash(path, tmp, progress, mode=0o444)  # read-only from the start
            except FileNotFoundError:
                if os.path.isdir(self._tmp) or not os.path.exists(path):
                    raise
                os.makedirs(self._tmp, exist_ok=True)  # removed under us (a clean-up of the store?): once more
                digest, size = copy_then_hash(path, tmp, progress, mode=0o444)
            if self._gate is not None:
                self._gate.reached(tmp)
            if self._stored_size(digest) == size:
                _unlink(tmp)
            else:  # absent, or a wrong-sized leftover that the new copy replaces
                final = self.path(digest)
                folder = os.path.dirname(final)
                if folder not in self._folders:
                    os.makedirs(folder, exist_ok=True)
                    self._folders.add(folder)
                publish(tmp, final)
                if self.digest_cache is not None:
                    self.digest_cache.record_written(final, digest)
        except BaseException:
            _unlink(tmp)
            raise
        if self.digest_cache is not None:
            self.digest_cache.record(path, digest, started)
        return digest, size

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        """Store ``data`` unless its content is stored; returns ``(digest, size)``.

        Hashed in memory and written once (no temporary source file, no digest cache: there is
        no file of the user's to remember): what ``log()`` of an image or a table costs the store.
        """
        from ._digest import hash_bytes
        from ._files import publish, temp_name

        digest, size = hash_bytes(data), len(data)
        if self._stored_size(digest) == size:
            return digest, size
        final = self.path(digest)
        folder = os.path.dirname(final)
        if folder not in self._folders:
            os.makedirs(folder, exist_ok=True)
            self._folders.add(folder)
        if self._tmp not in self._folders:
            os.makedirs(self._tmp, exist_ok=True)
            self._folders.add(self._tmp)
        tmp = temp_name(os.path.join(self._tmp, "blob"))
        try:
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)  # read-only from the start, as _put's
            except FileNotFoundError:  # the temporaries' folder was removed under us: once more
                os.makedirs(self._tmp, exist_ok=True)
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
            publish(tmp, final)
        except BaseException:
            _unlink(tmp)
            raise
        return digest, size

    def get(self, digest: str, dest: str, progress: ProgressFn | None = None) -> None:
        """Copy the blob to ``dest`` atomically.

        A blob this machine wrote or checked, and that has not changed since (same size,
        mtime and ctime), is copied by the kernel (a reflink where the filesystem can);
        any other is hashed while it is copied.
        """
        src = self.local_path(digest)
        if src is None:
            raise MissingBlobError(self._missing(digest))
        copy_out(src, digest, dest, progress, self.digest_cache)

    def open(self, digest: str) -> IO[bytes]:
        path = self.local_path(digest) or self.path(digest)
        try:
            raw = open(path, "rb")
        except FileNotFoundError:
            raise MissingBlobError(self._missing(digest)) from None
        return _VerifyingReader(raw, digest, path)  # type: ignore[return-value]

    def delete(self, digest: str) -> None:
        for path in (self.path(digest), self._fanned(digest)):  # a blob may be in either layout
            if path:
                _unlink(path)


_marked_shared: set[str] = set()
_GATE_VAR = "TRACKLET_TEST_UPLOAD_GATE"


def _test_gate() -> Any:
    from ._faults import upload_gate  # only tests set the variable: a log never imports it

    return upload_gate()


class _FileLock:
    """``flock`` on a file: shared or exclusive; ``blocking=False`` tries once (then see ``held``).

    Where ``fcntl`` does not exist (Windows) it locks nothing and reports itself held.
    """

    def __init__(self, path: str, exclusive: bool, blocking: bool = True) -> None:
        self.path, self.exclusive, self.blocking, self.fd, self.held = path, exclusive, blocking, -1, False

    def __enter__(self) -> _FileLock:
        try:
            import fcntl
        except ImportError:
            self.held = True
            return self
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        flags = (fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH) | (0 if self.blocking else fcntl.LOCK_NB)
        try:
            fcntl.flock(self.fd, flags)
            self.held = True
        except BlockingIOError:
            self.held = False
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing releases the lock
            self.fd = -1
        self.held = False


def blob_store_of(root: str) -> BlobStore:
    """The blob store of the store folder ``root``: ``TRACKLET_BLOB_URL`` if set, else ``root/blobs``.

    ``TRACKLET_BLOB_OPTIONS`` holds fsspec storage options as JSON, e.g. ``{"endpoint_url": "http://minio:9000"}``.
    """
    import json

    options = os.environ.get("TRACKLET_BLOB_OPTIONS")
    try:
        kwargs = json.loads(options) if options else {}
    except ValueError:
        raise UsageError(f"TRACKLET_BLOB_OPTIONS must be a JSON object of storage options; got {options!r}") from None
    return open_blob_store(os.environ.get("TRACKLET_BLOB_URL") or None, root=root, **kwargs)


def open_blob_store(
    url: str | None = None,
    root: str | None = None,
    cache_bytes: int | None = None,
    **storage_options: object,
) -> BlobStore:
    """The blob store at ``url``: a local folder by default, or any fsspec URL.

    Args:
        url: None for ``<root>/blobs``; a folder or ``file://`` URL for another local folder;
            ``s3://bucket/prefix``, ``gs://...``, ``memory://...`` or any other fsspec URL.
        root: the tracklet folder (``TRACKLET_DIR``); holds the digest cache and, for remote
            stores, the download cache. Default: the resolved ``dir`` setting.
        cache_bytes: cap of the download cache for remote stores; default ``TRACKLET_CACHE_SIZE`` or 10 GiB.
        storage_options: for a remote store, ``workers`` (files at a time), ``chunk_size`` and
            ``max_concurrency`` (S3 parts per file) tune :class:`FsspecBlobStore`; the rest go to
            the fsspec filesystem (``endpoint_url=``, ``key=``, ``secret=``, ...).

    Raises:
        UsageError: the URL's scheme is unknown, or its fsspec backend is not installed.
    """
    if root is None:
        from ..._settings import resolve_settings

        root = resolve_settings().dir
    root = os.path.abspath(root)
    digest_cache = DigestCache(os.path.join(root, "cache", f"digests-{ALGORITHM}.sqlite"))  # one file per algorithm
    if not url:
        return LocalBlobStore(os.path.join(root, "blobs"), digest_cache)
    if url.startswith("file://"):
        return LocalBlobStore(url[len("file://"):], digest_cache)
    if "://" not in url:
        return LocalBlobStore(os.path.expanduser(url), digest_cache)
    from ._cache import BlobCache
    from ._fsspec_store import FsspecBlobStore

    cache = BlobCache(os.path.join(root, "cache", "blobs"), cache_bytes)
    return FsspecBlobStore(url, cache, digest_cache, **storage_options)
