"""Materialise a manifest into a folder: verified, atomic per file, never outside the folder.

A manifest read from a store is untrusted input: before anything is written, every entry
path is checked (relative, ``/``-separated, no empty, ``.`` or ``..`` part, no NUL or ``\\``,
no file where another entry needs a folder), and every reference is checked against the
caller's policy. References are fetched only when asked (``references=True``, or the schemes
to fetch); a ``file://`` reference only from under ``allow_roots``, and always checked
against its recorded digest when it has one.

Nothing is written through a symbolic link inside the folder: each entry's folder is
opened one part at a time with ``O_NOFOLLOW`` (and made when missing), and the file is
written through that open folder, so a link already inside the folder, or one swapped in
meanwhile, cannot send a write elsewhere. A folder that is a link is a conflict; a link
where a file goes is a file that differs, replaced (the link itself, never what it points
to) with ``overwrite=True``. The folder given as ``root`` may itself be a link: it is the
caller's choice.

Then every target is checked (in parallel, reading only files whose digest is not
already known): a file already present with the right content is skipped; a different
file, or a folder, where an entry goes is a conflict. Conflicts stop the download before
anything is written, unless ``overwrite=True``. Each file is then written under a
temporary name, checked against its digest, and renamed into place, so a killed
download leaves no half-written file under a final name; the next one completes it.
"""

from __future__ import annotations

import os
import stat as statmod
import threading

from ..._errors import UsageError
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
    from typing import Iterable

    from ._blobs import BlobStore
    from ._manifest import Manifest, ManifestEntry
    from ._progress import ProgressFn
    from ._statcache import DigestCache

__all__ = ["DownloadReport", "ReferencePolicy", "check_entry_paths", "download", "verify"]

_PROC_FD = "/proc/self/fd"  # a path through an open folder: resolved from that folder, never again by name
_HAVE_PROC_FD = os.path.isdir(_PROC_FD)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_AT_FDS = _HAVE_PROC_FD and {os.open, os.mkdir} <= os.supports_dir_fd


class DownloadReport:
    """What :func:`download` did: the folder, the entry paths it wrote and skipped, and references left where they are."""

    def __init__(self, root: str, written: list[str] | None = None, skipped: list[str] | None = None,
                 references: list[str] | None = None) -> None:
        self.root = root
        self.written: list[str] = written if written is not None else []
        self.skipped: list[str] = skipped if skipped is not None else []
        self.references: list[str] = references if references is not None else []  # not fetched: not asked for

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DownloadReport) and (self.root, self.written, self.skipped, self.references) == (
            other.root, other.written, other.skipped, other.references)

    def __repr__(self) -> str:
        refs = f", references={self.references!r}" if self.references else ""
        return f"DownloadReport(root={self.root!r}, written={self.written!r}, skipped={self.skipped!r}{refs})"


# -- what may be written: entry paths and references -----------------------------------------------
def check_entry_paths(manifest: Manifest) -> None:
    """Refuse a manifest whose entries could write outside the folder or collide.

    Raises:
        UsageError: an entry path is absolute, climbs out (``..``), holds NUL, ``\\`` or an empty
            part, or names a file where another entry needs a folder; or a stored file's digest is
            not a content digest.
    """
    from ._manifest import normalize_path

    paths = set()
    folders = set()
    for entry in manifest:
        path = entry.path
        try:
            canonical = isinstance(path, str) and "\0" not in path and normalize_path(path) == path
        except UsageError:
            canonical = False
        if not canonical:
            raise UsageError(
                f"refusing to download: the manifest's entry path {path!r} is not a plain relative path "
                "(absolute, '..', empty parts, NUL or '\\'); the store is damaged or was crafted"
            )
        if entry.ref is None and not is_content_digest(entry.digest):
            raise UsageError(f"refusing to download: the manifest's entry {path!r} has no content digest ({entry.digest!r})")
        paths.add(path)
        parts = path.split("/")
        folders.update("/".join(parts[:i]) for i in range(1, len(parts)))
    clash = paths & folders
    if clash:
        raise UsageError(
            f"refusing to download: the manifest names {sorted(clash)[0]!r} both as a file and as a folder; "
            "the store is damaged or was crafted"
        )


