"""Materialise a manifest into a folder: verified, atomic per file, skipping what is already right.

First every target is checked (in parallel, reading only files whose digest is not
already known): a file already present with the right content is skipped; a different
file, or a folder, where an entry goes is a conflict. Conflicts stop the download before
anything is written, unless ``overwrite=True``. Each file is then written under a
temporary name, checked against its digest, and renamed into place, so a killed
download leaves no half-written file under a final name; the next one completes it.
"""

from __future__ import annotations

import os

from ._digest import (
    LEGACY_PREFIX,
    default_workers,
    hash_file,
    hash_files,
    is_content_digest,
    parallel_map,
)
from ._errors import DownloadConflictError
from ._files import clean_dead_temps

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._blobs import BlobStore
    from ._manifest import Manifest, ManifestEntry
    from ._progress import ProgressFn
    from ._statcache import DigestCache

__all__ = ["DownloadReport", "download", "verify"]


class DownloadReport:
    """What :func:`download` did: the folder, and the entry paths it wrote and skipped."""

    def __init__(self, root: str, written: list[str] | None = None, skipped: list[str] | None = None) -> None:
        self.root = root
        self.written: list[str] = written if written is not None else []
        self.skipped: list[str] = skipped if skipped is not None else []

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DownloadReport) and (self.root, self.written, self.skipped) == (other.root, other.written, other.skipped)

    def __repr__(self) -> str:
        return f"DownloadReport(root={self.root!r}, written={self.written!r}, skipped={self.skipped!r})"


def _target(root: str, path: str) -> str:
    return os.path.join(root, *path.split("/"))


def _blocked_by_file(root: str, path: str, checked: dict[str, bool]) -> str | None:
    """The first parent folder of ``path`` (below ``root``) that exists as a non-folder, if any."""
    parts = path.split("/")[:-1]
    for i in range(1, len(parts) + 1):
        folder = os.path.join(root, *parts[:i])
        if folder not in checked:
            checked[folder] = os.path.exists(folder) and not os.path.isdir(folder)
        if checked[folder]:
            return folder
    return None


class _Plan:
    """Entries to fetch, entries already correct, differing files (replaceable) and blocked paths (not)."""

    def __init__(self) -> None:
        self.fetch: list[ManifestEntry] = []
        self.present: list[ManifestEntry] = []
        self.differ: list[ManifestEntry] = []
        self.blocked: list[tuple[str, str]] = []  # (path, why it cannot be replaced)


def _plan(manifest: Manifest, root: str, workers: int, cache: DigestCache | None) -> _Plan:
    plan = _Plan()
    to_hash: list[ManifestEntry] = []
    parents: dict[str, bool] = {}
    for entry in manifest:
        target = _target(root, entry.path)
        blocker = _blocked_by_file(root, entry.path, parents)
        if blocker is not None:
            plan.blocked.append((entry.path, f"its folder {os.path.relpath(blocker, root)} is a file"))
            continue
        try:
            st = os.stat(target)
        except FileNotFoundError:
            plan.fetch.append(entry)
            continue
        if os.path.isdir(target):
            plan.blocked.append((entry.path, "a folder is there"))
        elif entry.size is not None and st.st_size != entry.size:
            plan.differ.append(entry)
        elif is_content_digest(entry.digest):
            to_hash.append(entry)
        else:
            plan.present.append(entry)  # a reference with no content digest: same size is all we can check
    current = [e for e in to_hash if not e.digest.startswith(LEGACY_PREFIX)]
    legacy = [e for e in to_hash if e.digest.startswith(LEGACY_PREFIX)]  # SHA-256, checked without the cache
    digests = hash_files([_target(root, e.path) for e in current], workers=workers, cache=cache)
    digests += [hash_file(_target(root, e.path), like=e.digest) for e in legacy]
    for entry, digest in zip(current + legacy, digests):
        if digest == entry.digest:
            plan.present.append(entry)
        else:
            plan.differ.append(entry)
    return plan


def download(
    manifest: Manifest,
    root: str,
    store: BlobStore,
    overwrite: bool = False,
    progress: ProgressFn | None = None,
    workers: int | None = None,
) -> DownloadReport:
    """Write every entry of ``manifest`` under ``root``, verified against its digest.

    Args:
        overwrite: replace files that differ from the manifest instead of refusing.
        progress: called with bytes written, from worker threads.

    Raises:
        DownloadConflictError: ``root`` holds different files at the manifest's paths (and not ``overwrite``).
        MissingBlobError, CorruptBlobError: the store lacks a blob, or it does not match its digest.
    """
    from ._references import fetch_reference

    root = os.path.abspath(root)
    if os.path.exists(root) and not os.path.isdir(root):
        raise DownloadConflictError(f"cannot download into {root}: it is a file; choose a folder", [root])
    os.makedirs(root, exist_ok=True)
    workers = workers or max(default_workers(), getattr(store, "workers", 1))
    cache = getattr(store, "digest_cache", None)
    plan = _plan(manifest, root, workers, cache)
    conflicts = [p for p, _ in plan.blocked] + [e.path for e in plan.differ]
    if plan.blocked or (plan.differ and not overwrite):
        described = [f"{p} ({why})" for p, why in plan.blocked] + [e.path for e in plan.differ]
        shown = ", ".join(described[:5]) + (f" and {len(conflicts) - 5} more" if len(conflicts) > 5 else "")
        fix = ("move those files or folders out of the way" if plan.blocked else
               "pass overwrite=True (tracklet artifact get --overwrite) to replace them, or download into an empty folder")
        raise DownloadConflictError(f"{root} already holds different files where the artifact's go: {shown}; {fix}", conflicts)
    fetch = plan.fetch + plan.differ
    if progress is not None:
        for entry in plan.present:
            progress(entry.size or 0)
    for folder in {os.path.dirname(_target(root, e.path)) for e in fetch}:
        os.makedirs(folder, exist_ok=True)
        clean_dead_temps(folder)

    def one(entry: ManifestEntry) -> None:
        target = _target(root, entry.path)
        if entry.ref is not None:
            fetch_reference(entry, target, progress)
        else:
            store.get(entry.digest, target, progress)

    try:
        parallel_map(one, fetch, workers, "tracklet-get")
    finally:
        store.finish_downloads()
    return DownloadReport(root, sorted(e.path for e in fetch), [e.path for e in plan.present])


def verify(manifest: Manifest, root: str, cache: DigestCache | None = None) -> list[str]:
    """Entry paths under ``root`` that are missing or do not match ``manifest``; empty when all match."""
    root = os.path.abspath(root)
    plan = _plan(manifest, root, default_workers(), cache)
    return sorted([e.path for e in plan.fetch + plan.differ] + [p for p, _ in plan.blocked])
