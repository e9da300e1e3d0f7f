"""Artifact versions and lineage: ``/artifact-collections``, ``/artifacts/{project}/{name}/...``,
``/artifact-versions/{id}/...``, ``/runs/{id}/artifacts``."""

from __future__ import annotations

from starlette.requests import Request

from tracklet.artifacts.storage._digest import is_content_digest

from ._request import call, path_name, path_number, query_bool, query_str, run_id_of, store_of
from .auth import require, visible
from .errors import ApiError, JsonResponse, NotFound
from .runs import run_for

__all__ = ["artifact", "artifact_by_digest", "artifact_collections", "artifact_runs", "artifact_versions",
           "delete_artifact", "run_artifacts"]

_KINDS = ("output", "input")


def _kind(request: Request) -> str:
    kind = query_str(request, "kind", "output")
    if kind not in _KINDS:
        raise ApiError(f"kind must be 'output' or 'input'; got {kind!r}")
    return kind


def _version_id(request: Request) -> int:
    return path_number(request, "version_id", "an artifact version id is a number")


def _collection(request: Request) -> tuple[str, str | None, str]:
    project, name = path_name(request, "project"), path_name(request, "name", "artifact name")
    entity = query_str(request, "entity")
    require(request, project, entity)
    return project, entity, name


async def run_artifacts(request: Request) -> JsonResponse:
    run_id = run_id_of(request)
    kind = _kind(request)
    await run_for(request, run_id)
    return JsonResponse(await call(store_of(request).run_artifacts, run_id, kind))


async def artifact_collections(request: Request) -> JsonResponse:
    project, type_ = query_str(request, "project"), query_str(request, "type")
    if project is not None:
        require(request, project)
    found = await call(store_of(request).artifact_collections, project, type_)
    return JsonResponse([c for c in found if visible(request, c["project"], c.get("entity"))])


async def artifact_versions(request: Request) -> JsonResponse:
    project, entity, name = _collection(request)
    return JsonResponse(await call(store_of(request).artifact_versions, project, entity, name))


async def artifact(request: Request) -> JsonResponse:
    project, entity, name = _collection(request)
    alias = path_name(request, "alias")
    found = await call(store_of(request).artifact, project, entity, name, alias)
    if found is None:
        raise NotFound(f"no version {alias!r} of artifact {project}/{name}: GET /api/v1/artifacts/{project}/{name} lists them")
    return JsonResponse(found)


async def artifact_by_digest(request: Request) -> JsonResponse:
    project, entity, name = _collection(request)
    digest = request.path_params["digest"]
    if len(digest) > 80 or not digest.isascii():
        raise ApiError("not a digest")
    found = await call(store_of(request).artifact_by_digest, project, entity, name, digest)
    if found is None:
        raise NotFound(f"no version of artifact {project}/{name} has digest {digest}")
    return JsonResponse(found)


async def artifact_runs(request: Request) -> JsonResponse:
    version_id, kind = _version_id(request), _kind(request)
    store = store_of(request)
    ids = await call(store.artifact_runs, version_id, kind)
    shown = []
    for run_id in ids:  # lineage shows only the runs this key may read
        found = await call(store.run, run_id)
        if found is not None and visible(request, found["project"], found.get("entity")):
            shown.append(run_id)
    return JsonResponse(shown)


async def delete_artifact(request: Request) -> JsonResponse:
    version_id = _version_id(request)
    delete_aliases = query_bool(request, "delete_aliases")
    require(request, None, access="write")  # the store names a version's project only by id: an admin's key
    return JsonResponse(await call(store_of(request).delete_artifact, version_id, delete_aliases))


def check_digest(digest: str) -> str:
    if not is_content_digest(digest):
        raise ApiError(f"{digest[:80]!r} is not a content digest (64 hex characters of BLAKE3)")
    return digest
