"""Dialect-aware INSERT helpers shared by ingest and the artifact records (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, select

from . import _schema as S

__all__ = ["insert_ignore", "project_id_for", "upsert"]


def _insert(conn: Connection, table: Any) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def insert_ignore(conn: Connection, table: Any, rows: list[dict[str, Any]] | dict[str, Any]) -> None:
    """Insert rows whose key is new; rows already there stay as they are (replays add nothing)."""
    conn.execute(_insert(conn, table).on_conflict_do_nothing(), rows)


_upserts: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], Any] = {}  # statements are immutable: made once


def upsert(conn: Connection, table: Any, rows: list[dict[str, Any]] | dict[str, Any], keys: tuple[str, ...], cols: tuple[str, ...]) -> None:
    """Insert rows, or set ``cols`` of the row with the same ``keys``: the last write wins."""
    at = (conn.dialect.name, table.name, keys, cols)
    stmt = _upserts.get(at)
    if stmt is None:  # making it took ~0.25 ms, paid by every ingest batch with media
        stmt = _insert(conn, table)
        stmt = _upserts[at] = stmt.on_conflict_do_update(index_elements=list(keys), set_={c: stmt.excluded[c] for c in cols})
    conn.execute(stmt, rows)


def project_id_for(conn: Connection, entity: str | None, name: str) -> int:
    """The id of project ``entity/name``, created on first use."""
    entity = entity or ""
    p = S.projects.c
    query = select(p.id).where(p.entity == entity, p.name == name)
    pid = conn.execute(query).scalar()
    if pid is None:  # on PostgreSQL another writer may create it meanwhile: then take its id
        insert_ignore(conn, S.projects, {"entity": entity, "name": name, "created_at": time.time()})
        pid = conn.execute(query).scalar_one()
    return pid
