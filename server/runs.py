"""Projects and runs: ``/projects``, ``/runs``, ``/runs/{id}``, ``/runs/{id}/edits``, ``/problems``."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from tracklet.artifacts._collect import delete_run_and_blobs
from tracklet.store._interface import run_fields
from tracklet.wal._wal import RecordType

from ._request import call, json_body, query_list, query_str, run_id_of, store_of, valid_run_id
from .auth import require, visible
from .errors import ApiError, JsonResponse, NotFound

__all__ = ["delete_run", "edit_run", "problems", "projects", "run", "run_for", "runs"]

_EDITS = (RecordType.UPDATE, RecordType.CONFIG, RecordType.SUMMARY)  # what Api().run(...).update() writes


async def run_for(request: Request, run_id: str, access: str = "read") -> dict[str, Any]:
    """The run ``run_id`` (404 when absent) after checking the key's access to its project."""
    found = await call(store_of(request).run, run_id)
    if found is None:
        raise NotFound(f"no run {run_id!r} in this store: GET /api/v1/runs lists them")
    require(request, found["project"], found.get("entity"), access)
    return found


async def projects(request: Request) -> JsonResponse:
    entity = query_str(request, "entity")
    found = await call(store_of(request).projects, entity)
    return JsonResponse([p for p in found if visible(request, p["name"], p.get("entity"))])


async def runs(request: Request) -> JsonResponse:
    """The runs, each with only ``fields`` when given: a table of 10,000 runs needs no environments (3-4 KB each)."""
    project, entity = query_str(request, "project"), query_str(request, "entity")
    fields = run_fields(query_list(request, "fields"))  # 400 naming an unknown one
    if project is not None:
        require(request, project, entity)
    if fields is not None and not visible(request, "*"):  # a key scoped to projects: each run's project is checked
        found = await call(store_of(request).runs, project, entity, tuple(dict.fromkeys(("project", "entity", *fields))))
        return JsonResponse([{k: r[k] for k in fields} for r in found if visible(request, r["project"], r.get("entity"))])
    found = await call(store_of(request).runs, project, entity, fields)
    return JsonResponse([r for r in found if fields is not None or visible(request, r["project"], r.get("entity"))])


async def run(request: Request) -> JsonResponse:
    return JsonResponse(await run_for(request, run_id_of(request)))


async def edit_run(request: Request) -> JsonResponse:
    run_id = run_id_of(request)
    body = await json_body(request)
    records = body.get("records")
    if not isinstance(records, list) or not all(
        isinstance(r, list) and len(r) == 2 and type(r[0]) is int and isinstance(r[1], dict) for r in records
    ):
        raise ApiError('the body must be {"records": [[type, payload], ...]}: an integer record type and a JSON object each')
    for rtype, payload in records:
        if rtype not in _EDITS or (rtype != RecordType.UPDATE and set(payload) != {"replace"}):
            raise ApiError(f"an edit is an UPDATE ({RecordType.UPDATE}) record, or a CONFIG ({RecordType.CONFIG}) or SUMMARY "
                           f'({RecordType.SUMMARY}) record {{"replace": {{...}}}}; got type {rtype}')
    await run_for(request, run_id, "write")
    await call(store_of(request).edit_run, run_id, [(t, p) for t, p in records])
    return JsonResponse({"ok": True})


async def delete_run(request: Request) -> JsonResponse:
    """Delete an ended run (write access to its project); 400 naming why for a running one."""
    run_id = run_id_of(request)
    await run_for(request, run_id, "write")
    removed = await call(delete_run_and_blobs, store_of(request), run_id)
    return JsonResponse({"ok": True, "removed_blobs": len(removed)})


async def problems(request: Request) -> JsonResponse:
    store = store_of(request)
    run_id = query_str(request, "run_id")
    if run_id is not None:
        await run_for(request, valid_run_id(run_id))
        return JsonResponse(await call(store.problems, run_id))
    found = await call(store.problems, None)
    runs = {r["id"]: r for r in await call(store.runs, None, None)}
    return JsonResponse([
        p for p in found if p["run_id"] in runs and visible(request, runs[p["run_id"]]["project"], runs[p["run_id"]].get("entity"))
    ])
