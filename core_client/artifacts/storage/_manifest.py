"""The manifest: what an artifact version holds, as ``path -> (digest, size)`` or a reference.

A manifest is plain JSON and has a canonical digest over its entries alone (paths,
digests, sizes and references, sorted), so identical content always gives an
identical digest, whatever order the files were added in and whenever they were logged.
"""

from __future__ import annotations

import json
import posixpath

from ..._errors import UsageError
from ._digest import ALGORITHM, LEGACY_PREFIX, hash_bytes, is_content_digest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterable, Iterator, Mapping

    from ._blobs import BlobStore
    from ._download import DownloadReport
    from ._progress import ProgressFn

__all__ = ["Manifest", "ManifestEntry", "normalize_path"]

_FORMAT = 1
_NOT_PARTS = frozenset(("", ".", ".."))


def normalize_path(name: str) -> str:
    """The canonical form of an entry's path: relative, ``/``-separated, no ``.`` or ``..`` parts.

    Raises:
        UsageError: the path is empty, absolute, or climbs out of the artifact.
    """
    if not isinstance(name, str) or not name.strip():
        raise UsageError(f"an artifact entry needs a non-empty relative path, got {name!r}")
    parts = name.split("/")
    if "\\" not in name and "\0" not in name and ":" not in parts[0] and _NOT_PARTS.isdisjoint(parts):
        return name  # already canonical (relative, no empty, '.' or '..' parts, no drive): the common case
    text = name.replace("\\", "/")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise UsageError(
            f"artifact entry path {name!r} is absolute; give a path relative to the artifact, e.g. name='data/train.csv'"
        )
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if not parts or ".." in parts or "\0" in text:
        raise UsageError(f"artifact entry path {name!r} must stay inside the artifact; remove '..' parts")
    return posixpath.join(*parts)


class ManifestEntry:
    """One file of an artifact (immutable).

    Attributes:
        path: where the file goes inside the artifact (``data/train.csv``).
        digest: hex BLAKE3 of the content (``sha256:<hex>`` in versions logged before BLAKE3);
            for a reference, its ETag or other checksum (or the URI itself when recorded
            with ``checksum=False``).
        size: bytes (None when a reference's size is unknown).
        ref: the URI of a reference (recorded, not copied); None for stored files.
        extra: what else is known about a reference (``etag``, ``mtime``, ``version_id``...);
            not part of the manifest's digest nor of equality.
    """

    __slots__ = ("path", "digest", "size", "ref", "extra")

    path: str
    digest: str
    size: int | None
    ref: str | None
    extra: Mapping[str, Any]

    def __init__(self, path: str, digest: str, size: int | None, ref: str | None = None, extra: Mapping[str, Any] | None = None) -> None:
        setattr_ = object.__setattr__
        setattr_(self, "path", path)
        setattr_(self, "digest", digest)
        setattr_(self, "size", size)
        setattr_(self, "ref", ref)
        setattr_(self, "extra", extra or {})

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"ManifestEntry is immutable; build a new one instead of setting {name!r}")

    def _key(self) -> tuple[str, str, int | None, str | None]:
        return (self.path, self.digest, self.size, self.ref)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ManifestEntry) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        ref = f", ref={self.ref!r}" if self.ref is not None else ""
        return f"ManifestEntry(path={self.path!r}, digest={self.digest!r}, size={self.size!r}{ref})"

    @property
    def is_reference(self) -> bool:
        """Whether the content lives at ``ref`` rather than in the blob store."""
        return self.ref is not None

    @property
    def has_content_digest(self) -> bool:
        """Whether ``digest`` is a hash of the content that tracklet can check a copy against."""
        return is_content_digest(self.digest)

    def to_json(self) -> dict[str, Any]:
        """The entry as a JSON object (without its path, which is the key)."""
        out: dict[str, Any] = {"digest": self.digest, "size": self.size}
        if self.ref is not None:
            out["ref"] = self.ref
        if self.extra:
            out["extra"] = dict(self.extra)
        return out

    @classmethod
    def from_json(cls, path: str, data: Mapping[str, Any], legacy: bool = False) -> ManifestEntry:
        """Read an entry written by :meth:`to_json`; ``legacy``: its digest is a bare SHA-256 hex."""
        digest, ref = data["digest"], data.get("ref")
        if legacy and ref is None and not digest.startswith(LEGACY_PREFIX):
            digest = LEGACY_PREFIX + digest
        return cls(normalize_path(path), digest, data.get("size"), ref, dict(data.get("extra") or {}))


