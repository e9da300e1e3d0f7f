"""``tracklet.Artifact``: a versioned, content-addressed set of files (a dataset, a model, results).

Build one with ``add_file`` / ``add_dir`` / ``add_reference`` / ``new_file``, then
``run.log_artifact(artifact)``: the files are hashed and stored once by digest on a background
thread, and the version (``v0``, ``v1``, ...) is assigned when the store takes the record.
An artifact read back through ``Api`` or ``run.use_artifact`` is the same class, committed.
"""

from __future__ import annotations

import operator
import os
import stat as statmod
import threading
import time
from contextlib import contextmanager

from .._errors import UsageError
from .._jsonable import to_jsonable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator

__all__ = ["Artifact", "ArtifactEntry", "check_aliases", "check_artifact_name", "parse_artifact_path"]

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
REFERENCE_SCHEMES = ("s3", "gs", "https", "http", "file")


def check_artifact_name(name: Any, what: str = "artifact name") -> str:
    if not isinstance(name, str) or not name or len(name) > 128 or not set(name) <= _NAME_CHARS or name[0] in ".-":
        raise UsageError(
            f"{what} {name!r} is not allowed: use 1-128 letters, digits, '-', '_' or '.', "
            "starting with a letter or digit (no ':' or '/': those separate the alias and the project)"
        )
    return name


def _is_version_name(alias: str) -> bool:
    return len(alias) > 1 and alias[0] == "v" and alias[1:].isdigit()


def check_aliases(aliases: Any) -> list[str]:
    """Validate user aliases: names, unique, never ``vN`` (versions name themselves)."""
    if aliases is None:
        return []
    if isinstance(aliases, str):
        aliases = [aliases]
    out: list[str] = []
    for alias in aliases:
        check_artifact_name(alias, "alias")
        if _is_version_name(alias):
            raise UsageError(f"alias {alias!r} names a version; versions are numbered for you. Pick another alias, e.g. 'best'")
        if alias not in out:
            out.append(alias)
    return out


def parse_artifact_path(path: str, default_project: str | None = None) -> tuple[str | None, str | None, str, str]:
    """``[entity/]project/name[:alias]`` or ``name[:alias]`` -> (entity, project, name, alias or ``latest``)."""
    if not isinstance(path, str) or not path.strip("/"):
        raise UsageError(f"an artifact path is 'project/name:alias'; got {path!r}")
    body, _, alias = path.strip("/").partition(":")
    parts = body.split("/")
    if len(parts) > 3:
        raise UsageError(f"an artifact path is '[entity/]project/name:alias'; got {path!r}")
    name = parts[-1]
    project = parts[-2] if len(parts) >= 2 else default_project
    entity = parts[0] if len(parts) == 3 else None
    check_artifact_name(name)
    return entity, project, name, alias or "latest"


class ArtifactEntry:
    """One file of an artifact: its path inside the artifact, digest and size, or a reference."""

    __slots__ = ("_artifact", "_stat", "digest", "path", "ref", "size", "source")

    def __init__(self, path: str, digest: str | None, size: int | None, ref: str | None = None,
                 source: str | None = None, artifact: "Artifact | None" = None, stat: os.stat_result | None = None) -> None:
        self.path, self.digest, self.size, self.ref, self.source = path, digest, size, ref, source
        self._artifact = artifact
        self._stat = stat  # of ``source`` when it was added: the upload trusts it and stats nothing again

    def download(self, root: str | None = None, allow_roots: Any = None) -> str:
        """Materialise this one file (verified) and return its local path.

        A reference is fetched too, since it is asked for by name; a ``file://`` one only from
        under ``allow_roots`` (see ``Artifact.download``).
        """
        if self._artifact is None:
            raise UsageError("this entry does not belong to a logged artifact")
        return self._artifact._download_entries(root, [self.path], allow_roots)[0]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"digest": self.digest, "size": self.size}
        if self.ref is not None:
            out["ref"] = self.ref
        return out

    def __repr__(self) -> str:
        return f"ArtifactEntry({self.path!r}, digest={str(self.digest)[:12]}, size={self.size}{', ref=' + self.ref if self.ref else ''})"


