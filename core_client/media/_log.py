"""Rich values on the write path: ``log()`` queues them; the run's background thread stores them and writes a MEDIA record.

``log()`` only freezes each object (no copy of a table's rows; see ``Table._freeze``) and queues
it on the run's uploads thread, the one that stores artifact files, which ``finish()`` waits for.
There each value is encoded (Parquet, PNG, ...), stored once by content digest in the store
folder's blob store (``<dir>/blobs``), and one MEDIA record (docs/wal-format.md) names the key,
step, kind and digest of every value of that ``log()`` call. The record is written only after
its blobs are stored, under the blob folder's removal lock, as an artifact's is: a delete never
removes a blob a record is about to name.
"""

from __future__ import annotations

import threading
import weakref

from .._errors import UsageError, warn_once
from ._base import Media

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["is_media", "queue"]

_stores: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()  # run -> its blob store
_batches: weakref.WeakKeyDictionary[Any, _Batch] = weakref.WeakKeyDictionary()  # run -> its media waiting to be stored


def is_media(value: Any) -> bool:
    """Whether ``log()`` takes ``value`` as a rich value: a media object, or a non-empty list of them."""
    if isinstance(value, Media):
        return True
    if type(value) in (list, tuple) and value and isinstance(value[0], Media):
        for i, v in enumerate(value):
            if not isinstance(v, Media):
                raise UsageError(f"log() list item {i} is a {type(v).__name__}; a list logged as media holds only media objects")
        return True
    return False


def queue(run: Any, step: int, t: float, items: dict[str, Any]) -> None:
    """Store ``items`` (key -> media object or list of them) off the training thread, then record them at ``step``."""
    if run.disabled or run.dir is None:
        return
    frozen = []
    for key, value in items.items():
        listed = isinstance(value, (list, tuple))
        frozen += [(key, i if listed else -1, m._freeze()) for i, m in enumerate(value if listed else [value])]
    run._start_worker()  # a log() of media alone registers no metric key, which is what starts it otherwise
    batch = _batches.get(run)
    if batch is None:
        batch = _batches[run] = _Batch(run)
    batch.add(step, t, frozen)


class _Batch:
    """The media ``log()`` calls of one run waiting for the uploads thread: one job stores all that have
    queued up by the time it runs, under one removal lock (an image a step, 10,000 steps: the lock's
    open and flock were a fifth of the thread's time per image when taken for each)."""

    def __init__(self, run: Any) -> None:
        self.run = run
        self.pending: list[tuple[int, float, list[tuple[str, int, Media]]]] = []
        self.lock = threading.Lock()

    def add(self, step: int, t: float, items: list[tuple[str, int, Media]]) -> None:
        with self.lock:
            self.pending.append((step, t, items))
            if len(self.pending) > 1:
                return  # a job is queued and will take this one too
        self.run._uploads.submit(self.drain)

    def drain(self) -> None:
        with self.lock:
            calls, self.pending = self.pending, []
        if calls:
            _store(self.run, calls)


def _blob_store(run: Any) -> Any:
    store = _stores.get(run)
    if store is None:
        from ..artifacts.storage import blob_store_of

        store = _stores[run] = blob_store_of(run._settings.dir)
    return store


def _store(run: Any, calls: list[tuple[int, float, list[tuple[str, int, Media]]]]) -> None:
    """Store the values of each ``log()`` call in ``calls`` and write its MEDIA record; a failure loses that call's only."""
    try:
        store = _blob_store(run)
    except Exception as e:
        warn_once(f"media-store:{e!r}", f"tracklet: could not open the blob store of run {run.id} to store its media: {e!r}")
        return
    with store.removal_lock():  # a delete waits until the records naming these blobs are written
        for step, t, items in calls:
            _store_call(run, store, step, t, items)


def _store_call(run: Any, store: Any, step: int, t: float, items: list[tuple[str, int, Media]]) -> None:
    from ..wal._media import media_summary
    from ..wal._wal import RecordType

    try:
        out = []
        for key, idx, media in items:
            refs: list[str] = []

            def put(data: bytes) -> tuple[str, int]:
                found = store.put_bytes(data)
                refs.append(found[0])
                return found

            data, meta = media._encode(put)
            digest, size = store.put_bytes(data)
            if idx >= 0:
                meta = {**meta, "in_list": True}  # read back as a list, even of one
            item = {"key": key, "idx": max(idx, 0), "kind": media.kind, "digest": digest, "size": size, "meta": meta}
            if refs:
                item["refs"] = sorted(set(refs))
            out.append(item)
        record = {"t": t, "step": step, "items": out}
        run._record_json(RecordType.MEDIA, record)
        run.summary.observe_media(media_summary(record))
    except Exception as e:  # training goes on; the cause is said once
        keys = ", ".join(sorted({k for k, _, _ in items}))
        warn_once(f"media:{type(e).__name__}:{keys}", f"tracklet: could not store {keys} (step {step}) of run {run.id}: {e!r}")