class ReferencePolicy:
    """Which references a download fetches, and from where ``file://`` ones may be read.

    Args:
        references: False (none: references are recorded, not copied), True (every scheme),
            or the schemes to fetch, e.g. ``["s3", "https"]``.
        allow_roots: local folders under which ``file://`` references may be read (links
            resolved first). None: ``TRACKLET_REFERENCE_ROOTS`` (folders separated by ``os.pathsep``);
            with neither, no ``file://`` reference is read.
    """

    def __init__(self, references: bool | Iterable[str] = False, allow_roots: Iterable[str] | None = None) -> None:
        from ._references import SCHEMES

        if references is True:
            self.schemes = frozenset(SCHEMES)
        elif references is False or references is None:
            self.schemes = frozenset()
        elif isinstance(references, str):
            raise UsageError(f"references= takes True, False or a list of schemes such as ['s3']; got {references!r}")
        else:
            wanted = {str(s).lower().removesuffix("://") for s in references}
            unknown = sorted(wanted - set(SCHEMES))
            if unknown:
                raise UsageError(f"references= names unknown schemes {unknown}; use some of {list(SCHEMES)}")
            self.schemes = frozenset(wanted | ({"gcs", "gs"} if wanted & {"gcs", "gs"} else set()))
        if allow_roots is None:
            env = os.environ.get("TRACKLET_REFERENCE_ROOTS", "")
            allow_roots = [p for p in env.split(os.pathsep) if p]
        elif isinstance(allow_roots, (str, os.PathLike)):
            allow_roots = [allow_roots]
        self.allow_roots = [os.path.realpath(os.path.expanduser(os.fspath(p))) for p in allow_roots]

    def wants(self, entry: ManifestEntry) -> bool:
        from ._references import scheme_of

        return entry.ref is not None and scheme_of(entry.ref) in self.schemes

    def local_source(self, entry: ManifestEntry) -> str:
        """The resolved path a ``file://`` reference may be read from.

        Raises:
            UsageError: it is not under an allowed root; the message names the fix.
        """
        from ._references import local_path

        real = os.path.realpath(local_path(entry.ref or ""))
        for allowed in self.allow_roots:
            if real == allowed or real.startswith(allowed.rstrip(os.sep) + os.sep):
                return real
        where = f"the allowed roots {self.allow_roots}" if self.allow_roots else "an allowed root (none is set)"
        raise UsageError(
            f"refusing to read the file:// reference {entry.ref} (entry {entry.path!r}): {real} is not under {where}; "
            "pass allow_roots=['/folder/it/is/in'] (or set TRACKLET_REFERENCE_ROOTS) if you trust it, "
            "or download without references"
        )


