"""Disk usage helpers shared by the adapters (standard library only)."""

import os


def file_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def tree_size(path):
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            total += file_size(os.path.join(root, name))
    return total


def sqlite_size(db_path):
    """Bytes of an SQLite database with its -wal, -shm and -journal side files."""
    return sum(file_size(db_path + sfx) for sfx in ("", "-wal", "-shm", "-journal"))


def sqlite_parts(db_path):
    """{"store": all files of the database, "store_db_file": the main file, "store_sqlite_wal": its -wal}."""
    return {
        "store": sqlite_size(db_path),
        "store_db_file": file_size(db_path),
        "store_sqlite_wal": file_size(db_path + "-wal"),
    }
