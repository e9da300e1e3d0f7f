"""A blob store on any fsspec filesystem: ``s3://bucket/prefix``, ``gs://...``, ``memory://...``.

fsspec (and s3fs, gcsfs, ...) are imported only when such a store is opened. On object
stores a blob appears whole or not at all (a single PUT, or a multipart upload that
completes), so blobs are written straight to their final key; other filesystems get a
temporary key, renamed once the file is known not to have changed while it was read.
On S3, large files go up and come down in parallel parts; memory stays under
``workers * max_concurrency * chunk_size`` (256 MiB by default). Downloads pass through
the capped local :class:`BlobCache`.
"""

from __future__ import annotations

import os
import secrets
from typing import IO, Any

from ..._errors import StoreError, UsageError
from ._blobs import BlobStore, _unlink, _VerifyingReader, blob_key, copy_out
from ._cache import BlobCache
from ._digest import hash_file
from ._errors import CorruptBlobError, MissingBlobError
from ._files import publish, temp_name
from ._progress import ProgressFn
from ._statcache import DigestCache

__all__ = ["FsspecBlobStore", "filesystem_for"]

# keys need no folders made for them
_OBJECT_STORES = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "oss"}
_PACKAGES = {"s3": "s3fs", "s3a": "s3fs", "gs": "gcsfs", "gcs": "gcsfs", "az": "adlfs", "abfs": "adlfs",
             "http": "aiohttp", "https": "aiohttp"}


def filesystem_for(url: str, **storage_options: Any) -> tuple[Any, str]:
    """The fsspec filesystem and path for ``url``.

    Raises:
        UsageError: fsspec or the scheme's backend is missing, or the scheme is unknown.
    """
    protocol = url.split("://", 1)[0].lower() if "://" in url else "file"
    try:
        import fsspec
    except ImportError:
        raise UsageError(f"{protocol}:// URLs need fsspec. Install it with: pip install fsspec") from None
    try:
        fsspec.get_filesystem_class(protocol)
    except ValueError:
        raise UsageError(
            f"unknown URL scheme {protocol}:// in {url!r}; use a local folder, file://, s3://bucket/prefix, "
            "gs://, https:// or another scheme fsspec knows"
        ) from None
    except ImportError as exc:
        package = _PACKAGES.get(protocol, "the package named below")
        extra = " 'tracklet[s3]'" if package == "s3fs" else f" {package}"
        raise UsageError(f"{protocol}:// URLs need {package}. Install it with: pip install{extra} ({exc})") from None
    return fsspec.core.url_to_fs(url, **storage_options)


def _callback(progress: ProgressFn | None) -> Any:
    from fsspec.callbacks import Callback, NoOpCallback

    if progress is None:
        return NoOpCallback()

    class _Forward(Callback):
        def relative_update(self, inc: int = 1) -> None:
            self.value += inc
            progress(inc)

        def absolute_update(self, value: int) -> None:
            inc, self.value = value - self.value, value
            if inc > 0:
                progress(inc)

    return _Forward()


def _check_unchanged(path: str, st: os.stat_result) -> None:
    after = os.stat(path)
    if (after.st_size, after.st_mtime_ns, after.st_ctime_ns) != (st.st_size, st.st_mtime_ns, st.st_ctime_ns):
        raise StoreError(f"{path} changed while it was being stored; log it again once it is completely written")


