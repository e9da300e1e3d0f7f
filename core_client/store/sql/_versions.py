"""Schema versions and upgrading to this tracklet's (Alembic revisions in ``migrations/versions``).

The schema version lives in ``tracklet_meta`` (``schema_version``), where every tracklet since 0.1
reads it: checking it is one SELECT, so opening a current store never loads Alembic. Alembic's own
``alembic_version`` is kept in step with it; where they disagree (a store made before Alembic has
none), ``tracklet_meta`` wins and Alembic is stamped to match before it upgrades.

SQLite stores are upgraded when opened (``_engine.make_engine``). A PostgreSQL database is shared by
servers that may run different releases, so it is upgraded only on request: ``migrate(url)``, which
``tracklet server --migrate`` calls.
"""

from __future__ import annotations

import os

from sqlalchemy import Column, Connection, MetaData, PrimaryKeyConstraint, String, Table, select
from sqlalchemy.exc import OperationalError

from ..._errors import StoreError
from . import _schema as S
from ._urls import safe_url

__all__ = ["MIGRATIONS_DIR", "check_version", "stored_version", "upgrade"]

MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations")

# Alembic's own table, as Alembic makes it: written here when a new store is stamped without loading Alembic
_alembic_version = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def stored_version(conn: Connection) -> int | None:
    """The schema version of the database on ``conn``; None when it has no tracklet schema yet."""
    query = select(S.meta.c.value).where(S.meta.c.key == "schema_version")
    if conn.dialect.name == "postgresql":  # a failed statement would abort the transaction: ask first
        if conn.exec_driver_sql("SELECT to_regclass('tracklet_meta')").scalar() is None:
            return None
        value = conn.execute(query).scalar()
    else:
        try:
            value = conn.execute(query).scalar()
        except OperationalError:  # no tracklet_meta table
            return None
    return None if value is None else int(value)


def check_version(version: int | None, url: str) -> None:
    """Refuse a database whose schema is newer than this tracklet's, saying how to fix it."""
    if version is not None and version > S.SCHEMA_VERSION:
        raise StoreError(
            f"the store at {safe_url(url)} has schema version {version}, newer than this tracklet knows "
            f"({S.SCHEMA_VERSION}). Upgrade tracklet: pip install -U tracklet"
        )


def upgrade(conn: Connection, url: str) -> bool:
    """Bring the database on ``conn`` to ``SCHEMA_VERSION`` inside the caller's transaction; True if it changed.

    The caller holds the write lock (SQLite's ``BEGIN IMMEDIATE``, PostgreSQL's advisory lock), so
    the version read here is the one the revisions apply to.
    """
    version = stored_version(conn)
    check_version(version, url)
    if version == S.SCHEMA_VERSION:
        return False
    if version is None and conn.dialect.name == "sqlite":
        # A new store: the tables as _schema.py declares them, stamped with the head revision, as
        # Alembic's cookbook builds a database from scratch. Loading Alembic and running every
        # revision would cost about 150 ms more, at the first open of every store folder.
        S.metadata.create_all(conn)
        conn.execute(S.meta.insert().values(key="schema_version", value=str(S.SCHEMA_VERSION)))
        _alembic_version.create(conn)
        conn.execute(_alembic_version.insert().values(version_num=f"{S.SCHEMA_VERSION:04d}"))
        return True
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS_DIR.replace("%", "%%"))
    cfg.attributes["connection"] = conn
    if version is not None:
        command.stamp(cfg, f"{version:04d}", purge=True)  # tracklet_meta is what every release reads: it wins
    command.upgrade(cfg, f"{S.SCHEMA_VERSION:04d}")
    return True