def _logical(name: str) -> str:
    """A file's path inside the artifact: ``/``-separated (``\\`` counts as one, as on Windows), no ``.`` or ``..`` parts."""
    name = name.replace(os.sep, "/").replace("\\", "/").strip("/")
    if not name or not _NOT_PARTS.isdisjoint(name.split("/")):
        raise UsageError(f"artifact file name {name!r} must be a relative path without '.' or '..' parts")
    return name


_NOT_PARTS = frozenset(("", ".", ".."))
_by_name = operator.attrgetter("name")


def _walk_files(root: str, rel: str = "", links: list[tuple[str, str]] | None = None) -> Iterator[tuple[str, str, os.stat_result]]:
    """``(path, relative '/'-path, stat)`` of every file under ``root``, sorted, one stat each.

    A link to a file is a file (its target's stat); a link to a folder is never descended (no
    loops, no content twice). Links are appended to ``links`` as ``(path, relative path)``, for
    the caller to tell those that stay inside ``root`` from those that leave it.
    """
    with os.scandir(os.path.join(root, rel) if rel else root) as it:
        entries = sorted(it, key=_by_name)
    for entry in entries:
        sub = f"{rel}/{entry.name}" if rel else entry.name
        if entry.is_dir(follow_symlinks=False):
            yield from _walk_files(root, sub, links)
        elif entry.is_file():
            if links is not None and entry.is_symlink():
                links.append((entry.path, sub))
            yield entry.path, sub, entry.stat()


_OUTSIDE_LINKS = ("refuse", "follow", "skip")


def _leaving(root: str, links: list[tuple[str, str]]) -> set[str]:
    """The relative paths of the links (to files) whose target is not inside ``root``."""
    if not links:
        return set()
    real_root = os.path.realpath(root)
    inside = real_root.rstrip(os.sep) + os.sep
    return {rel for path, rel in links if not os.path.realpath(path).startswith(inside)}


