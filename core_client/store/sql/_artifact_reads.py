"""Artifact versions, lineage and the registry, read from the SQL store as the interface's dicts."""

from __future__ import annotations

from ._reader import Reader, from_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["collections", "of_run", "registry_links", "registry_version", "version_by_alias", "version_by_digest", "versions"]

_VERSION = (
    "SELECT v.id, c.name, p.name, p.entity, v.type, v.version_index, v.digest, v.description, v.metadata, "
    "v.manifest, v.size, v.created_at FROM artifact_versions v "
    "JOIN artifact_collections c ON c.id = v.collection_id JOIN projects p ON p.id = c.project_id "
    "WHERE v.state = 'committed'"
)
_FIELDS = ("id", "name", "project", "entity", "type", "version_index", "digest", "description", "metadata", "manifest", "size", "created_at")


def _docs(q: Reader, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    docs = []
    for row in rows:
        d = dict(zip(_FIELDS, row))
        d["metadata"], d["manifest"], d["aliases"] = from_json(d["metadata"]) or {}, from_json(d["manifest"]), []
        docs.append(d)
    if docs:
        by_id = {d["id"]: d for d in docs}
        marks = ", ".join(f":v{i}" for i in range(len(by_id)))
        params = {f"v{i}": vid for i, vid in enumerate(by_id)}
        for alias, vid in q.all(f"SELECT alias, version_id FROM artifact_aliases WHERE version_id IN ({marks})", **params):
            by_id[vid]["aliases"].append(alias)
        for d in docs:
            d["aliases"].sort()
    return docs


def _one(q: Reader, sql: str, **params: Any) -> dict[str, Any] | None:
    row = q.one(_VERSION + sql, **params)
    return _docs(q, [row])[0] if row is not None else None


def _where_project(entity: str | None) -> str:
    return " AND p.name = :project AND c.name = :name" + (" AND p.entity = :entity" if entity is not None else "")


def version_by_alias(q: Reader, project: str, entity: str | None, name: str, alias: str) -> dict[str, Any] | None:
    where = _where_project(entity)
    if len(alias) > 1 and alias[0] == "v" and alias[1:].isdigit():
        return _one(q, where + " AND v.version_index = :index", project=project, entity=entity or "", name=name, index=int(alias[1:]))
    return _one(
        q, where + " AND v.id = (SELECT a.version_id FROM artifact_aliases a WHERE a.collection_id = c.id AND a.alias = :alias)",
        project=project, entity=entity or "", name=name, alias=alias,
    )


def version_by_digest(q: Reader, project: str, entity: str | None, name: str, digest: str) -> dict[str, Any] | None:
    return _one(q, _where_project(entity or "") + " AND v.digest = :digest", project=project, entity=entity or "", name=name, digest=digest)


def versions(q: Reader, project: str, entity: str | None, name: str) -> list[dict[str, Any]]:
    rows = q.all(_VERSION + _where_project(entity) + " ORDER BY v.version_index", project=project, entity=entity or "", name=name)
    return _docs(q, rows)


def collections(q: Reader, project: str | None, type_: str | None) -> list[dict[str, Any]]:
    sql = (
        "SELECT p.name, c.name, c.type, COUNT(v.id), SUM(v.size), MAX(v.created_at) FROM artifact_collections c "
        "JOIN projects p ON p.id = c.project_id JOIN artifact_versions v ON v.collection_id = c.id WHERE v.state = 'committed'"
        + (" AND p.name = :project" if project else "") + (" AND c.type = :type" if type_ else "")
        + " GROUP BY c.id, p.name, c.name, c.type ORDER BY p.name, c.name"
    )
    return [
        {"project": p, "name": n, "type": t, "versions": k, "size": s, "updated_at": u}
        for p, n, t, k, s, u in q.all(sql, project=project, type=type_)
    ]


def of_run(q: Reader, run_pk: int, kind: str) -> list[dict[str, Any]]:
    rows = q.all(
        _VERSION.replace("FROM artifact_versions v", "FROM artifact_versions v JOIN artifact_usage u ON u.version_id = v.id")
        + " AND u.run_pk = :pk AND u.kind = :kind ORDER BY u.at",
        pk=run_pk, kind=kind,
    )
    return _docs(q, rows)


def registry_version(q: Reader, model: str, alias: str) -> dict[str, Any] | None:
    mid = q.scalar("SELECT id FROM registered_models WHERE name = :model", model=model)
    if mid is None:
        return None
    if len(alias) > 1 and alias[0] == "v" and alias[1:].isdigit():
        vid = q.scalar("SELECT version_id FROM registry_links WHERE model_id = :mid AND link_index = :i", mid=mid, i=int(alias[1:]))
    elif alias == "latest":
        vid = q.scalar("SELECT version_id FROM registry_links WHERE model_id = :mid ORDER BY link_index DESC LIMIT 1", mid=mid)
    else:
        vid = q.scalar("SELECT version_id FROM registry_aliases WHERE model_id = :mid AND alias = :alias", mid=mid, alias=alias)
    return None if vid is None else _one(q, " AND v.id = :vid", vid=vid)


def registry_links(q: Reader, model: str) -> list[tuple[int, dict[str, Any]]]:
    links = q.all(
        "SELECT lk.link_index, lk.version_id FROM registry_links lk JOIN registered_models m ON m.id = lk.model_id "
        "WHERE m.name = :model ORDER BY lk.link_index",
        model=model,
    )
    if not links:
        return []
    marks = ", ".join(f":v{i}" for i in range(len(links)))
    rows = q.all(_VERSION + f" AND v.id IN ({marks})", **{f"v{i}": vid for i, (_, vid) in enumerate(links)})
    by_id = {d["id"]: d for d in _docs(q, rows)}
    return [(i, by_id[vid]) for i, vid in links if vid in by_id]
