"""Artifact and registry queries behind ``tracklet.Api`` (kept apart from run queries)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from ..artifacts._artifact import Artifact, _is_version_name, check_artifact_name, parse_artifact_path
from ..artifacts._ops import artifact_from_store
from .._errors import UsageError
from ..store.sql import _schema as S

__all__ = ["RegisteredModel", "find_artifact", "list_collections", "list_versions", "registered_models", "run_artifacts", "runs_of_version"]


def _aliases(conn: Connection, version_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {v: [] for v in version_ids}
    if version_ids:
        a = S.artifact_aliases.c
        for alias, vid in conn.execute(select(a.alias, a.version_id).where(a.version_id.in_(version_ids))):
            out[vid].append(alias)
    return out


def _version_query() -> Any:
    v, c, p = S.artifact_versions.c, S.artifact_collections.c, S.projects.c
    return (
        select(
            S.artifact_versions,
            c.name.label("collection_name"),
            p.name.label("project_name"),
            p.entity.label("project_entity"),
        )
        .join(S.artifact_collections, c.id == v.collection_id)
        .join(S.projects, p.id == c.project_id)
        .where(v.state == "committed")
    )


def _to_artifacts(root: str, conn: Connection, rows: list[Any]) -> list[Artifact]:
    aliases = _aliases(conn, [r["id"] for r in rows])
    return [
        artifact_from_store(root, r, {"name": r["collection_name"]}, {"name": r["project_name"], "entity": r["project_entity"]}, aliases[r["id"]])
        for r in rows
    ]


def find_artifact(root: str, conn: Connection, path: str, type_: str | None, default_project: str | None) -> Artifact:
    """Resolve ``[entity/]project/name:alias|vN`` or ``registry/model:alias|vN`` to a committed version."""
    head = path.strip("/").split("/", 1)[0]
    if head in ("registry", "model-registry") and "/" in path.strip("/"):
        art = _find_in_registry(root, conn, path.strip("/").split("/", 1)[1])
    else:
        entity, project, name, alias = parse_artifact_path(path, default_project)
        if project is None:
            raise UsageError(f"{path!r} names no project: write 'project/{path}' or set TRACKLET_PROJECT")
        v, c, p = S.artifact_versions.c, S.artifact_collections.c, S.projects.c
        q = _version_query().where(p.name == project, c.name == name)
        if entity is not None:
            q = q.where(p.entity == entity)
        if _is_version_name(alias):
            q = q.where(v.version_index == int(alias[1:]))
        else:
            a = S.artifact_aliases.c
            q = q.join(S.artifact_aliases, (a.version_id == v.id) & (a.collection_id == c.id)).where(a.alias == alias)
        row = conn.execute(q).mappings().first()
        if row is None:
            raise UsageError(f"no artifact {project}/{name}:{alias} in {root}; list them with: tracklet artifact ls --project {project}")
        (art,) = _to_artifacts(root, conn, [row])
    if type_ is not None and art.type != type_:
        raise UsageError(f"artifact {art.qualified_name} is of type {art.type!r}, not {type_!r}")
    return art


def _find_in_registry(root: str, conn: Connection, spec: str) -> Artifact:
    model, _, alias = spec.partition(":")
    check_artifact_name(model, "registered model name")
    alias = alias or "latest"
    m, lk, ra = S.registered_models.c, S.registry_links.c, S.registry_aliases.c
    mid = conn.execute(select(m.id).where(m.name == model)).scalar()
    if mid is None:
        raise UsageError(f"no registered model {model!r}; link one with run.link_artifact(artifact, 'registry/{model}')")
    if _is_version_name(alias):
        vid = conn.execute(select(lk.version_id).where(lk.model_id == mid, lk.link_index == int(alias[1:]))).scalar()
    elif alias == "latest":
        vid = conn.execute(select(lk.version_id).where(lk.model_id == mid).order_by(lk.link_index.desc()).limit(1)).scalar()
    else:
        vid = conn.execute(select(ra.version_id).where(ra.model_id == mid, ra.alias == alias)).scalar()
    if vid is None:
        raise UsageError(f"registry/{model} has no version {alias!r}")
    row = conn.execute(_version_query().where(S.artifact_versions.c.id == vid)).mappings().first()
    (art,) = _to_artifacts(root, conn, [row])
    return art


def list_versions(root: str, conn: Connection, path: str, default_project: str | None) -> list[Artifact]:
    entity, project, name, _ = parse_artifact_path(path.split(":")[0], default_project)
    v, c, p = S.artifact_versions.c, S.artifact_collections.c, S.projects.c
    q = _version_query().where(p.name == project, c.name == name).order_by(v.version_index)
    if entity is not None:
        q = q.where(p.entity == entity)
    return _to_artifacts(root, conn, conn.execute(q).mappings().all())


def list_collections(conn: Connection, project: str | None, type_: str | None) -> list[dict[str, Any]]:
    from sqlalchemy import func

    v, c, p = S.artifact_versions.c, S.artifact_collections.c, S.projects.c
    q = (
        select(p.name.label("project"), c.name, c.type, func.count(v.id).label("versions"), func.sum(v.size).label("size"),
               func.max(v.created_at).label("updated_at"))
        .select_from(S.artifact_collections.join(S.projects, p.id == c.project_id).join(S.artifact_versions, v.collection_id == c.id))
        .where(v.state == "committed")
        .group_by(c.id, p.name)
        .order_by(p.name, c.name)
    )
    if project:
        q = q.where(p.name == project)
    if type_:
        q = q.where(c.type == type_)
    return [dict(r) for r in conn.execute(q).mappings()]


def runs_of_version(conn: Connection, version_id: int, kind: str) -> list[str]:
    """Run ids that logged (``output``) or used (``input``) a version, oldest first."""
    u, r = S.artifact_usage.c, S.runs.c
    q = select(r.run_id).join(S.runs, r.pk == u.run_pk).where(u.version_id == version_id, u.kind == kind).order_by(u.at)
    return [x for (x,) in conn.execute(q)]


def run_artifacts(root: str, conn: Connection, run_pk: int, kind: str) -> list[Artifact]:
    u, v = S.artifact_usage.c, S.artifact_versions.c
    q = _version_query().join(S.artifact_usage, u.version_id == v.id).where(u.run_pk == run_pk, u.kind == kind).order_by(u.at)
    return _to_artifacts(root, conn, conn.execute(q).mappings().all())


class RegisteredModel:
    """A named collection in the model registry: linked versions, aliases, and the audit trail."""

    def __init__(self, api: Any, name: str, row: Any) -> None:
        self._api, self.name, self._row = api, name, row

    @property
    def description(self) -> str | None:
        return self._row["description"]

    def versions(self) -> list[tuple[str, Artifact]]:
        """``[("v0", artifact), ...]`` in link order; each artifact's ``aliases`` are its collection's."""
        lk = S.registry_links.c
        with self._api._db().connect() as conn:
            links = conn.execute(select(lk.link_index, lk.version_id).where(lk.model_id == self._row["id"]).order_by(lk.link_index)).all()
            rows = {r["id"]: r for r in conn.execute(_version_query().where(S.artifact_versions.c.id.in_([v for _, v in links]))).mappings()}
            arts = dict(zip(rows, _to_artifacts(self._api.dir, conn, list(rows.values()))))
            conn.rollback()
        return [(f"v{i}", arts[v]) for i, v in links if v in arts]

    def aliases(self) -> dict[str, str]:
        """Registry alias -> registry version (``{"production": "v2"}``)."""
        ra, lk = S.registry_aliases.c, S.registry_links.c
        with self._api._db().connect() as conn:
            rows = conn.execute(
                select(ra.alias, lk.link_index).join(S.registry_links, (lk.model_id == ra.model_id) & (lk.version_id == ra.version_id))
                .where(ra.model_id == self._row["id"])
            ).all()
            conn.rollback()
        return {alias: f"v{i}" for alias, i in sorted(rows)}

    def audit(self) -> list[dict[str, Any]]:
        """Every link, unlink and alias move, oldest first, with who and when."""
        au = S.registry_audit.c
        with self._api._db().connect() as conn:
            rows = conn.execute(select(S.registry_audit).where(au.model_id == self._row["id"]).order_by(au.at, au.id)).mappings().all()
            conn.rollback()
        return [
            {"action": r["action"], "version": None if r["link_index"] is None else f"v{r['link_index']}",
             "artifact_version_id": r["version_id"], "alias": r["alias"], "actor": r["actor"], "at": r["at"]}
            for r in rows
        ]

    def __repr__(self) -> str:
        return f"<RegisteredModel registry/{self.name}>"


def registered_models(conn: Connection) -> list[Any]:
    return conn.execute(select(S.registered_models).order_by(S.registered_models.c.name)).mappings().all()
