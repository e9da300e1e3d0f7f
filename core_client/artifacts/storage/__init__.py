"""The artifact storage engine: digests, content-addressed blob stores, a capped cache, manifests.

Nothing here is imported by ``import tracklet``; fsspec and its backends load only when a
remote store is opened. The user-facing ``Artifact`` builds on this API::

    from tracklet.artifacts.storage import Manifest, TransferProgress, open_blob_store

    store = open_blob_store(url, root=settings.dir)        # None: <root>/blobs; or s3://bucket/prefix, ...
    entries = store.put_many([(path, "data/train.csv"), ...], progress=cb)   # -> list[ManifestEntry]
    manifest = Manifest(entries)                            # + resolve_reference("s3://...", name=...)
    manifest.digest                                         # identical content -> identical digest
    text = manifest.dumps(); Manifest.loads(text)
    manifest.download(root, store, overwrite=False)         # -> DownloadReport(root, written, skipped, references)
    manifest.download(root, store, references=["s3"])       # also fetch references (file:// needs allow_roots=)
    manifest.verify(root)                                   # -> paths missing or different

Blob store (``BlobStore``): ``put(path) -> (digest, size)``, ``put_many``, ``put_bytes``,
``exists``, ``size``, ``get(digest, dest)`` (atomic, verified), ``open(digest)`` (verifies at
EOF), ``delete``, ``local_path``. Local layout: ``<root>/blobs/blake3/<digest>`` (read-only
files; temporaries in ``<root>/blobs/tmp``), ``<root>/cache/digests-blake3.sqlite`` (digests of local
files by identity, so unchanged files are not re-read), ``<root>/cache/blobs`` (download cache of
remote stores, capped by ``TRACKLET_CACHE_SIZE``, default 10 GiB, least recently used evicted).

Progress callbacks take the number of bytes done since the last call and are called from worker
threads; ``TransferProgress(total, label)`` is one that draws a bar on a terminal after 0.5 s.

A manifest read from a store is untrusted: a download refuses entry paths that could leave
its folder, writes nothing through a symbolic link inside it, fetches references only when
asked, reads ``file://`` references only under ``allow_roots`` (or ``TRACKLET_REFERENCE_ROOTS``)
and checks them against their digest.

Errors: ``UsageError`` for bad input (missing file, folder given as a file, unknown URL scheme,
bad path, an unsafe manifest or reference); ``DownloadConflictError`` (a ``UsageError``) for a folder holding different files;
``MissingBlobError`` and ``CorruptBlobError`` (``StoreError``) for a store that lacks or mangled a blob.
"""

from ..._lazy import lazy_attribute
from ._blobs import BlobStore as BlobStore
from ._blobs import LocalBlobStore as LocalBlobStore
from ._blobs import blob_store_of as blob_store_of
from ._blobs import open_blob_store as open_blob_store
from ._digest import copy_and_hash as copy_and_hash
from ._digest import copy_then_hash as copy_then_hash
from ._digest import hash_bytes as hash_bytes
from ._digest import hash_file as hash_file
from ._digest import hash_files as hash_files
from ._errors import CorruptBlobError as CorruptBlobError
from ._errors import DownloadConflictError as DownloadConflictError
from ._errors import MissingBlobError as MissingBlobError
from ._manifest import Manifest as Manifest
from ._manifest import ManifestEntry as ManifestEntry
from ._manifest import normalize_path as normalize_path
from ._progress import ProgressFn as ProgressFn
from ._progress import TransferProgress as TransferProgress
from ._statcache import DigestCache as DigestCache

# Loaded on first use: storing files (the first log of an artifact) needs none of these.
_LAZY = {
    "BlobCache": "._cache",
    "parse_size": "._cache",
    "DownloadReport": "._download",
    "ReferencePolicy": "._download",
    "resolve_reference": "._references",
}


def __getattr__(name: str) -> object:
    value = lazy_attribute(__name__, _LAZY, name)
    globals()[name] = value
    return value


__all__ = [
    "BlobCache",
    "BlobStore",
    "CorruptBlobError",
    "DigestCache",
    "DownloadConflictError",
    "DownloadReport",
    "LocalBlobStore",
    "Manifest",
    "ManifestEntry",
    "MissingBlobError",
    "ProgressFn",
    "ReferencePolicy",
    "TransferProgress",
    "copy_and_hash",
    "copy_then_hash",
    "hash_bytes",
    "hash_file",
    "hash_files",
    "normalize_path",
    "blob_store_of",
    "open_blob_store",
    "parse_size",
    "resolve_reference",
]