# -- folders below the root, opened without following links ----------------------------------------
class _Folders:
    """Entry folders below ``root``, each opened part by part with ``O_NOFOLLOW`` and made when missing.

    ``path(parts)`` gives a path that reaches the folder through its open descriptor
    (``/proc/self/fd/N``): what is written there lands in that folder, whatever links appear
    by name meanwhile. Where ``/proc`` or ``openat`` are missing, each part is checked with
    ``lstat`` instead (a link swapped in between the check and the write is not caught there).
    """

    _CACHED = 256  # open folders kept; beyond, a folder is opened for each file

    def __init__(self, root: str) -> None:
        self.root = root
        self._fds: dict[tuple[str, ...], int] = {}
        self._lock = threading.Lock()
        self._root_fd = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)) if _AT_FDS else -1

    def path(self, parts: tuple[str, ...]) -> tuple[str, int]:
        """``(folder path to write through, descriptor to close or -1)``."""
        if not parts:
            return (f"{_PROC_FD}/{self._root_fd}", -1) if _AT_FDS else (self.root, -1)
        if not _AT_FDS:
            return self._checked_path(parts), -1
        with self._lock:
            fd = self._fds.get(parts)
        if fd is not None:
            return f"{_PROC_FD}/{fd}", -1
        fd = self._open(parts)
        with self._lock:
            if len(self._fds) < self._CACHED and parts not in self._fds:
                self._fds[parts] = fd
                return f"{_PROC_FD}/{fd}", -1
        return f"{_PROC_FD}/{fd}", fd

    def _open(self, parts: tuple[str, ...]) -> int:
        fd = self._root_fd
        try:
            for i, part in enumerate(parts):
                try:
                    nxt = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    try:
                        os.mkdir(part, 0o777, dir_fd=fd)
                    except FileExistsError:
                        pass  # another thread made it
                    nxt = self._open_part(part, fd, parts[: i + 1])
                except (NotADirectoryError, OSError) as exc:
                    raise self._not_a_folder(parts[: i + 1], exc) from None
                if fd != self._root_fd:
                    os.close(fd)
                fd = nxt
        except BaseException:
            if fd != self._root_fd:
                os.close(fd)
            raise
        return fd

    def _open_part(self, part: str, fd: int, upto: tuple[str, ...]) -> int:
        try:
            return os.open(part, _DIR_FLAGS, dir_fd=fd)
        except OSError as exc:
            raise self._not_a_folder(upto, exc) from None

    def _not_a_folder(self, parts: tuple[str, ...], exc: OSError) -> DownloadConflictError:
        rel = "/".join(parts)
        return DownloadConflictError(
            f"cannot write under {os.path.join(self.root, *parts)}: it is not a real folder ({exc.strerror}); "
            "tracklet never writes through a symbolic link inside the download folder: move it out of the way",
            [rel],
        )

    def _checked_path(self, parts: tuple[str, ...]) -> str:
        path = self.root
        for i, part in enumerate(parts):
            path = os.path.join(path, part)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                try:
                    os.mkdir(path)
                except FileExistsError:
                    pass
                st = os.lstat(path)
            if not statmod.S_ISDIR(st.st_mode):
                raise self._not_a_folder(parts[: i + 1], OSError(0, "a link or a file"))
        return path

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
        if self._root_fd >= 0:
            os.close(self._root_fd)
            self._root_fd = -1


# -- planning: what is there already --------------------------------------------------------------
def _target(root: str, path: str) -> str:
    return os.path.join(root, *path.split("/"))


def _blocked_folder(root: str, path: str, checked: dict[str, str | None]) -> tuple[str, str] | None:
    """The first parent folder of ``path`` (below ``root``) that exists as a non-folder or a link: (folder, why)."""
    parts = path.split("/")[:-1]
    for i in range(1, len(parts) + 1):
        folder = os.path.join(root, *parts[:i])
        if folder not in checked:
            try:
                mode = os.lstat(folder).st_mode
            except FileNotFoundError:
                checked[folder] = None
                return None  # nothing below it exists either
            checked[folder] = (None if statmod.S_ISDIR(mode) else
                               "is a symbolic link (tracklet never writes through links)" if statmod.S_ISLNK(mode) else "is a file")
        if checked[folder] is not None:
            return folder, checked[folder]  # type: ignore[return-value]
    return None


class _Plan:
    """Entries to fetch, entries already correct, differing files (replaceable) and blocked paths (not)."""

    def __init__(self) -> None:
        self.fetch: list[ManifestEntry] = []
        self.present: list[ManifestEntry] = []
        self.differ: list[ManifestEntry] = []
        self.blocked: list[tuple[str, str]] = []  # (path, why it cannot be replaced)


def _plan(entries: list[ManifestEntry], root: str, workers: int, cache: DigestCache | None) -> _Plan:
    plan = _Plan()
    to_hash: list[ManifestEntry] = []
    parents: dict[str, str | None] = {}
    for entry in entries:
        target = _target(root, entry.path)
        blocker = _blocked_folder(root, entry.path, parents)
        if blocker is not None:
            plan.blocked.append((entry.path, f"its folder {os.path.relpath(blocker[0], root)} {blocker[1]}"))
            continue
        try:
            st = os.lstat(target)
        except FileNotFoundError:
            plan.fetch.append(entry)
            continue
        if statmod.S_ISDIR(st.st_mode):
            plan.blocked.append((entry.path, "a folder is there"))
        elif not statmod.S_ISREG(st.st_mode):
            plan.differ.append(entry)  # a link (never followed) or a special file: not the artifact's file
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