class FsspecBlobStore(BlobStore):
    """Blobs at ``<url>/blake3/ab/abcdef...`` on an fsspec filesystem."""

    def __init__(
        self,
        url: str,
        cache: BlobCache | None = None,
        digest_cache: DigestCache | None = None,
        workers: int = 4,
        chunk_size: int = 16 * 1024**2,
        max_concurrency: int = 4,
        **storage_options: Any,
    ) -> None:
        super().__init__(digest_cache)
        self.url = url.rstrip("/")
        self.fs, base = filesystem_for(self.url, **storage_options)
        self.base = base.rstrip("/")
        self.cache = cache
        self.workers = workers
        protocols = {self.fs.protocol} if isinstance(self.fs.protocol, str) else set(self.fs.protocol)
        self._make_folders = not protocols & _OBJECT_STORES  # a filesystem whose folders must exist before a write
        self._parts = {"chunksize": chunk_size, "max_concurrency": max_concurrency} if protocols & {"s3", "s3a"} else {}

    def close(self) -> None:
        """Close an S3 filesystem's HTTP session now. Left to s3fs's finalizer, s3fs 2024.3 never closes it (it
        queues the close on a loop that is not running), and the collected session warns of an unclosed socket."""
        s3 = getattr(self.fs, "_s3", None)
        if s3 is None or getattr(self.fs, "loop", None) is None:
            return
        from fsspec.asyn import sync

        try:
            sync(self.fs.loop, s3.__aexit__, None, None, None, timeout=10)
        except Exception:  # closing is best effort: the process may be going down
            pass

    def _key(self, digest: str) -> str:
        return f"{self.base}/{blob_key(digest)}"

    def _stored_size(self, digest: str) -> int | None:
        try:
            return int(self.fs.info(self._key(digest))["size"])
        except FileNotFoundError:
            return None


    def _put(self, path: str, progress: ProgressFn | None, st: os.stat_result) -> tuple[str, int]:
        digest = self._hash_source(path, st)
        if self._stored_size(digest) == st.st_size:
            if progress is not None:
                progress(st.st_size)
            return digest, st.st_size
        key = self._key(digest)
        if self._make_folders:
            # a temporary key, renamed to the blob's key only if the file did not change while it was read
            tmp = f"{self.base}/tmp/{os.getpid()}-{secrets.token_hex(8)}"
            self.fs.makedirs(f"{self.base}/tmp", exist_ok=True)
            self.fs.makedirs(key.rsplit("/", 1)[0], exist_ok=True)
            try:
                self.fs.put_file(path, tmp, callback=_callback(progress))
                _check_unchanged(path, st)
                self.fs.mv(tmp, key)
            except BaseException:
                self._remove(tmp)
                raise
            return digest, st.st_size
        # An object store: straight to the blob's key, in parallel parts (a copy from a temporary key would
        # take as long again; the key shows the object whole or not at all).
        self.fs.put_file(path, key, callback=_callback(progress), **self._parts)
        try:
            _check_unchanged(path, st)
        except StoreError:
            if not self._holds(digest):
                self._remove(key)  # our upload, and wrong; a right copy that another process stored meanwhile stays
            raise
        return digest, st.st_size

    def _holds(self, digest: str) -> bool:
        """Whether the blob's key holds content that hashes to ``digest`` (read back in full: only after a failed upload)."""
        try:
            with self.open(digest) as f:
                while f.read(16 * 1024**2):
                    pass
        except (CorruptBlobError, MissingBlobError, OSError):
            return False
        return True

    def _remove(self, key: str) -> None:
        try:
            self.fs.rm_file(key)
        except (FileNotFoundError, OSError):
            pass

    def _fetch(self, digest: str, tmp: str, progress: ProgressFn | None) -> None:
        """Download the blob to the new file ``tmp`` and verify it."""
        try:
            self.fs.get_file(self._key(digest), tmp, callback=_callback(progress), **self._parts)
        except FileNotFoundError:
            _unlink(tmp)
            raise MissingBlobError(self._missing(digest)) from None
        except BaseException:
            _unlink(tmp)
            raise
        got = hash_file(tmp, like=digest)
        if got != digest:
            _unlink(tmp)
            raise CorruptBlobError(
                f"blob {digest} in {self.url} is corrupt (it hashes to {got}); delete it there and log the artifact again"
            )

    def get(self, digest: str, dest: str, progress: ProgressFn | None = None) -> None:
        os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
        if self.cache is None or not self.cache.enabled:
            tmp = temp_name(dest)
            self._fetch(digest, tmp, progress)
            publish(tmp, dest)
            return
        cached = self.cache.lookup(digest)
        if cached is None:
            tmp = self.cache.temp_path()
            self._fetch(digest, tmp, progress)
            cached = self.cache.add(tmp, digest)
            if self.digest_cache is not None:
                self.digest_cache.record_written(cached, digest)  # just verified by _fetch
            progress = None  # its bytes were counted as they arrived
        copy_out(cached, digest, dest, progress, self.digest_cache)

    def local_path(self, digest: str) -> str | None:
        return self.cache.lookup(digest) if self.cache is not None and self.cache.enabled else None

    def finish_downloads(self) -> None:
        super().finish_downloads()
        if self.cache is not None and self.cache.enabled:
            self.cache.enforce()

    def open(self, digest: str) -> IO[bytes]:
        key = self._key(digest)
        try:
            raw = self.fs.open(key, "rb")
        except FileNotFoundError:
            raise MissingBlobError(self._missing(digest)) from None
        return _VerifyingReader(raw, digest, f"{self.url}/{blob_key(digest)}")  # type: ignore[return-value]

    def delete(self, digest: str) -> None:
        self._remove(self._key(digest))

    def presigned_url(self, digest: str, method: str, expires: int = 3600) -> str | None:
        """S3 (and S3-compatible stores): a presigned ``get_object`` or ``put_object`` URL of the blob's key.

        Signing needs no request to the store (botocore computes it from the credentials).
        """
        if not self._parts:  # not S3: gs://, memory://, ... give none here
            return None
        if method not in ("GET", "PUT"):
            raise UsageError(f"presigned URLs are for GET or PUT; got {method!r}")
        client_method = "put_object" if method == "PUT" else "get_object"
        return self.fs.url(self._key(digest), expires=expires, client_method=client_method)
