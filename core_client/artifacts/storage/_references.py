"""References: entries that point at content elsewhere (``s3://``, ``gs://``, ``https://``, ``file://``).

A reference is recorded, not copied. With ``checksum=True`` it records what identifies
the content: the BLAKE3 digest of a local file, else the object's ETag (or MD5, or size and
mtime) from fsspec's ``info()``; a download then checks the object has not changed.
With ``checksum=False`` the URI itself stands in for the digest.

A download fetches references only when asked (see ``_download.ReferencePolicy``): a
manifest from a store is untrusted, and a ``file://`` reference could name any file this
user can read. A ``file://`` reference is read only from a path the caller allowed, and is
checked against its content digest when it has one.
"""

from __future__ import annotations

import os
import posixpath
from urllib.parse import unquote, urlparse

from ..._errors import UsageError
from ._digest import hash_files
from ._errors import CorruptBlobError, MissingBlobError
from ._files import publish, temp_name
from ._manifest import ManifestEntry, normalize_path
from ._progress import ProgressFn
from ._statcache import DigestCache

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["SCHEMES", "fetch_reference", "local_path", "resolve_reference", "scheme_of"]

SCHEMES = ("file", "s3", "gs", "gcs", "http", "https")


def _scheme(uri: str) -> str:
    scheme = urlparse(uri).scheme.lower()
    if scheme not in SCHEMES:
        raise UsageError(
            f"cannot reference {uri!r}: unknown scheme {scheme + '://' if scheme else '(none)'}; "
            f"use one of {', '.join(s + '://' for s in SCHEMES)} (a plain path: add_file or add_dir)"
        )
    return scheme


def scheme_of(uri: str) -> str:
    """The URI's scheme, lower case (``""`` for none)."""
    return urlparse(uri).scheme.lower()


def local_path(uri: str) -> str:
    """The local path a ``file://`` URI names."""
    parsed = urlparse(uri)
    return unquote(parsed.netloc + parsed.path) if parsed.netloc not in ("", "localhost") else unquote(parsed.path)


