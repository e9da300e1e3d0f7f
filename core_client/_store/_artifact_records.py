"""Artifact versions, lineage edges and registry links: writing them into the store.

Called by ingest for a run's ARTIFACT / USE / LINK records (in WAL order, inside the batch's
transaction) and by ``Api`` for changes made outside a run. Every operation is idempotent:
an artifact is identified by its content digest, so replaying a WAL adds nothing.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, func, select

from .._errors import UsageError
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
    """Store an artifact version unless one with the same content exists; returns (version id, created)."""
    coll = _collection(conn, project_id, record["name"], record.get("type"), record.get("description"), create=True)
    v = S.artifact_versions.c
    existing = conn.execute(
        select(v.id).where(v.collection_id == coll["id"], v.digest == record["digest"], v.state == "committed")
    ).scalar()
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
                created_at=record.get("t") or time.time(),
                state="committed",
            )
        ).inserted_primary_key[0]
        set_alias(conn, coll["id"], "latest", version_id)
    else:
        version_id = existing
    for alias in record.get("aliases") or []:
        set_alias(conn, coll["id"], alias, version_id)
    return version_id, created


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
    newest = conn.execute(
        select(v.id).where(v.collection_id == coll, v.state == "committed").order_by(v.version_index.desc()).limit(1)
    ).scalar()
    if newest is not None:
        set_alias(conn, coll, "latest", newest)


def apply_artifact_records(conn: Connection, run_pk: int, run_project_id: int, records: list[tuple[int, int, dict[str, Any]]]) -> list[str]:
    """Apply ARTIFACT / USE / LINK records of one run in WAL order; returns problems to report."""
    from .._wal import RecordType

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
