"""Artifact versions, lineage edges and registry links: writing them into the store.

Called by ingest for a run's ARTIFACT / USE / LINK records (in WAL order, inside the batch's
transaction) and by ``Api`` for changes made outside a run. Every operation is idempotent:
an artifact is identified by its content digest, so replaying a WAL adds nothing.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, func, select

from ..._errors import UsageError
from . import _schema as S
from ._sql import insert_ignore, project_id_for, upsert

__all__ = [
    "add_usage",
    "apply_artifact_records",
    "commit_version",
    "delete_version",
    "find_version",
    "link_version",
    "project_id_for",
    "set_alias",
    "unlink_version",
]


def _collection(conn: Connection, project_id: int, name: str, type_: str | None, description: str | None, create: bool) -> Any:
    c = S.artifact_collections.c
    row = conn.execute(select(S.artifact_collections).where(c.project_id == project_id, c.name == name)).mappings().first()
    if row is None and create:
        cid = conn.execute(
            S.artifact_collections.insert().values(
                project_id=project_id, name=name, type=type_ or "unspecified", description=description, created_at=time.time()
            )
        ).inserted_primary_key[0]
        row = conn.execute(select(S.artifact_collections).where(c.id == cid)).mappings().first()
    return row


def set_alias(conn: Connection, collection_id: int, alias: str, version_id: int) -> None:
    """Point ``alias`` at a version; an alias names one version per collection, so it moves."""
    upsert(conn, S.artifact_aliases, {"collection_id": collection_id, "alias": alias, "version_id": version_id},
            ("collection_id", "alias"), ("version_id",))


def commit_version(conn: Connection, project_id: int, record: dict[str, Any], run_pk: int | None) -> tuple[int, bool]:
    """Store an artifact version unless one with the same content exists; returns (version id, created).

    Versions are numbered in the order they were logged, by the record's time ``t`` (ties: the
    logging run's id, then its log's order), whatever order the runs' logs are ingested in: a
    version ingested late with an earlier time is put in its place and the later ones move up
    one (``v3`` becomes ``v4``); aliases and registry links stay on their version, and ``latest``
    is the newest. Content logged again is the version that holds it, dated by its first log. A
    record's aliases move to its version unless they name a version logged after the record.
    """
    coll = _collection(conn, project_id, record["name"], record.get("type"), record.get("description"), create=True)
    v = S.artifact_versions.c
    at = float(record.get("t") or time.time())
    run_id = _run_id(conn, run_pk)
    existing = conn.execute(
        select(v.id, v.created_at, v.run_pk).where(v.collection_id == coll["id"], v.digest == record["digest"], v.state == "committed")
    ).first()
    created = existing is None
    if created:
        top = conn.execute(select(func.max(v.version_index)).where(v.collection_id == coll["id"])).scalar()
        manifest = record["manifest"]
        entries = manifest.get("entries", {})
        version_id = conn.execute(
            S.artifact_versions.insert().values(
                collection_id=coll["id"],
                version_index=0 if top is None else top + 1,
                digest=record["digest"],
                type=record.get("type") or coll["type"],
                description=record.get("description"),
                metadata=record.get("metadata") or {},
                manifest=manifest,
                size=sum(int(e.get("size") or 0) for e in entries.values()),
                file_count=len(entries),
                run_pk=run_pk,
                created_at=at,
                state="committed",
            )
        ).inserted_primary_key[0]
        if top is not None and (at, run_id) < _last_key(conn, coll["id"], version_id):
            _renumber(conn, coll["id"])  # logged before a version already stored: it goes in its place
    else:
        version_id = existing.id
        if (at, run_id) < (existing.created_at, _run_id(conn, existing.run_pk)):
            # the same content, logged earlier by a run ingested later: the version is that first log's
            conn.execute(S.artifact_versions.update().where(v.id == version_id).values(
                created_at=at, run_pk=run_pk, metadata=record.get("metadata") or {}, description=record.get("description")))
            _renumber(conn, coll["id"])
    for alias in record.get("aliases") or []:
        if alias != "latest" and not _named_by_newer(conn, coll["id"], alias, at):
            set_alias(conn, coll["id"], alias, version_id)
    _point_latest(conn, coll["id"])
    return version_id, created


def _named_by_newer(conn: Connection, collection_id: int, alias: str, at: float) -> bool:
    """Whether ``alias`` names a version logged after ``at``: a record ingested late does not take it back.

    In logging order (the usual case) an alias always moves to the version that asked for it last.
    """
    a, v = S.artifact_aliases.c, S.artifact_versions.c
    held = conn.execute(
        select(v.created_at).join(S.artifact_aliases, a.version_id == v.id).where(a.collection_id == collection_id, a.alias == alias)
    ).scalar()
    return held is not None and held > at


def _run_id(conn: Connection, run_pk: int | None) -> str:
    if run_pk is None:
        return ""
    return conn.execute(select(S.runs.c.run_id).where(S.runs.c.pk == run_pk)).scalar() or ""


def _last_key(conn: Connection, collection_id: int, other_than: int) -> tuple[float, str]:
    """The ordering key (logging time, run id) of the newest version of the collection but ``other_than``."""
    v = S.artifact_versions.c
    row = conn.execute(
        select(v.created_at, v.run_pk).where(v.collection_id == collection_id, v.id != other_than)
        .order_by(v.version_index.desc()).limit(1)
    ).first()
    return (row.created_at, _run_id(conn, row.run_pk)) if row is not None else (float("-inf"), "")


def _renumber(conn: Connection, collection_id: int) -> None:
    """Give the collection's versions (deleted ones too: they keep their place) indices 0..n-1 in logging order.

    Ties in time and run keep their current order, which is their run's log order. Indices move
    in two steps, through negative values, so the unique (collection, index) never sees two rows
    on one index, row by row, in SQLite or PostgreSQL.
    """
    v, r = S.artifact_versions.c, S.runs.c
    rows = conn.execute(
        select(v.id, v.version_index, v.created_at, r.run_id)
        .select_from(S.artifact_versions.outerjoin(S.runs, r.pk == v.run_pk))
        .where(v.collection_id == collection_id)
    ).all()
    ordered = sorted(rows, key=lambda x: (x.created_at, x.run_id or "", x.version_index))
    moved = [(row.id, index) for index, row in enumerate(ordered) if row.version_index != index]
    for version_id, index in moved:
        conn.execute(S.artifact_versions.update().where(v.id == version_id).values(version_index=-1 - index))
    if moved:
        conn.execute(
            S.artifact_versions.update()
            .where(v.collection_id == collection_id, v.version_index < 0)
            .values(version_index=-1 - v.version_index)
        )


def _point_latest(conn: Connection, collection_id: int) -> None:
    """``latest`` names the newest committed version (none left: no ``latest``)."""
    v, a = S.artifact_versions.c, S.artifact_aliases.c
    newest = conn.execute(
        select(v.id).where(v.collection_id == collection_id, v.state == "committed").order_by(v.version_index.desc()).limit(1)
    ).scalar()
    if newest is None:
        conn.execute(S.artifact_aliases.delete().where(a.collection_id == collection_id, a.alias == "latest"))
    else:
        set_alias(conn, collection_id, "latest", newest)


def add_usage(conn: Connection, run_pk: int, version_id: int, kind: str, at: float | None = None) -> None:
    insert_ignore(conn, S.artifact_usage, {"run_pk": run_pk, "version_id": version_id, "kind": kind, "at": at or time.time()})


def find_version(conn: Connection, project_id: int, name: str, digest: str) -> int | None:
    v, c = S.artifact_versions.c, S.artifact_collections.c
    return conn.execute(
        select(v.id)
        .join(S.artifact_collections, c.id == v.collection_id)
        .where(c.project_id == project_id, c.name == name, v.digest == digest, v.state == "committed")
    ).scalar()


def _model(conn: Connection, name: str, create: bool) -> int | None:
    m = S.registered_models.c
    mid = conn.execute(select(m.id).where(m.name == name)).scalar()
    if mid is None and create:
        mid = conn.execute(S.registered_models.insert().values(name=name, created_at=time.time())).inserted_primary_key[0]
    return mid


def _audit(conn: Connection, model_id: int, action: str, version_id: int | None, alias: str | None,
           actor: str | None, at: float, source: tuple[int, int] | None) -> None:
    lk = S.registry_links.c
    index = conn.execute(select(lk.link_index).where(lk.model_id == model_id, lk.version_id == version_id)).scalar()
    row = {"model_id": model_id, "action": action, "version_id": version_id, "link_index": index, "alias": alias,
           "actor": actor, "at": at, "run_pk": source[0] if source else None, "seq": source[1] if source else None}
    if source is None:
        conn.execute(S.registry_audit.insert().values(**row))
    else:
        insert_ignore(conn, S.registry_audit, row)


def link_version(conn: Connection, model: str, version_id: int, aliases: list[str], actor: str | None,
                 at: float | None = None, source: tuple[int, int] | None = None) -> int:
    """Link a version into registered model ``model`` (created on first use) and point ``aliases`` at it."""
    at = at or time.time()
    mid = _model(conn, model, create=True)
    assert mid is not None
    lk = S.registry_links.c
    linked = conn.execute(select(lk.link_index).where(lk.model_id == mid, lk.version_id == version_id)).scalar()
    if linked is None:
        top = conn.execute(select(func.max(lk.link_index)).where(lk.model_id == mid)).scalar()
        conn.execute(S.registry_links.insert().values(
            model_id=mid, version_id=version_id, link_index=0 if top is None else top + 1, linked_at=at, linked_by=actor))
        _audit(conn, mid, "link", version_id, None, actor, at, source)
    ra = S.registry_aliases.c
    for alias in aliases:
        current = conn.execute(select(ra.version_id).where(ra.model_id == mid, ra.alias == alias)).scalar()
        if current != version_id:
            upsert(conn, S.registry_aliases, {"model_id": mid, "alias": alias, "version_id": version_id},
                    ("model_id", "alias"), ("version_id",))
            _audit(conn, mid, "alias", version_id, alias, actor, at, source)
    return mid


def unlink_version(conn: Connection, model: str, version_id: int, actor: str | None) -> None:
    mid = _model(conn, model, create=False)
    lk, ra = S.registry_links.c, S.registry_aliases.c
    if mid is None or conn.execute(select(lk.version_id).where(lk.model_id == mid, lk.version_id == version_id)).first() is None:
        raise UsageError(f"that version is not linked to registry/{model}")
    now = time.time()
    for (alias,) in conn.execute(select(ra.alias).where(ra.model_id == mid, ra.version_id == version_id)).all():
        conn.execute(S.registry_aliases.delete().where(ra.model_id == mid, ra.alias == alias))
        _audit(conn, mid, "unalias", version_id, alias, actor, now, None)
    _audit(conn, mid, "unlink", version_id, None, actor, now, None)
    conn.execute(S.registry_links.delete().where(lk.model_id == mid, lk.version_id == version_id))


def delete_version(conn: Connection, version_id: int, delete_aliases: bool) -> None:
    a = S.artifact_aliases.c
    aliases = [r[0] for r in conn.execute(select(a.alias).where(a.version_id == version_id)).all()]
    user_aliases = [x for x in aliases if x != "latest"]
    if user_aliases and not delete_aliases:
        raise UsageError(
            f"this version has aliases {user_aliases}; pass delete_aliases=True to delete it with them"
        )
    lk = S.registry_links.c
    if conn.execute(select(lk.model_id).where(lk.version_id == version_id)).first() is not None:
        raise UsageError("this version is linked in the model registry; unlink it first")
    conn.execute(S.artifact_aliases.delete().where(a.version_id == version_id))
    v = S.artifact_versions.c
    conn.execute(S.artifact_versions.update().where(v.id == version_id).values(state="deleted"))
    coll = conn.execute(select(v.collection_id).where(v.id == version_id)).scalar()
    _point_latest(conn, coll)


def apply_artifact_records(conn: Connection, run_pk: int, run_project_id: int, records: list[tuple[int, int, dict[str, Any]]]) -> list[str]:
    """Apply ARTIFACT / USE / LINK records of one run in WAL order; returns problems to report."""
    from ...wal._wal import RecordType

    problems: list[str] = []
    for rtype, seq, obj in records:
        project_id = (
            project_id_for(conn, obj.get("entity"), obj["project"]) if obj.get("project") else run_project_id
        )
        if rtype == RecordType.ARTIFACT:
            version_id, _ = commit_version(conn, project_id, obj, run_pk)
            add_usage(conn, run_pk, version_id, "output", obj.get("t"))
            if obj.get("use"):
                add_usage(conn, run_pk, version_id, "input", obj.get("t"))
            continue
        version_id = find_version(conn, project_id, obj["name"], obj["digest"])
        if version_id is None:
            problems.append(f"artifact {obj['name']} ({obj['digest'][:12]}) is not in this store; its {rtype} record was skipped")
            continue
        if rtype == RecordType.USE:
            add_usage(conn, run_pk, version_id, "input", obj.get("t"))
        elif rtype == RecordType.LINK:
            link_version(conn, obj["target"], version_id, obj.get("aliases") or [], obj.get("actor"), obj.get("t"), (run_pk, seq))
    return problems