def _checksum(info: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The best identity in an fsspec ``info()``: ETag, MD5, or size and mtime."""
    extra: dict[str, Any] = {}
    for key in ("ETag", "etag", "e_tag", "md5Hash", "md5", "content_md5"):
        if info.get(key):
            value = str(info[key]).strip('"')
            extra["etag"] = value
            for vkey in ("VersionId", "version_id", "generation"):
                if info.get(vkey):
                    extra["version_id"] = str(info[vkey])
            return value, extra
    for key in ("LastModified", "mtime", "last_modified", "updated", "created"):
        if info.get(key):
            extra["mtime"] = str(info[key])
            return f"{info.get('size')}:{extra['mtime']}", extra
    return None, extra


def resolve_reference(
    uri: str,
    name: str | None = None,
    checksum: bool = True,
    max_objects: int = 10_000,
    digest_cache: DigestCache | None = None,
    **storage_options: Any,
) -> list[ManifestEntry]:
    """Manifest entries for the object (or every object under the prefix/folder) at ``uri``.

    Args:
        name: the entry's path (for a prefix: the folder the objects go under); default the URI's last part.
        checksum: record the content's identity, so downloads can check it; False records the URI only.
        max_objects: refuse a prefix holding more objects than this.

    Raises:
        UsageError: unknown scheme, nothing at ``uri``, or too many objects.
    """
    scheme = _scheme(uri)
    if not checksum:
        base = name or posixpath.basename(uri.rstrip("/")) or "reference"
        return [ManifestEntry(normalize_path(base), uri, None, uri)]
    if scheme == "file":
        return _resolve_local(uri, name, max_objects, digest_cache)
    from ._fsspec_store import filesystem_for

    fs, path = filesystem_for(uri, **storage_options)
    try:
        info = fs.info(path)
    except FileNotFoundError:
        raise UsageError(f"cannot reference {uri!r}: nothing is there; check the URI and your credentials") from None
    if info.get("type") != "directory":
        digest, extra = _checksum(info)
        base = name or posixpath.basename(path.rstrip("/"))
        return [ManifestEntry(normalize_path(base), digest or uri, info.get("size"), uri, extra)]
    found = fs.find(path, detail=True, maxdepth=None)
    if len(found) > max_objects:
        raise UsageError(
            f"{uri!r} holds {len(found)} objects, over max_objects={max_objects}; raise it or reference a narrower prefix"
        )
    prefix = uri.rstrip("/")
    entries = []
    for key, obj in sorted(found.items()):
        rel = key[len(path.rstrip("/")) + 1:]
        digest, extra = _checksum(obj)
        ref = f"{prefix}/{rel}"
        path_in_artifact = normalize_path(posixpath.join(name, rel) if name else rel)
        entries.append(ManifestEntry(path_in_artifact, digest or ref, obj.get("size"), ref, extra))
    return entries


def _resolve_local(uri: str, name: str | None, max_objects: int, cache: DigestCache | None) -> list[ManifestEntry]:
    path = local_path(uri)
    if os.path.isfile(path):
        files = [(path, name or os.path.basename(path))]
    elif os.path.isdir(path):
        files = []
        for folder, _, names in os.walk(path):
            for fname in names:
                full = os.path.join(folder, fname)
                rel = os.path.relpath(full, path).replace(os.sep, "/")
                files.append((full, posixpath.join(name, rel) if name else rel))
        if len(files) > max_objects:
            raise UsageError(
                f"{uri!r} holds {len(files)} files, over max_objects={max_objects}; raise it or reference a subfolder"
            )
    else:
        raise UsageError(f"cannot reference {uri!r}: no such file or folder; check the path")
    digests = hash_files([f for f, _ in files], cache=cache)
    if cache is not None:
        cache.flush()
    entries = []
    for (full, entry_name), digest in zip(files, digests):
        st = os.stat(full)
        ref = "file://" + os.path.abspath(full) if full != path else uri
        entries.append(ManifestEntry(normalize_path(entry_name), digest, st.st_size, ref, {"mtime": st.st_mtime}))
    return entries


def fetch_reference(
    entry: ManifestEntry, dest: str, progress: ProgressFn | None = None, source: str | None = None, **storage_options: Any
) -> None:
    """Copy the referenced content to ``dest`` atomically, checking it is what was recorded.

    Args:
        source: for a ``file://`` reference, the resolved local path the caller allowed it to be
            read from (``ReferencePolicy.local_source``); required for ``file://``.

    Raises:
        UsageError: a ``file://`` reference without an allowed ``source``, or one whose path now
            resolves elsewhere (a link changed meanwhile).
        MissingBlobError: the referenced object is gone.
        CorruptBlobError: it changed since it was recorded.
    """
    assert entry.ref is not None
    scheme = _scheme(entry.ref)
    if scheme == "file":
        _fetch_local(entry, dest, progress, source)
        return
    os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
    tmp = temp_name(dest)
    changed = f"the referenced object {entry.ref} changed since the artifact was logged"
    try:
        from ._fsspec_store import _callback, filesystem_for

        fs, path = filesystem_for(entry.ref, **storage_options)
        try:
            info = fs.info(path)
        except FileNotFoundError:
            raise MissingBlobError(
                f"the referenced object {entry.ref} no longer exists; restore it or log a new version"
            ) from None
        recorded = entry.extra.get("etag") or (entry.digest if entry.digest != entry.ref else None)
        now, _ = _checksum(info)
        if recorded and now and now != recorded:
            raise CorruptBlobError(f"{changed} (was {recorded}, now {now}); log a new version to use it")
        fs.get_file(path, tmp, callback=_callback(progress))
        publish(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _fetch_local(entry: ManifestEntry, dest: str, progress: ProgressFn | None, source: str | None) -> None:
    """A ``file://`` reference: read only from ``source`` (allowed by the caller), checked against its digest."""
    if source is None:
        raise UsageError(f"refusing to read the file:// reference {entry.ref}: no allowed root covers it")
    if os.path.realpath(local_path(entry.ref or "")) != source:
        raise UsageError(f"refusing to read the file:// reference {entry.ref}: it now resolves elsewhere than {source}")
    if not os.path.exists(source):
        raise MissingBlobError(f"the referenced file {entry.ref} no longer exists; restore it or log a new version")
    changed = f"the referenced object {entry.ref} changed since the artifact was logged"
    if entry.has_content_digest:
        from ._blobs import copy_verified

        try:
            copy_verified(source, entry.digest, dest, progress)
        except CorruptBlobError:
            raise CorruptBlobError(f"{changed}: its content no longer matches; log a new version") from None
        return
    from ._files import clone_file

    tmp = temp_name(dest)
    try:
        clone_file(source, tmp, progress=progress)
        if entry.size is not None and os.path.getsize(tmp) != entry.size:
            raise CorruptBlobError(f"{changed}: it holds {os.path.getsize(tmp)} bytes, not {entry.size}; log a new version")
        publish(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
