"""The sqlite3-only read path that training processes use (no SQLAlchemy import)."""

from __future__ import annotations

import sqlite3

from tracklet.store._layout import DB_FILE
from tracklet.store.sql._lite import artifact_version, stored_offset


def test_a_store_whose_schema_is_not_created_yet_reads_as_empty(tmp_path):
    # the worker creates the file before its tables: a reader in that moment must not fail
    sqlite3.connect(tmp_path / DB_FILE).close()
    assert stored_offset(str(tmp_path), "r1") == 0
    assert artifact_version(str(tmp_path), "p", None, "data", "0" * 64) is None


def test_no_store_file_reads_as_empty(tmp_path):
    assert stored_offset(str(tmp_path), "r1") == 0
    assert artifact_version(str(tmp_path), "p", None, "data", "0" * 64) is None

