"""The write path: ``GET``/``POST /runs/{id}/log``, a run's log arriving in batches (``docs/http-api.md``)."""

from __future__ import annotations

from starlette.requests import Request

from tracklet.store.sql import check_batch, first_run_record_of

from ._request import call, read_body, run_id_of, store_of
from .auth import require, require_any
from .errors import ApiError, JsonResponse

__all__ = ["log_position", "append_log"]


async def log_position(request: Request) -> JsonResponse:
    run_id = run_id_of(request)
    store = store_of(request)
    found = await call(store.run, run_id)
    if found is not None:
        require(request, found["project"], found.get("entity"), "read")
    else:
        require_any(request, "write")
    position = await call(store.log_position, run_id)
    return JsonResponse({"ok": True, "offset": position["offset"], "log_id": position["log_id"]})


def _header_int(request: Request, name: str) -> int:
    value = request.headers.get(name)
    if value is None:
        raise ApiError(f"the {name} header is missing: it says where in the run's log the body starts")
    try:
        n = int(value)
    except ValueError:
        raise ApiError(f"{name} must be an integer; got {value[:40]!r}") from None
    if n < 0:
        raise ApiError(f"{name} must be 0 or more; got {n}")
    return n


async def append_log(request: Request) -> JsonResponse:
    run_id = run_id_of(request)
    offset = _header_int(request, "x-tracklet-offset")
    log_id = request.headers.get("x-tracklet-log-id") or None
    if log_id is not None and (len(log_id) > 64 or not log_id.isprintable()):
        raise ApiError("X-Tracklet-Log-Id is not a log id")
    data = await read_body(request)
    store = store_of(request)
    found = await call(store.run, run_id)
    if found is not None:
        require(request, found["project"], found.get("entity"), "write")
    else:
        check_batch(data, offset)  # a UsageError (400) for bytes that are not a log, before any lookup
        first = first_run_record_of(data, offset)
        if first is None:
            if offset == 0:
                raise ApiError("a new run's log starts with its header and RUN record")
            require_any(request, "write")  # a gap: the append below answers 409 with where to resume
        else:
            project = first.get("project")
            if not isinstance(project, str) or not project:
                raise ApiError("the log's RUN record names no project")
            require(request, project, first.get("entity") or None, "write")
    held = await call(store.append_log, run_id, offset, data, log_id)
    return JsonResponse({"ok": True, "offset": held})
