"""Remembers the digest of each local file by its identity, so an unchanged file is not read again.

A file is known by ``(device, inode)`` and trusted unchanged while its size, mtime and
ctime all match what they were when it was hashed. Like git's index, an entry is only
trusted when the file had last changed clearly *before* hashing began: a write in the
same clock tick as the hashing could otherwise leave the timestamps equal and the
content different ("racily clean"). Such a file is simply hashed again next time.

Two places hold the entries. A SQLite table has them all (blobs tracklet wrote and the user's
files), capped by age. Each folder of the user's files also gets a small JSON snapshot of its
entries (``<cache>.folders/<key>.json``), so that logging a folder again reads one file and
imports no sqlite3 (~3.5 ms, a sixth of re-logging 200 unchanged files): the table answers
only for files a snapshot does not vouch for. Snapshots are rewritten whole (temporary name,
then rename); one lost to a concurrent writer only sends its files to the table.
"""

from __future__ import annotations

import json
import os
import threading
import time
import weakref

from ..._errors import warn_once
from ..._ids import path_key

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3

__all__ = ["DigestCache"]

_FINE_MARGIN_NS = 50_000_000  # well above the kernel's timestamp tick (1-10 ms)
_COARSE_MARGIN_NS = 2_000_000_000  # filesystems that store whole seconds (or FAT's two)
_MAX_ROWS = 500_000
_MAX_FOLDERS = 20_000  # snapshots kept; past this the least recently written half goes

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    dev INTEGER NOT NULL, ino INTEGER NOT NULL, size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,
    digest TEXT NOT NULL, hashed_ns INTEGER NOT NULL,
    PRIMARY KEY (dev, ino)
)
"""


def _trusted(st: os.stat_result, hashed_ns: int) -> bool:
    changed = max(st.st_mtime_ns, st.st_ctime_ns)
    margin = _COARSE_MARGIN_NS if st.st_mtime_ns % 1_000_000_000 == 0 else _FINE_MARGIN_NS
    return changed < hashed_ns - margin


class DigestCache:
    """A SQLite table of ``(device, inode) -> (size, mtime, ctime, digest)``; safe across threads and processes.

    Failures never break hashing: an unusable cache warns once and acts as empty.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.folders = os.path.splitext(path)[0] + ".folders"  # the per-folder snapshots
        self._lock = threading.Lock()
        self._pending: list[tuple[int, int, int, int, int, str, int]] = []
        self._pending_folders: dict[str, dict[str, list[int | str]]] = {}  # folder -> name -> row, for snapshots
        self._conn: sqlite3.Connection | None = None
        self._broken = False
        self._known: dict[tuple[int, int], tuple[int, int, int, str, int] | None] = {}  # from prefetch()

    @staticmethod
    def clock() -> int:
        """Now, in the nanoseconds :meth:`record` expects as the time hashing started."""
        return time.time_ns()

    def _connect(self) -> sqlite3.Connection | None:
        import sqlite3  # here, not at the top: a new store's first log needs no cache read (~3 ms of import)

        if self._conn is None and not self._broken:
            try:
                os.makedirs(os.path.dirname(self.path), exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=10, check_same_thread=False, isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute(_SCHEMA)
                self._conn = conn
                weakref.finalize(self, conn.close)  # closed with its cache, never left to the collector
            except (sqlite3.Error, OSError) as exc:
                self._fail(exc)
        return self._conn

    def _fail(self, exc: BaseException) -> None:
        self._broken = True
        self._conn = None
        warn_once(
            f"digest-cache:{self.path}",
            f"tracklet could not use its digest cache at {self.path} ({exc}); files are hashed in full "
            "every time, which is slower but correct. Delete that file to start a fresh cache.",
        )

    def prefetch(self, files: list[tuple[str, os.stat_result]]) -> None:
        """Look these ``(path, stat)`` files up at once; the next :meth:`lookup` of each needs no query.

        Their folders' snapshots first; the table only for files no snapshot vouches for.
        """
        rows = self._from_snapshots(files)
        with self._lock:
            for (_, st), row in zip(files, rows):
                if row is not None:
                    self._known[(st.st_dev, st.st_ino)] = tuple(row[2:])  # type: ignore[assignment]
        rest = [st for (_, st), row in zip(files, rows) if row is None]
        if rest:
            self._prefetch_table(rest)

    def lookup_many(self, files: list[tuple[str, os.stat_result]]) -> list[str | None]:
        """:meth:`lookup` of many ``(path, stat)`` files: their folders' snapshots, then the table in a few queries."""
        rows = self._from_snapshots(files)
        out: list[str | None] = [None] * len(files)
        rest = []
        for i, row in enumerate(rows):
            if row is None:
                rest.append(i)
            elif _trusted(files[i][1], row[6]):  # type: ignore[arg-type]
                out[i] = row[5]  # type: ignore[assignment]
        if rest:
            self._prefetch_table([files[i][1] for i in rest])
            for i in rest:
                out[i] = self.lookup(*files[i])
        return out

    def _from_snapshots(self, files: list[tuple[str, os.stat_result]]) -> list[list[int | str] | None]:
        """Each file's snapshot row (dev, ino, size, mtime_ns, ctime_ns, digest, hashed_ns) if it matches the file's stat."""
        out: list[list[int | str] | None] = [None] * len(files)
        snapshots: dict[str, dict[str, list[int | str]]] = {}
        with self._lock:
            for i, (path, st) in enumerate(files):
                folder, _, name = path.rpartition(os.sep)
                snapshot = snapshots.get(folder)
                if snapshot is None:
                    snapshot = snapshots[folder] = self._read_snapshot(os.path.abspath(folder or os.sep))
                row = snapshot.get(name)
                if (type(row) is list and len(row) == 7 and row[1] == st.st_ino and row[3] == st.st_mtime_ns
                        and row[4] == st.st_ctime_ns and row[2] == st.st_size and row[0] == st.st_dev
                        and type(row[5]) is str and type(row[6]) is int):  # a damaged snapshot vouches for nothing
                    out[i] = row
        return out

    def _prefetch_table(self, stats: list[os.stat_result]) -> None:
        """Read the table's rows of these files in a few queries."""
        inodes = sorted({st.st_ino for st in stats})
        with self._lock:
            if self._conn is None and not os.path.exists(self.path):  # a new store: nothing is known yet
                self._known.update(((st.st_dev, st.st_ino), None) for st in stats)
                return
            import sqlite3

            conn = self._connect()
            if conn is None:
                return
            found: dict[tuple[int, int], tuple[int, int, int, str, int]] = {}
            try:
                for i in range(0, len(inodes), 900):  # under SQLite's limit of bound parameters
                    part = inodes[i : i + 900]
                    marks = ",".join("?" * len(part))
                    for dev, ino, *row in conn.execute(
                        f"SELECT dev, ino, size, mtime_ns, ctime_ns, digest, hashed_ns FROM files WHERE ino IN ({marks})", part
                    ):
                        found[(dev, ino)] = tuple(row)  # type: ignore[assignment]
            except sqlite3.Error as exc:
                self._fail(exc)
                return
            for st in stats:
                self._known[(st.st_dev, st.st_ino)] = found.get((st.st_dev, st.st_ino))

    def lookup(self, path: str, st: os.stat_result | None = None) -> str | None:
        """The digest of ``path`` if it is known and unchanged since it was hashed, else None."""
        st = st or os.stat(path)
        key = (st.st_dev, st.st_ino)
        with self._lock:
            if key in self._known:
                row = self._known.pop(key)
            else:
                import sqlite3

                conn = self._connect()
                if conn is None:
                    return None
                try:
                    row = conn.execute(
                        "SELECT size, mtime_ns, ctime_ns, digest, hashed_ns FROM files WHERE dev=? AND ino=?", key
                    ).fetchone()
                except sqlite3.Error as exc:
                    self._fail(exc)
                    return None
        if row is None:
            return None
        size, mtime_ns, ctime_ns, digest, hashed_ns = row
        if (size, mtime_ns, ctime_ns) != (st.st_size, st.st_mtime_ns, st.st_ctime_ns) or not _trusted(st, hashed_ns):
            return None
        return digest

    def record(self, path: str, digest: str, started_ns: int, st: os.stat_result | None = None) -> None:
        """Remember that ``path`` (as it is now) hashed to ``digest``; hashing began at ``started_ns``.

        Kept in memory until :meth:`flush`. Not kept if the file changed while it was read.
        """
        try:
            st = st or os.stat(path)
        except OSError:
            return
        if not _trusted(st, started_ns):
            return  # changed just before or during hashing: ask again next time
        row = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, digest, started_ns)
        folder, name = os.path.split(os.path.abspath(path))
        with self._lock:
            self._pending.append(row)
            self._pending_folders.setdefault(folder, {})[name] = list(row)

    def record_written(self, path: str, digest: str) -> None:
        """Remember the digest of a file tracklet wrote itself and never writes again (a stored blob).

        Trusted at once: there is no earlier writer whose last tick could race with the hashing.
        """
        try:
            st = os.stat(path)
        except OSError:
            return
        hashed_ns = max(st.st_mtime_ns, st.st_ctime_ns) + _COARSE_MARGIN_NS + 1
        with self._lock:
            self._pending.append((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, digest, hashed_ns))

    def flush(self) -> None:
        """Write the recorded digests: the folders' snapshots, then the table in one transaction."""
        with self._lock:
            rows, self._pending = self._pending, []
            folders, self._pending_folders = self._pending_folders, {}
            for folder, entries in folders.items():
                self._write_snapshot(folder, entries)
            if folders:
                self._prune_snapshots()
            conn = self._connect() if rows else None  # nothing new (a re-log): not even sqlite3 is imported
            if conn is None:
                return
            import sqlite3

            try:
                with conn:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
                    (count,) = conn.execute("SELECT COUNT(*) FROM files").fetchone()
                    if count > _MAX_ROWS:
                        conn.execute(
                            "DELETE FROM files WHERE rowid IN (SELECT rowid FROM files ORDER BY hashed_ns LIMIT ?)",
                            (count - _MAX_ROWS // 2,),
                        )
            except sqlite3.Error as exc:
                self._fail(exc)

    def _snapshot_path(self, folder: str) -> str:
        return os.path.join(self.folders, f"{path_key(folder)}.json")  # the snapshot names its folder: checked on read

    def _read_snapshot(self, folder: str) -> dict[str, list[int | str]]:
        """The entries of ``folder``'s snapshot (name -> row), or none."""
        try:
            with open(self._snapshot_path(folder), "rb") as f:
                data = json.load(f)
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("folder") != folder or not isinstance(data.get("files"), dict):
            return {}  # another folder with the same key, or not ours
        return data["files"]

    def _write_snapshot(self, folder: str, entries: dict[str, list[int | str]]) -> None:
        """Merge ``entries`` into ``folder``'s snapshot; entries of files that are gone are dropped."""
        merged = self._read_snapshot(folder)
        merged.update(entries)
        if len(merged) > len(entries):
            try:
                present = set(os.listdir(folder))
            except OSError:
                present = set(entries)
            merged = {name: row for name, row in merged.items() if name in present}
        path = self._snapshot_path(folder)
        tmp = f"{path}.{os.getpid()}-{threading.get_ident()}.tmp"
        try:
            os.makedirs(self.folders, exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump({"folder": folder, "files": merged}, f, separators=(",", ":"))
            os.replace(tmp, path)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass  # a snapshot not written only sends these files to the table next time

    def _prune_snapshots(self) -> None:
        """Past ``_MAX_FOLDERS`` snapshots, remove the least recently written down to half of it."""
        try:
            names = [n for n in os.listdir(self.folders) if n.endswith(".json")]
            if len(names) <= _MAX_FOLDERS:
                return  # the common case: one listing, no stat
            found = sorted((os.stat(os.path.join(self.folders, n)).st_mtime, n) for n in names)
        except OSError:
            return
        for _, name in found[: len(found) - _MAX_FOLDERS // 2]:
            try:
                os.unlink(os.path.join(self.folders, name))
            except OSError:
                pass

    def close(self) -> None:
        """Flush and close the connection."""
        self.flush()
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
