"""Removing blobs nothing lists any more, after a deleted artifact version or run, without racing a log.

A folder store's blobs (``DIR/blobs``) are shared by artifact files and media values, by content: a
blob may be removed only when no committed version, no stored media value and no record still on
its way to the store lists it. Logs hold the blob store's removal lock shared while they find or store
blobs; a delete holds it exclusive from deciding to removing.
"""

from __future__ import annotations

import json
import os

from .._errors import warn_once
from ..store._layout import log_path
from ..wal._wal import RecordType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["delete_run_and_blobs", "unsynced_digests"]


def delete_run_and_blobs(store: Any, run_id: str) -> list[str]:
    """Delete ``run_id`` from ``store`` and, in a folder store, the blobs of its media that nothing else lists.

    Returns the digests removed. Blobs stay where that cannot be known safely: a database store or a blob
    folder that other stores log into, a log holding a record it could not write yet, an unreadable log.
    """
    from ..store.sql import SqlStore

    if not isinstance(store, SqlStore) or store.url is not None:
        store.delete_run(run_id)  # a server's or a database's blobs are shared: never collected from here
        return []
    blobs = store.blob_store()
    own_folder = not os.environ.get("TRACKLET_BLOB_URL") and not blobs.shared
    with blobs.removal_lock(exclusive=True):
        unsynced = unsynced_digests(store.root, store) if own_folder and not blobs.records_pending() else None
        unused = store.delete_run(run_id)
        if unsynced is None:
            return []
        removed = [d for d in unused if d not in unsynced]
        for digest in removed:
            blobs.delete(digest)
    return removed


def unsynced_digests(root: str, sql_store: Any) -> set[str] | None:
    """Blob digests listed by artifact and media records that runs under ``root`` wrote and the store has not ingested
    (offline runs, a worker behind); None when a run's log cannot be read through (keep every blob)."""
    from ..store._layout import runs_dir
    from ..wal._logfile import log_size
    from ..wal._media import media_digests
    from ..wal._wal import WalReader
    from .storage import Manifest

    stored = {r["id"]: r["stored_offset"] for r in sql_store.runs()}
    found: set[str] = set()
    try:
        run_ids = os.listdir(runs_dir(root))
    except FileNotFoundError:
        return found
    for run_id in run_ids:
        wal = log_path(root, run_id)
        try:
            if log_size(wal) is None and run_id in stored:
                continue  # a compressed log is one the store holds whole
        except OSError:
            continue  # no run's log (yet): it holds no record
        reader = WalReader(wal)
        try:
            reader.check_header()
        except (OSError, ValueError):
            continue  # no run's log (yet): it holds no record
        try:
            for rtype, _, buf, start, stop, _ in reader.scan(stored.get(run_id, 0)):
                if rtype == RecordType.ARTIFACT:
                    manifest = Manifest.from_json(json.loads(bytes(buf[start:stop]))["manifest"])
                    found |= {e.digest for e in manifest if e.ref is None}
                elif rtype == RecordType.MEDIA:  # a table or image shares the blob store, and may share a blob
                    found |= media_digests(json.loads(bytes(buf[start:stop])))
        except (OSError, ValueError, KeyError, TypeError) as e:
            warn_once(f"delete-unreadable:{wal}", f"tracklet: {wal} cannot be read through ({e!r}); "
                      "no blob is removed, since a record there may list it")
            return None
    return found
