"""Artifact and registry lookups behind ``tracklet.Api``: store answers made into ``Artifact`` objects."""

from __future__ import annotations

from typing import Any

from ..artifacts._artifact import Artifact, check_artifact_name, parse_artifact_path
from .._errors import UsageError

__all__ = ["RegisteredModel", "find_artifact", "list_versions", "to_artifact"]


def to_artifact(api: Any, doc: dict[str, Any]) -> Artifact:
    """An ``Artifact`` from the store's version dict, its files read from ``api``'s store."""
    return Artifact._from_store(api.dir, doc, api._store)


def find_artifact(api: Any, path: str, type_: str | None, default_project: str | None) -> Artifact:
    """Resolve ``[entity/]project/name:alias|vN`` or ``registry/model:alias|vN`` to a committed version."""
    store = api._store
    head = path.strip("/").split("/", 1)[0] if isinstance(path, str) else ""
    if head in ("registry", "model-registry") and "/" in path.strip("/"):
        model, _, alias = path.strip("/").split("/", 1)[1].partition(":")
        check_artifact_name(model, "registered model name")
        alias = alias or "latest"
        if model not in {m["name"] for m in store.registered_models()}:
            raise UsageError(f"no registered model {model!r}; link one with run.link_artifact(artifact, 'registry/{model}')")
        doc = store.registry_version(model, alias)
        if doc is None:
            raise UsageError(f"registry/{model} has no version {alias!r}")
    else:
        entity, project, name, alias = parse_artifact_path(path, default_project)
        if project is None:
            raise UsageError(f"{path!r} names no project: write 'project/{path}' or set TRACKLET_PROJECT")
        doc = store.artifact(project, entity, name, alias)
        if doc is None:
            where = store.location
            raise UsageError(f"no artifact {project}/{name}:{alias} in {where}; list them with: tracklet artifact ls --project {project}")
    art = to_artifact(api, doc)
    if type_ is not None and art.type != type_:
        raise UsageError(f"artifact {art.qualified_name} is of type {art.type!r}, not {type_!r}")
    return art


def list_versions(api: Any, path: str, default_project: str | None) -> list[Artifact]:
    entity, project, name, _ = parse_artifact_path(path.split(":")[0], default_project)
    return [to_artifact(api, d) for d in api._store.artifact_versions(project, entity, name)]


class RegisteredModel:
    """A named collection in the model registry: linked versions, aliases, and the audit trail."""

    def __init__(self, api: Any, name: str, row: Any) -> None:
        self._api, self.name, self._row = api, name, row

    @property
    def description(self) -> str | None:
        return self._row["description"]

    def versions(self) -> list[tuple[str, Artifact]]:
        """``[("v0", artifact), ...]`` in link order; each artifact's ``aliases`` are its collection's."""
        return [(f"v{i}", to_artifact(self._api, d)) for i, d in self._api._store.registry_links(self.name)]

    def aliases(self) -> dict[str, str]:
        """Registry alias -> registry version (``{"production": "v2"}``)."""
        return {alias: f"v{i}" for alias, i in self._api._store.registry_aliases(self.name).items()}

    def audit(self) -> list[dict[str, Any]]:
        """Every link, unlink and alias move, oldest first, with who and when."""
        return self._api._store.registry_audit(self.name)

    def __repr__(self) -> str:
        return f"<RegisteredModel registry/{self.name}>"
