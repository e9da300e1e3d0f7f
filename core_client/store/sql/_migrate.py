"""``migrate(url)``: upgrade a store's database to this tracklet's schema (``tracklet server --migrate``).

Also ``python -m tracklet.store.sql._migrate URL``.
"""

from __future__ import annotations

import sys

from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from ..._errors import StoreError
from ._engine import make_engine, write_transaction
from ._schema import SCHEMA_VERSION
from ._urls import normalize_url, safe_url
from ._versions import stored_version, upgrade

__all__ = ["migrate", "migration_summary"]

# a constant key for pg_advisory_xact_lock: two servers started with --migrate at once take turns
_PG_LOCK = 0x747261636B6C6574  # "tracklet"


def migrate(url: str) -> int | None:
    """Upgrade the database at ``url`` to this tracklet's schema (creating it when empty); returns the version it had.

    What ``tracklet server --migrate`` runs. Safe to run from several servers at once (they take
    turns) and to repeat (a current database is left as it is). Raises ``StoreError`` when the
    database is newer than this tracklet.
    """
    url = normalize_url(url)
    if url.startswith("sqlite:"):
        engine = make_engine(url)  # SQLite upgrades when opened
        engine.dispose()
        return None
    engine = create_engine(url)
    try:
        with write_transaction(engine) as conn:
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK})")
            before = stored_version(conn)
            upgrade(conn, url)
        return before
    except OperationalError as e:
        raise StoreError(f"cannot reach the database at {safe_url(url)}: {e.orig}") from None
    finally:
        engine.dispose()


def migration_summary(url: str, before: int | None) -> str:
    """The line ``--migrate`` prints: the database (password masked), the version it had and the one it has now."""
    was = "no schema" if before is None else f"schema version {before}"
    return f"{safe_url(normalize_url(url))}: {was} -> schema version {SCHEMA_VERSION}"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m tracklet.store.sql._migrate DATABASE_URL", file=sys.stderr)
        return 2
    try:
        before = migrate(args[0])
    except StoreError as e:
        print(f"tracklet: {e}", file=sys.stderr)
        return 1
    print(migration_summary(args[0], before))
    return 0


if __name__ == "__main__":
    sys.exit(main())
