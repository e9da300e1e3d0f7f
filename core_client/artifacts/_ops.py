"""What happens to an Artifact after it is built: storing its files, recording it, reading it back.

The training thread only queues work: a run's ``Uploads`` thread hashes and stores the files
(content-addressed, each once), then appends the ARTIFACT record to the run's WAL. A killed
process therefore leaves either a whole version or none; blobs already stored are reused
by the next attempt. Everything that reads the store imports SQLAlchemy, so it lives here,
imported only when an artifact is waited for, downloaded or looked up.
"""

from __future__ import annotations

import collections
import contextlib
import os
import threading
import time
import weakref

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

from ._artifact import Artifact, check_aliases, check_artifact_name
from .._errors import StoreError, UsageError, warn_once
from ..store._layout import log_path
from ..wal._wal import RecordType
from ._collect import unsynced_digests
from .storage._blobs import blob_store_of

__all__ = [
    "Uploads",
    "download",
    "log_artifact",
    "settle_uploads",
    "use_artifact",
    "wait_for",
]


class Uploads:
    """One background thread per run that stores artifact files, in submission order.

    A deque under a condition rather than ``queue.Queue``: the module's import is in every
    first ``log_artifact()``, and a run needs no more than this.
    """

    def __init__(self) -> None:
        self._jobs: collections.deque[tuple[Callable[[], None], bool]] = collections.deque()
        self._cond = threading.Condition()
        self._busy = 0  # jobs submitted and not yet done that finish() waits for
        self._pending = 0  # every job not yet done, deferred ones included
        self._thread: threading.Thread | None = None
        self._closers: list[Callable[[], None]] = []
        _live_uploads.add(self)

    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job`` on the uploads thread; :meth:`drain` (so ``finish()``) waits for it."""
        self._put(job, True)

    def defer(self, job: Callable[[], None]) -> None:
        """Run ``job`` after the jobs queued so far, without ``finish()`` waiting for it.

        For work that records no data (a cache write): the interpreter still waits for it
        at exit (:func:`settle_uploads`).
        """
        self._put(job, False)

    def _put(self, job: Callable[[], None], awaited: bool) -> None:
        with self._cond:
            self._jobs.append((job, awaited))
            self._busy += awaited
            self._pending += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._main, name="tracklet-uploads", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def _main(self) -> None:
        while True:
            with self._cond:
                while not self._jobs:
                    self._cond.wait()
                job, awaited = self._jobs.popleft()
            try:
                job()
            except Exception as e:  # the thread must outlive a failed job, or finish() would wait for ever
                warn_once(f"uploads:{e!r}", f"tracklet: an artifact upload step failed: {e!r}")
            finally:
                with self._cond:
                    self._busy -= awaited
                    self._pending -= 1
                    self._cond.notify_all()

    def drain(self) -> None:
        """Wait for every submitted job: finish() never leaves an artifact half-logged."""
        with self._cond:
            while self._busy:
                self._cond.wait()

    def at_finish(self, fn: Callable[[], None]) -> None:
        """Call ``fn`` in :meth:`finish`, after the jobs (a job's helper process to end)."""
        self._closers.append(fn)

    def finish(self) -> None:
        """The run's end: wait for every submitted job, then call what :meth:`at_finish` was given."""
        self.drain()
        closers, self._closers = self._closers, []
        for fn in closers:
            try:
                fn()
            except Exception as e:  # the run still finishes
                warn_once(f"uploads-finish:{e!r}", f"tracklet: ending the run's uploads failed: {e!r}")

    def settle(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for every job, deferred ones included."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)


_live_uploads: weakref.WeakSet[Uploads] = weakref.WeakSet()


def settle_uploads(timeout: float = 10.0) -> None:
    """At exit: let the runs' uploads threads finish their deferred work (digest-cache writes)."""
    for uploads in list(_live_uploads):
        uploads.settle(timeout)


def _store_and_record(run: Any, art: Artifact, aliases: list[str], use: bool) -> None:
    store = None
    try:
        local = [e for e in art._entries.values() if e.ref is None]
        files = [(e.source, e.path, e._stat) for e in local]
        store = blob_store_of(run._settings.dir) if files else None
        if store is not None and os.environ.get("TRACKLET_BLOB_URL") and store.url != os.path.join(os.path.abspath(run._settings.dir), "blobs"):
            store.mark_shared()  # a local folder named by URL may be another store's own: it must not remove these blobs
        lock = store.removal_lock() if store is not None else contextlib.nullcontext()
        with lock:  # a delete waits until the record is written
            stored = []
            if files:
                progress = _progress(art, sum(e.size or 0 for e in local))
                stored = store.put_many(files, progress=progress, flush=False)
                for done in stored:
                    entry = art._entries[done.path]
                    entry.digest, entry.size = done.digest, done.size
            from .storage import Manifest, ManifestEntry

            refs = [ManifestEntry(e.path, e.digest, e.size, e.ref) for e in art._entries.values() if e.ref is not None]
            manifest = Manifest(stored + refs)  # put_many's entries as they are, not built again by art.manifest()
            art._sealed(manifest.digest)
            run._record_json(
                RecordType.ARTIFACT,
                {
                    "project": run.project,
                    "entity": run.entity,
                    "name": art.name,
                    "type": art.type,
                    "description": art.description,
                    "metadata": art.metadata,
                    "digest": art._digest,
                    "manifest": manifest.to_json(),
                    "aliases": aliases,
                    "use": use,
                    "t": art._created_at,
                },
            )
            if store is not None and run._writer.pending_bytes:
                _pin_until_written(run, store)  # taken before the removal lock is let go: no delete in between
        art._recorded(run._writer.offset)
        if run._uploader is not None:
            run._uploader.wake()  # remote: its files and record go to the server now, not at the next poll
        if run.mode == "local" and run._closed is None:
            # A wait() may follow: the worker numbers the version now, not this process, not at its next look.
            # Not while finish() waits for this upload: it starts and wakes the worker once the run's log is
            # synced, and a worker woken now would take a core from finish()'s last steps (up to 4 ms).
            from ..store.sql import wake_worker

            run._start_worker()
            wake_worker(run._settings.dir)
    except BaseException as e:  # reported at wait(), and once as a warning: training goes on
        art._failed(e)
        warn_once(f"artifact:{art.name}:{e!r}", f"tracklet: could not store artifact {art.name!r}: {e}")
    finally:
        if art._state == "logged":
            art._drop_staging()
        art._done.set()
    if store is not None and store.digest_cache is not None:
        # only later logs of these files need it: finish() need not wait (flush never raises)
        run._uploads.defer(store.digest_cache.flush)


def _pin_until_written(run: Any, store: Any) -> None:
    """Keep deletes from removing blobs while this version's record waits in memory for its run's log.

    The record is queued when its log could not be written (a full disk) and goes to the file at
    a later write; until then no other process can see which blobs it lists. The pin is held from
    a thread until the queue is empty or the run has finished (what is left then is never written).
    """
    pin = store.record_pin()
    pin.__enter__()

    def watch() -> None:
        try:
            while run._writer.pending_bytes and not run.finished:
                time.sleep(0.1)
        finally:
            pin.__exit__(None, None, None)

    threading.Thread(target=watch, name="tracklet-record-pin", daemon=True).start()


def _progress(art: Artifact, total: int) -> Any:
    from .storage import TransferProgress

    return TransferProgress(total, f"storing {art.name}")


def log_artifact(run: Any, artifact: Any, name: str | None, type: str | None, aliases: Any, use: bool = False) -> Artifact:
    """Queue ``artifact`` (or a path, made into one) to be stored and recorded by ``run``."""
    if isinstance(artifact, (str, os.PathLike)):
        path = os.fspath(artifact)
        art = Artifact(check_artifact_name(name or os.path.basename(os.path.abspath(path)).replace(" ", "_")), type or "unspecified")
        art.add_dir(path) if os.path.isdir(path) else art.add_file(path)
    elif isinstance(artifact, Artifact):
        art = artifact
    else:
        raise UsageError(f"log_artifact() takes an Artifact or a path; got {artifact.__class__.__name__}")
    aliases = check_aliases(aliases)
    if art._state != "pending":
        raise UsageError(f"artifact {art.name!r} was already logged ({art.state}); build a new Artifact for new content")
    if not art._entries:
        raise UsageError(f"artifact {art.name!r} has no files; add some with add_file(), add_dir() or add_reference()")
    art._begin_logging(run, aliases)
    if run.disabled:
        art._recorded(0)
        art._done.set()
        return art
    run._uploads.submit(lambda: _store_and_record(run, art, aliases, use))
    return art


def wait_for(art: Artifact, timeout: float | None) -> None:
    if art._state == "committed":
        return
    if art._state == "pending":
        raise UsageError(f"artifact {art.name!r} is not logged yet; call run.log_artifact() first")
    if not art._done.wait(timeout):
        raise TimeoutError(f"artifact {art.name!r} was not stored within {timeout} s")
    if art._error is not None:
        raise StoreError(f"artifact {art.name!r} could not be stored: {art._error}") from art._error
    run = art._run
    if run is None or run.disabled or run.offline:
        return  # an offline run's versions are numbered when it is synced
    if run._uploader is not None:
        _wait_for_server(art, run, timeout)
        return
    if _already_stored(art) or _wait_for_worker(art, run):
        return
    from ..store.sql import SqlStore, ingest_run, open_local

    ingest_run(open_local(art._root), log_path(art._root, run.id), run.id)
    found = SqlStore(art._root).artifact_by_digest(art._project, art._entity, art.name, art._digest)
    if found is None:
        raise StoreError(f"artifact {art.name!r} was logged but is not in the store at {art._root} yet")
    art._committed(found, [])


def _wait_for_server(art: Artifact, run: Any, timeout: float | None) -> None:
    """Remote mode: wait until the server holds the run's log past the record, then read the version it numbered."""
    from ..remote._store import RemoteStore

    up = run._uploader
    if not up.wait_acked(art._wal_end, timeout):
        if up.failed:
            raise StoreError(f"artifact {art.name!r} did not reach {up.base_url}: {up.failed}")
        raise TimeoutError(f"artifact {art.name!r} did not reach {up.base_url} within {timeout} s"
                           + (f" ({up.error})" if up.error else ""))
    store = RemoteStore(up.base_url, run._settings.api_key)
    found = store.artifact_by_digest(art._project, art._entity, art.name, art._digest)
    if found is None:
        raise StoreError(f"artifact {art.name!r} was sent to {up.base_url} but the server has no version of it")
    art._committed(found, [], store)


def _already_stored(art: Artifact) -> bool:
    """Identical content is the version that already holds it: no need to wait for ingest to say so.

    The run's ARTIFACT record is in its WAL all the same; ingest adds the lineage edge and
    moves the requested aliases onto this version.
    """
    from ..store.sql import artifact_version

    found = artifact_version(art._root, art._project, art._entity, art.name, art._digest)
    if found is None:
        return False
    art._committed(found, art._aliases)
    return True


def _wait_for_worker(art: Artifact, run: Any, stall: float = 5.0) -> bool:
    """Let the ingest worker store the record and read the version with sqlite3 (no SQLAlchemy import)."""
    from ..store.sql import artifact_version, wait_for_worker, worker_running

    if not worker_running(art._root) or not wait_for_worker(art._root, run.id, art._wal_end, stall):
        return False  # no worker, or it is stuck: store it ourselves
    found = artifact_version(art._root, art._project, art._entity, art.name, art._digest)
    if found is None:
        return False
    art._committed(found, [])
    return True


def use_artifact(run: Any, artifact: Any, type: str | None, aliases: Any) -> Artifact:
    """Record ``artifact`` as an input of ``run`` and return it (committed, ready to download)."""
    if isinstance(artifact, Artifact) and artifact._state == "pending":
        return log_artifact(run, artifact, None, None, aliases, use=True)
    if isinstance(artifact, Artifact):
        art = artifact
        if art._state != "committed":
            art.wait()
    elif isinstance(artifact, str):
        from ..api._api import Api

        art = Api(dir=run._settings.dir).artifact(artifact, type=type, default_project=run.project)
    else:
        raise UsageError(f"use_artifact() takes an Artifact or 'name:alias'; got {artifact.__class__.__name__}")
    if type is not None and art.type != type:
        raise UsageError(f"artifact {art.qualified_name} is of type {art.type!r}, not {type!r}")
    if not run.disabled:
        run._record_json(
            RecordType.USE,
            {"project": art.project, "entity": art._entity, "name": art.name, "digest": art.digest, "version": art.version, "t": time.time()},
        )
    return art


def link_from_run(run: Any, art: Artifact, target_path: str, aliases: list[str]) -> None:
    """Queue a registry link after ``art``'s own upload (same queue, so in order)."""
    model = registry_model_name(target_path)

    def job() -> None:
        art._done.wait()
        if art._error is None and art._digest is not None:
            run._record_json(
                RecordType.LINK,
                {"project": art.project, "entity": art._entity, "name": art.name, "digest": art.digest,
                 "target": model, "aliases": aliases, "actor": _actor(), "t": time.time()},
            )

    if not run.disabled:
        run._uploads.submit(job)


def registry_model_name(target_path: str) -> str:
    """``registry/NAME`` (also ``entity/model-registry/NAME``) -> ``NAME``."""
    parts = [p for p in str(target_path).split("/") if p]
    if len(parts) >= 2 and parts[-2] in ("registry", "model-registry"):
        return check_artifact_name(parts[-1], "registered model name")
    raise UsageError(f"a registry target is 'registry/NAME', e.g. 'registry/llama3-chat'; got {target_path!r}")


def _actor() -> str:
    try:
        import getpass

        return getpass.getuser()
    except Exception:
        return "unknown"


# -- reading back: downloads and checks -------------------------------------------------------------
def _blobs_of(art: Artifact) -> Any:
    """Where the version's files are read from: the blob store of the store it came from (a server's), else the folder's."""
    return art._store.blob_store() if art._store is not None else blob_store_of(art._root)


def _default_root(art: Artifact) -> str:
    return os.path.join(os.getcwd(), "artifacts", f"{art.name}-{art.version}")


def download(art: Artifact, root: str | None, overwrite: bool = False, references: Any = False, allow_roots: Any = None) -> str:
    from .storage import TransferProgress

    root = os.path.abspath(root or _default_root(art))
    manifest = art.manifest()
    report = manifest.download(root, _blobs_of(art), overwrite=overwrite, references=references, allow_roots=allow_roots,
                               progress=TransferProgress(manifest.size, f"downloading {art.name}"))
    if report.references:
        shown = ", ".join(report.references[:3]) + (f" and {len(report.references) - 3} more" if len(report.references) > 3 else "")
        warn_once(
            f"references:{art.qualified_name}:{root}",
            f"tracklet: {art.qualified_name} has {len(report.references)} reference(s) that were not downloaded "
            f"(recorded, not copied): {shown}. Pass references=True (tracklet artifact get --references) to fetch "
            "them; file:// ones also need allow_roots=[...]",
        )
    return root


def download_entries(art: Artifact, root: str | None, paths: list[str], overwrite: bool = False, allow_roots: Any = None) -> list[str]:
    from .storage import Manifest

    root = os.path.abspath(root or _default_root(art))
    full = art.manifest()
    Manifest(full[p] for p in paths).download(root, _blobs_of(art), overwrite=overwrite, references=True, allow_roots=allow_roots)
    return [os.path.join(root, *p.split("/")) for p in paths]


def verify(art: Artifact, root: str | None, references: Any = False) -> None:
    root = os.path.abspath(root or _default_root(art))
    bad = art.manifest().verify(root, references=references)
    if bad:
        raise ValueError(f"{root} does not match {art.qualified_name}: {len(bad)} file(s) missing or different, e.g. {bad[:5]}")


# -- lineage and registry, through the store ------------------------------------------------------------
def _api(art: Artifact) -> Any:
    from ..api._api import Api

    if art._store is not None:
        return Api._over(art._store, art._root)
    return Api(dir=art._root)


def logged_by(art: Artifact) -> Any:
    return _api(art)._artifact_runs(art.id, "output", first=True)


def used_by(art: Artifact) -> list[Any]:
    return _api(art)._artifact_runs(art.id, "input", first=False)


def link(art: Artifact, target_path: str, aliases: list[str]) -> None:
    _api(art)._store.link_artifact(art.id, registry_model_name(target_path), aliases, _actor())


def unlink(art: Artifact, target_path: str) -> None:
    _api(art)._store.unlink_artifact(art.id, registry_model_name(target_path), _actor())


def delete(art: Artifact, delete_aliases: bool) -> None:
    """Mark the version deleted, then remove the blobs of the store's own folder that nothing lists.

    Under the blob folder's exclusive removal lock: no log is between finding a blob stored and
    recording the version that lists it (logs hold the lock shared), every local run's log is
    ingested first, and blobs that records not yet ingested list (offline runs, a worker behind)
    are kept. A log whose record could not reach its run's log yet (a full disk) holds a pin:
    then nothing changes and the error says so. Blobs are never removed from a folder that
    another store logs into (``TRACKLET_BLOB_URL`` here, or a ``.shared`` mark left there by one),
    nor where a run's log cannot be read through (its records are unknown).

    A version read from a server is deleted there: the server's blobs are its own, and the local
    folder (caches) is left alone.
    """
    if _on_server(art):
        art._store.delete_artifact(art.id, delete_aliases)
        art._deleted()
        return
    store = blob_store_of(art._root)
    own_folder = not os.environ.get("TRACKLET_BLOB_URL") and not store.shared
    with store.removal_lock(exclusive=True):
        if own_folder and store.records_pending():
            raise StoreError(
                f"cannot delete {art.qualified_name} now: another tracklet process has logged a version whose record "
                "it could not yet write to its run's log (is its disk full?), so which files it needs is unknown. "
                "Free some space or let that process finish, then delete again"
            )
        api = _api(art)
        unsynced = unsynced_digests(art._root, api._store) if own_folder else set()  # the store is caught up first
        unused = api._store.delete_artifact(art.id, delete_aliases)
        art._deleted()
        if not own_folder or unsynced is None:
            return
        for digest in unused:
            if digest not in unsynced:
                store.delete(digest)


def _on_server(art: Artifact) -> bool:
    if art._store is None:
        return False
    from ..remote._store import RemoteStore  # only for a version read from a store: requests is imported by then

    return isinstance(art._store, RemoteStore)