class Manifest:
    """The entries of an artifact version, keyed by path.

    >>> m = Manifest(store.put_many([("/data/train.csv", "train.csv")]))
    >>> m.digest, m.size, m["train.csv"].digest
    """

    def __init__(self, entries: Iterable[ManifestEntry] = ()) -> None:
        self._entries: dict[str, ManifestEntry] = {}
        for entry in entries:
            self.add(entry)

    def add(self, entry: ManifestEntry, replace: bool = True) -> None:
        """Add ``entry``; with ``replace=False`` a second entry at the same path raises UsageError."""
        path = normalize_path(entry.path)
        if path != entry.path:
            entry = ManifestEntry(path, entry.digest, entry.size, entry.ref, entry.extra)
        if not replace and path in self._entries:
            raise UsageError(f"the artifact already has an entry at {path!r}; remove it first or choose another name=")
        self._entries[path] = entry

    def remove(self, path: str) -> ManifestEntry:
        """Remove and return the entry at ``path`` (or every entry under it, returning the first)."""
        path = normalize_path(path)
        if path in self._entries:
            return self._entries.pop(path)
        under = [p for p in self._entries if p.startswith(path + "/")]
        if not under:
            raise UsageError(f"the artifact has no entry {path!r}; its entries are listed by .files()")
        removed = [self._entries.pop(p) for p in under]
        return removed[0]

    def get(self, path: str) -> ManifestEntry | None:
        """The entry at ``path``, or None."""
        return self._entries.get(normalize_path(path))

    def __getitem__(self, path: str) -> ManifestEntry:
        entry = self.get(path)
        if entry is None:
            raise KeyError(path)
        return entry

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and self.get(path) is not None

    def __iter__(self) -> Iterator[ManifestEntry]:
        return iter(sorted(self._entries.values(), key=lambda e: e.path))

    def __len__(self) -> int:
        return len(self._entries)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Manifest) and self.digest == other.digest

    def __repr__(self) -> str:
        return f"Manifest({len(self)} entries, {self.size} bytes, digest={self.digest[:12]})"

    @property
    def size(self) -> int:
        """Total bytes of the entries whose size is known."""
        return sum(e.size or 0 for e in self._entries.values())

    @property
    def digest(self) -> str:
        """Hex BLAKE3 over the sorted ``(path, digest, size, ref)`` of every entry."""
        rows = [[e.path, e.digest, e.size, e.ref] for e in self]
        text = json.dumps({"algorithm": ALGORITHM, "entries": rows}, separators=(",", ":"), ensure_ascii=False)
        return hash_bytes(text.encode("utf-8"))

    def to_json(self) -> dict[str, Any]:
        """The manifest as a JSON object: ``{"version", "algorithm", "entries": {path: {...}}}``."""
        return {"version": _FORMAT, "algorithm": ALGORITHM, "entries": {e.path: e.to_json() for e in self}}

    def dumps(self) -> str:
        """The manifest as compact JSON text."""
        return json.dumps(self.to_json(), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Manifest:
        """Read a manifest written by :meth:`to_json` (also by tracklets that used SHA-256).

        Raises:
            UsageError: the manifest is of a newer format than this tracklet reads.
        """
        algorithm = data.get("algorithm", ALGORITHM)
        if data.get("version", _FORMAT) > _FORMAT or algorithm not in (ALGORITHM, "sha256"):
            raise UsageError("this artifact manifest was written by a newer tracklet; upgrade with: pip install -U tracklet")
        legacy = algorithm == "sha256"
        return cls(ManifestEntry.from_json(path, entry, legacy) for path, entry in data.get("entries", {}).items())

    @classmethod
    def loads(cls, text: str) -> Manifest:
        """Read a manifest from :meth:`dumps` text."""
        return cls.from_json(json.loads(text))

    def download(
        self,
        root: str,
        store: BlobStore,
        overwrite: bool = False,
        progress: ProgressFn | None = None,
        workers: int | None = None,
        references: bool | Iterable[str] = False,
        allow_roots: Iterable[str] | None = None,
    ) -> DownloadReport:
        """Materialise the entries under ``root``, verified; references only when asked (see :func:`tracklet.artifacts.storage.download`)."""
        from ._download import download

        return download(self, root, store, overwrite=overwrite, progress=progress, workers=workers,
                        references=references, allow_roots=allow_roots)

    def verify(self, root: str, references: bool | Iterable[str] = False) -> list[str]:
        """Paths under ``root`` that are missing or differ from this manifest (references only when asked); empty when all match."""
        from ._download import verify

        return verify(self, root, references=references)