def _split(manifest: Manifest, policy: ReferencePolicy) -> tuple[list[ManifestEntry], list[str], dict[str, str]]:
    """(entries to materialise, references left where they are, resolved sources of file:// references)."""
    from ._references import scheme_of

    wanted: list[ManifestEntry] = []
    left: list[str] = []
    sources: dict[str, str] = {}
    for entry in manifest:
        if entry.ref is None:
            wanted.append(entry)
        elif not policy.wants(entry):
            left.append(entry.path)
        else:
            if scheme_of(entry.ref) == "file":
                sources[entry.path] = policy.local_source(entry)
            wanted.append(entry)
    return wanted, left, sources


def download(
    manifest: Manifest,
    root: str,
    store: BlobStore,
    overwrite: bool = False,
    progress: ProgressFn | None = None,
    workers: int | None = None,
    references: bool | Iterable[str] = False,
    allow_roots: Iterable[str] | None = None,
) -> DownloadReport:
    """Write every entry of ``manifest`` under ``root``, verified against its digest.

    Args:
        overwrite: replace files (and links) that differ from the manifest instead of refusing.
        progress: called with bytes written, from worker threads.
        references: which references to fetch: False (none; listed in the report's ``references``),
            True (all), or a list of schemes (``["s3", "file"]``).
        allow_roots: folders ``file://`` references may be read from (see :class:`ReferencePolicy`).

    Raises:
        UsageError: an entry path could write outside ``root``, or a ``file://`` reference to fetch
            lies outside ``allow_roots``; nothing is written.
        DownloadConflictError: ``root`` holds different files at the manifest's paths (and not
            ``overwrite``), or a folder on the way is a link or a file.
        MissingBlobError, CorruptBlobError: the store lacks a blob, or it (or a referenced file) does not
            match its digest.
    """
    from ._references import fetch_reference

    check_entry_paths(manifest)
    policy = ReferencePolicy(references, allow_roots)
    entries, left, sources = _split(manifest, policy)
    root = os.path.abspath(root)
    if os.path.exists(root) and not os.path.isdir(root):
        raise DownloadConflictError(f"cannot download into {root}: it is a file; choose a folder", [root])
    os.makedirs(root, exist_ok=True)
    workers = workers or max(default_workers(), getattr(store, "workers", 1))
    cache = getattr(store, "digest_cache", None)
    plan = _plan(entries, root, workers, cache)
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
    folders = _Folders(root)
    try:
        for parts in sorted({tuple(e.path.split("/")[:-1]) for e in fetch}):
            folder, fd = folders.path(parts)
            clean_dead_temps(folder)
            if fd >= 0:
                os.close(fd)

        def one(entry: ManifestEntry) -> None:
            parts = entry.path.split("/")
            folder, fd = folders.path(tuple(parts[:-1]))
            try:
                target = os.path.join(folder, parts[-1])
                if entry.ref is not None:
                    fetch_reference(entry, target, progress, source=sources.get(entry.path))
                else:
                    store.get(entry.digest, target, progress)
            finally:
                if fd >= 0:
                    os.close(fd)

        try:
            parallel_map(one, fetch, workers, "tracklet-get")
        finally:
            store.finish_downloads()
    finally:
        folders.close()
    return DownloadReport(root, sorted(e.path for e in fetch), [e.path for e in plan.present], left)


def verify(manifest: Manifest, root: str, cache: DigestCache | None = None, references: bool | Iterable[str] = False) -> list[str]:
    """Entry paths under ``root`` that are missing or do not match ``manifest``; empty when all match.

    References are checked only when ``references`` asks for them (as in :func:`download`); a link
    where a file goes never matches.
    """
    check_entry_paths(manifest)
    policy = ReferencePolicy(references, allow_roots=())
    root = os.path.abspath(root)
    entries = [e for e in manifest if e.ref is None or policy.wants(e)]
    plan = _plan(entries, root, default_workers(), cache)
    return sorted([e.path for e in plan.fetch + plan.differ] + [p for p, _ in plan.blocked])