class Artifact:
    """Files versioned together. ``Artifact(name, type, description=None, metadata=None)``.

    Example:
        >>> data = tracklet.Artifact("training-data", type="dataset")
        >>> data.add_file("data/train.jsonl")
        >>> run.log_artifact(data, aliases=["best"])
    """

    def __init__(self, name: str, type: str, description: str | None = None, metadata: dict[str, Any] | None = None) -> None:
        check_artifact_name(name)
        if not isinstance(type, str) or not type.strip():
            raise UsageError(f"artifact type must be a non-empty string such as 'dataset' or 'model'; got {type!r}")
        if metadata is not None and not isinstance(metadata, dict):
            raise UsageError(f"metadata must be a dict; got {metadata.__class__.__name__}")
        self._name = name
        self._type = type
        self.description = description
        self.metadata: dict[str, Any] = to_jsonable(dict(metadata or {}), "metadata")
        self._entries: dict[str, ArtifactEntry] = {}
        self._staging: Any = None
        self._state = "pending"  # pending -> logging -> logged (uploaded) -> committed (in a store)
        self._done = threading.Event()
        self._error: BaseException | None = None
        self._aliases: list[str] = []
        self._version: int | None = None
        self._digest: str | None = None
        self._id: int | None = None
        self._project: str | None = None
        self._entity: str | None = None
        self._created_at: float | None = None
        self._root: str | None = None  # the store folder the artifact lives in (remote: the folder of caches)
        self._store: Any = None  # the store it was read from (a server's, in remote mode); None: the folder's
        self._run: Any = None
        self._wal_end = 0  # the run's WAL offset just past this artifact's record

    # -- its life: the state changes the logging and the store make ------------------------------------
    @classmethod
    def _from_store(cls, root: str, doc: dict[str, Any], store: Any = None) -> "Artifact":
        """A committed version as ``store`` gives it (``store._interface`` shape); its files in ``store``'s blobs,
        or ``root``'s when None."""
        from .storage import Manifest

        art = cls(doc["name"], doc["type"], doc["description"], doc["metadata"])
        try:
            manifest = Manifest.from_json(doc["manifest"])  # also reads versions stored with SHA-256 digests
        except (UsageError, AttributeError, KeyError, TypeError) as e:  # a store is untrusted input: say which and why
            raise UsageError(
                f"artifact {doc['name']}:v{doc['version_index']} in {root} has an invalid manifest ({e}); "
                "the store is damaged or was crafted, and tracklet will not use it"
            ) from None
        for e in manifest:
            art._entries[e.path] = ArtifactEntry(e.path, e.digest, e.size, ref=e.ref, artifact=art)
        art._digest, art._project, art._entity, art._root = doc["digest"], doc["project"], doc["entity"] or None, root
        art._committed(doc, [], store)
        return art

    def _begin_logging(self, run: Any, aliases: list[str]) -> None:
        self._state, self._run, self._aliases = "logging", run, aliases
        self._project, self._entity, self._root = run.project, run.entity, run._settings.dir

    def _sealed(self, digest: str) -> None:
        """Its files are stored and its content digest known; the record is written next."""
        self._digest, self._created_at = digest, time.time()

    def _recorded(self, wal_end: int) -> None:
        """Its record is in the run's log, which ends at ``wal_end`` (the store holds it once it reaches there)."""
        self._wal_end, self._state = wal_end, "logged"

    def _failed(self, error: BaseException) -> None:
        self._error = error

    def _committed(self, doc: dict[str, Any], extra_aliases: list[str], store: Any = None) -> None:
        """The store numbered it: ``doc`` holds ``version_index``, ``id``, ``aliases`` and ``created_at``.

        ``store``: the store that did, when not the folder's own (a server): files and lineage are read there.
        """
        self._version, self._id = doc["version_index"], doc["id"]
        if store is not None:
            self._store = store
        self._aliases = sorted(set(doc["aliases"]) | set(extra_aliases))
        self._created_at, self._state = doc["created_at"], "committed"

    def _drop_staging(self) -> None:
        """Remove the temporary folder of the files written with ``new_file()``, once they are stored."""
        if self._staging is not None:
            self._staging.cleanup()
            self._staging = None

    def _deleted(self) -> None:
        self._state = "deleted"

    # -- building --------------------------------------------------------------------------------
    def _check_mutable(self) -> None:
        if self._state != "pending":
            raise UsageError(f"artifact {self._name!r} is {self._state}; build a new Artifact to change its files")

    def _add(self, entry: ArtifactEntry, overwrite: bool) -> ArtifactEntry:
        if entry.path in self._entries and not overwrite:
            raise UsageError(f"artifact {self._name!r} already has a file {entry.path!r}; pass overwrite=True to replace it")
        self._entries[entry.path] = entry
        return entry

    def add_file(self, local_path: str, name: str | None = None, overwrite: bool = False) -> ArtifactEntry:
        """Add one file, stored under ``name`` (default: its base name)."""
        self._check_mutable()
        path = os.path.abspath(os.fspath(local_path))
        try:
            st = os.stat(path)
        except OSError:
            raise UsageError(f"no such file: {local_path}") from None
        if statmod.S_ISDIR(st.st_mode):
            raise UsageError(f"{local_path} is a directory; use add_dir() for directories")
        if not statmod.S_ISREG(st.st_mode):
            raise UsageError(f"{local_path} is not a regular file (a device, pipe or socket); copy its content into a file first")
        entry = ArtifactEntry(_logical(name or os.path.basename(path)), None, st.st_size, source=path, stat=st)
        return self._add(entry, overwrite)

    def add_dir(self, local_path: str, name: str | None = None, overwrite: bool = False, outside_links: str = "refuse") -> list[ArtifactEntry]:
        """Add every file under a directory, at ``name/relative/path`` (default: at the top).

        Symbolic links: a link to a file inside the directory is stored as that file, under the
        link's name; a link to a folder is not descended. A link to a file outside the directory
        is refused by default (a shared folder must not put other files of yours into the
        artifact): ``outside_links="follow"`` stores what it points to, ``"skip"`` leaves it out.

        Raises:
            UsageError: the path is not a directory, or it holds links that leave it (the
                message lists them) and ``outside_links`` is ``"refuse"``.
        """
        self._check_mutable()
        if outside_links not in _OUTSIDE_LINKS:
            raise UsageError(f"outside_links must be one of {', '.join(map(repr, _OUTSIDE_LINKS))}; got {outside_links!r}")
        root = os.path.abspath(os.fspath(local_path))
        if not os.path.isdir(root):
            raise UsageError(f"{local_path} is not a directory" + ("; use add_file() for a file" if os.path.isfile(root) else ""))
        prefix = f"{_logical(name)}/" if name else ""
        links: list[tuple[str, str]] = []
        found = list(_walk_files(root, "", links))
        leaving = _leaving(root, links)
        if leaving and outside_links == "refuse":
            shown = ", ".join(f"{rel} -> {os.path.realpath(os.path.join(root, rel))}" for rel in sorted(leaving)[:3])
            raise UsageError(
                f"{local_path} holds {len(leaving)} symbolic link(s) to files outside it ({shown}"
                f"{' ...' if len(leaving) > 3 else ''}); pass outside_links='follow' to store what they point to, "
                "or outside_links='skip' to leave them out"
            )
        added = []
        for full, rel, st in found:
            if leaving and outside_links == "skip" and rel in leaving:
                continue
            # a folder's entry names hold no "/" and are never "." or "..": only a "\\" asks for _logical()
            path = _logical(prefix + rel) if "\\" in rel else prefix + rel
            added.append(self._add(ArtifactEntry(path, None, st.st_size, source=full, stat=st), overwrite))
        return added

    def add_reference(self, uri: str, name: str | None = None, checksum: bool = True) -> Any:
        """Record a file (or every file under a prefix) that stays where it is: not copied.

        ``s3://``, ``gs://``, ``https://`` and ``file://``. With ``checksum=True`` its identity is
        taken where possible: the content digest of a local file, or the ETag and size the server reports.
        """
        self._check_mutable()
        scheme = uri.split("://", 1)[0].lower() if "://" in uri else ""
        if scheme not in REFERENCE_SCHEMES:
            raise UsageError(f"reference {uri!r} has no supported scheme; use one of {', '.join(s + '://' for s in REFERENCE_SCHEMES)}")
        from .storage import resolve_reference

        found = resolve_reference(uri, name=name, checksum=checksum)
        added = [self._add(ArtifactEntry(e.path, e.digest, e.size, ref=e.ref), overwrite=False) for e in found]
        return added[0] if len(added) == 1 else added

    @contextmanager
    def new_file(self, name: str, mode: str = "w", encoding: str | None = None) -> Iterator[Any]:
        """Write a file straight into the artifact: ``with art.new_file("notes.txt") as f: f.write(...)``."""
        self._check_mutable()
        import tempfile

        logical = _logical(name)
        if self._staging is None:
            self._staging = tempfile.TemporaryDirectory(prefix="tracklet-artifact-")
        path = os.path.join(self._staging.name, *logical.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if "b" not in mode and encoding is None:
            encoding = "utf-8"
        with open(path, mode, encoding=encoding) as f:
            yield f
        self.add_file(path, logical, overwrite=True)

    def remove(self, name: str) -> None:
        """Remove a file, or every file under a folder name, before logging."""
        self._check_mutable()
        logical = _logical(name)
        doomed = [p for p in self._entries if p == logical or p.startswith(logical + "/")]
        if not doomed:
            raise UsageError(f"artifact {self._name!r} has no file or folder {name!r}")
        for p in doomed:
            del self._entries[p]

    # -- reading -----------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    @property
    def type(self) -> str:
        return self._type

    @property
    def version(self) -> str | None:
        """``v0``, ``v1``, ... once the store has taken it (``wait()`` first for one just logged)."""
        return None if self._version is None else f"v{self._version}"

    @property
    def aliases(self) -> list[str]:
        return list(self._aliases)

    @property
    def digest(self) -> str | None:
        """The digest of the whole manifest: equal content, equal digest."""
        return self._digest

    @property
    def id(self) -> int | None:
        return self._id

    @property
    def project(self) -> str | None:
        return self._project

    @property
    def qualified_name(self) -> str:
        prefix = f"{self._entity}/" if self._entity else ""
        return f"{prefix}{self._project}/{self._name}:{self.version or 'pending'}"

    @property
    def state(self) -> str:
        return self._state

    @property
    def size(self) -> int:
        return sum(e.size or 0 for e in self._entries.values())

    @property
    def created_at(self) -> float | None:
        return self._created_at

    def files(self) -> list[ArtifactEntry]:
        return [self._entries[p] for p in sorted(self._entries)]

    def get_entry(self, name: str) -> ArtifactEntry:
        try:
            return self._entries[_logical(name)]
        except KeyError:
            raise UsageError(f"artifact {self._name!r} has no file {name!r}; it has {len(self._entries)} files, e.g. {sorted(self._entries)[:3]}") from None

    def manifest(self) -> Any:
        """The ``Manifest`` (path -> digest, size, reference) of a logged artifact."""
        if any(e.digest is None for e in self._entries.values()):
            raise UsageError(f"artifact {self._name!r} has files not stored yet; log it and wait() first")
        from .storage import Manifest, ManifestEntry

        return Manifest(ManifestEntry(e.path, e.digest, e.size, e.ref) for e in self._entries.values())

    def __repr__(self) -> str:
        return f"<Artifact {self.qualified_name} type={self._type} files={len(self._entries)} {self._state}>"

    # -- after logging: waiting, downloading, lineage ---------------------------------------------------
    def wait(self, timeout: float | None = None) -> "Artifact":
        """Block until the files are stored and (in local mode) the store has assigned the version."""
        from ._ops import wait_for

        wait_for(self, timeout)
        return self

    def download(self, root: str | None = None, overwrite: bool = False, references: Any = False, allow_roots: Any = None) -> str:
        """Materialise every file under ``root`` (default ``./artifacts/NAME-vN``), verified; returns ``root``.

        Files already there and correct are skipped; different files there are an error unless
        ``overwrite``. Nothing is written through a symbolic link inside ``root``: a folder there that
        is a link is an error, a link where a file goes is replaced (with ``overwrite``), never followed.

        Args:
            references: references are recorded, not copied, so by default they are not fetched
                (a warning names them). True fetches every one; a list of schemes (``["s3", "https"]``)
                fetches those.
            allow_roots: folders that ``file://`` references may be read from (default
                ``TRACKLET_REFERENCE_ROOTS``, folders separated by ``os.pathsep``; else none): a store is
                untrusted input, and a crafted ``file://`` reference could name any file you can read.
                A reference with a recorded digest is always checked against it.

        Raises:
            UsageError: the store's manifest could write outside ``root``, or a ``file://`` reference
                to fetch is outside ``allow_roots``; nothing is written.
            DownloadConflictError: different files, or a linked folder, are in the way.

        Example:
            >>> art.download("./model", references=["file"], allow_roots=["/data/shared"])
        """
        self._require_committed("download")
        from ._ops import download

        return download(self, root, overwrite, references, allow_roots)

    def _download_entries(self, root: str | None, paths: list[str], allow_roots: Any = None) -> list[str]:  # for ArtifactEntry.download
        self._require_committed("download")
        from ._ops import download_entries

        return download_entries(self, root, paths, allow_roots=allow_roots)

    def verify(self, root: str | None = None, references: Any = False) -> None:
        """Check that the files under ``root`` are exactly this version's (references only when asked); raise ``ValueError`` if not."""
        self._require_committed("verify")
        from ._ops import verify

        verify(self, root, references)

    def logged_by(self) -> Any:
        """The run that logged this version first (an ``ApiRun``), or None."""
        from ._ops import logged_by

        return logged_by(self._require_committed("logged_by"))

    def used_by(self) -> list[Any]:
        """The runs that used this version as input."""
        from ._ops import used_by

        return used_by(self._require_committed("used_by"))

    def link(self, target_path: str, aliases: list[str] | None = None) -> None:
        """Link this version into the model registry, e.g. ``link("registry/llama3-chat", ["staging"])``."""
        from ._ops import link

        link(self._require_committed("link"), target_path, check_aliases(aliases))

    def unlink(self, target_path: str) -> None:
        """Remove this version from a registered model (its aliases there go with it)."""
        from ._ops import unlink

        unlink(self._require_committed("unlink"), target_path)

    def delete(self, delete_aliases: bool = False) -> None:
        """Delete this version; files still used by other versions stay."""
        from ._ops import delete

        delete(self._require_committed("delete"), delete_aliases)

    def _require_committed(self, what: str) -> "Artifact":
        if self._state in ("logging", "logged") and self._run is not None:
            self.wait()
        if self._state != "committed":
            raise UsageError(
                f"{what}() needs an artifact that a store has taken; this one is {self._state}"
                + (". Log it with run.log_artifact() and call wait()" if self._state == "pending" else "")
            )
        return self
