"""A damaged database file: telling its errors from others, and the error that says how to rebuild it."""

from __future__ import annotations

import os
import sqlite3

from ..._errors import StoreDamagedError
from .._layout import DB_FILE, log_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["damaged", "is_damage"]

# SQLite's result codes for a damaged file: SQLITE_CORRUPT, SQLITE_NOTADB
_DAMAGE_CODES = (11, 26)
_DAMAGE_WORDS = ("malformed", "not a database", "corrupt", "disk image")


def is_damage(exc: BaseException) -> bool:
    """Whether ``exc`` (from sqlite3, or SQLAlchemy around it) says the database file is damaged."""
    orig = getattr(exc, "orig", None) or exc
    if isinstance(orig, UnicodeDecodeError):
        return True  # SQLite read garbage where text belongs (seen on a file overwritten with random bytes)
    if not isinstance(orig, sqlite3.DatabaseError) or isinstance(orig, sqlite3.OperationalError) and "locked" in str(orig):
        return False
    code = getattr(orig, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return code & 0xFF in _DAMAGE_CODES
    return any(word in str(orig).lower() for word in _DAMAGE_WORDS)


def damaged(root: str, detail: Any) -> StoreDamagedError:
    """The error that says the store's database is damaged, and how to rebuild it."""
    return StoreDamagedError(
        f"the store database {os.path.join(root, DB_FILE)} is damaged ({detail}). Nothing your runs recorded is lost: "
        f"it is all in their logs ({log_path(root, '*')}). Rebuild the store from them with: "
        f"tracklet doctor --rebuild --dir {root}  (the damaged file is kept beside it)"
    )
