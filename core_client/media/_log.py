"""Rich values on the write path: ``log()`` queues them; the run's background thread stores them and writes a MEDIA record.

``log()`` only freezes each object (no copy of a table's rows; see ``Table._freeze``) and queues
it on the run's uploads thread, the one that stores artifact files, which ``finish()`` waits for.
There each value is encoded (Parquet, PNG, ...), stored once by content digest in the store
folder's blob store (``<dir>/blobs``), and one MEDIA record (docs/wal-format.md) names the key,
step, kind and digest of every value of that ``log()`` call. The record is written only after
its blobs are stored, under the blob folder's removal lock, as an artifact's is: a delete never
removes a blob a record is about to name. An image that is only pixels goes another way: ``log()``
writes its pixels to the run's log at once (``_pixels``), and the store makes its PNG.
"""

from __future__ import annotations

import threading
import time
import weakref

from .._errors import UsageError, warn_once
from ._base import Media
from ._image import Image
from ._pixels import RECORD_PIXELS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["is_media", "queue", "split"]

_stores: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()  # run -> its blob store
_batches: weakref.WeakKeyDictionary[Any, _Batch] = weakref.WeakKeyDictionary()  # run -> its media waiting to be stored
# At most this often (seconds) a batch is taken: an image a step then wakes the thread 50 times a second,
# not at every step, and each batch pays its removal lock and its round trip to the child once.
DRAIN_EVERY = 0.02
# The records of a drain are made in bursts of this many log() calls, the GIL let go between them: the
# training thread waits for one burst, not the whole drain (a 0.26 ms step: +16-19% against +20-22% without).
YIELD_EVERY = 8
RAW_IMAGES = True  # False: an image of pixels is encoded and stored on the uploads thread too (a benchmark's comparison)


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


def split(items: dict[str, Any], pixels_ok: bool = True) -> tuple[list[tuple[str, int, Any]], list[tuple[str, int, Media]]]:
    """``log()``'s rich values (key -> media object or list of them) as ``(key, index in a list or -1, object)``:
    the images ``log()`` writes as pixels (``_pixels``; none unless ``pixels_ok``), and the rest, for ``queue``."""
    images, rest = [], []
    room = RECORD_PIXELS if pixels_ok and RAW_IMAGES else 0
    for key, value in items.items():
        listed = isinstance(value, (list, tuple))
        for i, m in enumerate(value if listed else [value]):
            if room and type(m) is Image and m._pixels_only() and m._pixels.nbytes <= room:
                images.append((key, i if listed else -1, m))
                room -= m._pixels.nbytes
            else:
                rest.append((key, i if listed else -1, m))
    return images, rest


def queue(run: Any, step: int, t: float, items: list[tuple[str, int, Media]]) -> None:
    """Store ``items`` (``split``'s rest) off the training thread, then record them at ``step``."""
    if run.disabled or run.dir is None:
        return
    frozen = [(key, idx, m._freeze()) for key, idx, m in items]
    run._start_worker()  # a log() of media alone registers no metric key, which is what starts it otherwise
    batch = _batches.get(run)
    if batch is None:
        batch = _batches[run] = _Batch(run)
    batch.add(step, t, frozen)


class _Batch:
    """The media ``log()`` calls of one run waiting for the uploads thread: one job stores all that have
    queued up by the time it runs, under one removal lock (an image a step, 10,000 steps: the lock's
    open and flock were a fifth of the thread's time per image when taken for each).
    """

    def __init__(self, run: Any) -> None:
        self.run = run
        self.pending: list[tuple[int, float, list[tuple[str, int, Media]]]] = []
        self.lock = threading.Lock()
        self.last = 0.0  # when the last drain began (time.monotonic)

    def add(self, step: int, t: float, items: list[tuple[str, int, Media]]) -> None:
        with self.lock:
            self.pending.append((step, t, items))
            if len(self.pending) > 1:
                return  # a job is queued and will take this one too
        self.run._uploads.submit(self.drain)

    def drain(self) -> None:
        wait = self.last + DRAIN_EVERY - time.monotonic()
        if wait > 0:  # a stream of log() calls: let a batch gather (the GIL is free meanwhile)
            time.sleep(wait)
        self.last = time.monotonic()
        with self.lock:
            calls, self.pending = self.pending, []
        if not calls:
            return
        try:
            store = _blob_store(self.run)
        except Exception as e:
            warn_once(f"media-store:{e!r}", f"tracklet: could not open the blob store of run {self.run.id} to store its media: {e!r}")
            return
        from ..wal._media import media_summary
        from ..wal._wal import RecordType

        with store.removal_lock():  # a delete waits until the records naming these blobs are written
            records = []
            for i, (step, t, items) in enumerate(calls):
                if i % YIELD_EVERY == YIELD_EVERY - 1:
                    time.sleep(0)  # lets go of the GIL
                r = _store_call(self.run, store, step, t, items)
                if r is not None:
                    records.append(r)
            self.run._record_many(RecordType.MEDIA, [r for r, _ in records], [p for _, p in records])
        described: dict[str, Any] = {}
        for record, _ in reversed(records):  # the summary describes each key's last value: one record per key read
            if any(item["key"] not in described for item in record["items"]):
                for key, value in media_summary(record).items():
                    described.setdefault(key, value)
        self.run.summary.observe_media(described)


def _blob_store(run: Any) -> Any:
    store = _stores.get(run)
    if store is None:
        from ..artifacts.storage import blob_store_of

        store = _stores[run] = blob_store_of(run._settings.dir)
    return store


def _store_call(run: Any, store: Any, step: int, t: float, items: list[tuple[str, int, Media]]) -> tuple[dict[str, Any], bytes] | None:
    """Store the values of one ``log()`` call and return its MEDIA record and the record's JSON; None, and a
    warning, when a value could not be stored."""
    from ..wal._wal import json_payload

    try:
        out = []
        for key, idx, media in items:
            refs: list[str] = []

            def put(data: bytes, refs: list[str] = refs) -> tuple[str, int]:
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
        return record, json_payload(record)
    except Exception as e:  # training goes on; the cause is said once
        keys = ", ".join(sorted({k for k, _, _ in items}))
        warn_once(f"media:{type(e).__name__}:{keys}", f"tracklet: could not store {keys} (step {step}) of run {run.id}: {e!r}")
        return None
