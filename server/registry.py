"""The model registry: ``/registry``, ``/registry/{model}/versions|links|aliases|audit``.

The registry is shared by every project: any key with read access somewhere reads it; linking
and unlinking need write access to every project (``*``), since a link's version is named by id.
"""

from __future__ import annotations

from starlette.requests import Request

from ._request import call, json_body, path_name, query_str, store_of
from .artifacts import _version_id
from .auth import actor, require, require_any
from .errors import ApiError, JsonResponse, NotFound

__all__ = ["link_artifact", "registered_models", "registry_aliases", "registry_audit", "registry_links",
           "registry_version", "unlink_artifact"]


def _model(request: Request) -> str:
    require_any(request, "read")
    return path_name(request, "model", "model name")


async def registered_models(request: Request) -> JsonResponse:
    require_any(request, "read")
    return JsonResponse(await call(store_of(request).registered_models))


async def registry_version(request: Request) -> JsonResponse:
    model, alias = _model(request), path_name(request, "alias")
    found = await call(store_of(request).registry_version, model, alias)
    if found is None:
        raise NotFound(f"no version {alias!r} of registered model {model!r}")
    return JsonResponse(found)


async def registry_links(request: Request) -> JsonResponse:
    model = _model(request)
    return JsonResponse([[i, v] for i, v in await call(store_of(request).registry_links, model)])


async def registry_aliases(request: Request) -> JsonResponse:
    return JsonResponse(await call(store_of(request).registry_aliases, _model(request)))


async def registry_audit(request: Request) -> JsonResponse:
    return JsonResponse(await call(store_of(request).registry_audit, _model(request)))


async def link_artifact(request: Request) -> JsonResponse:
    model = path_name(request, "model", "model name")
    body = await json_body(request)
    version_id, aliases = body.get("version_id"), body.get("aliases", [])
    if type(version_id) is not int or not 0 <= version_id < 1 << 63:
        raise ApiError('the body needs "version_id": an artifact version id (an integer)')
    if not isinstance(aliases, list) or not all(isinstance(a, str) and 0 < len(a) <= 128 for a in aliases):
        raise ApiError('"aliases" must be a list of names')
    given = body.get("actor")
    if given is not None and not isinstance(given, str):
        raise ApiError('"actor" must be a string')
    require(request, None, access="write")
    await call(store_of(request).link_artifact, version_id, model, aliases, actor(request, given))
    return JsonResponse({"ok": True})


async def unlink_artifact(request: Request) -> JsonResponse:
    model = path_name(request, "model", "model name")
    version_id = _version_id(request)
    given = query_str(request, "actor", name=False)
    require(request, None, access="write")
    await call(store_of(request).unlink_artifact, version_id, model, actor(request, given))
    return JsonResponse({"ok": True})
