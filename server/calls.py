"""Traced calls: ``/calls``, ``/calls/{id}``, feedback, and trace logs arriving in batches (``/traces/{log_id}/log``)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from tracklet.store.sql._remote_log import check_batch
from tracklet.wal._wal import RecordType, WalReader

from ._request import call, json_body, query_bool, query_float, query_int, query_str, read_body, store_of
from .auth import require, require_any
from .errors import ApiError, JsonResponse, NotFound
from .log import _header_int

__all__ = ["add_feedback", "append_trace_log", "call_one", "calls", "feedback", "trace_log_position"]

_TEXT_FILTERS = ("op", "trace_id", "parent_id", "run_id", "status", "kind", "feedback")
_NUMBER_FILTERS = ("since", "until", "min_latency_ms", "max_latency_ms", "min_cost")


async def calls(request: Request) -> JsonResponse:
    project = query_str(request, "project")
    if project is None:
        raise ApiError("query parameter project is required: the calls of which project?")
    entity = query_str(request, "entity")
    require(request, project, entity)
    filters: dict[str, Any] = {k: query_str(request, k, name=False) for k in _TEXT_FILTERS}
    filters.update({k: query_float(request, k) for k in _NUMBER_FILTERS})
    filters["min_tokens"] = query_int(request, "min_tokens")
    filters["roots"] = query_bool(request, "roots") or None
    order = query_str(request, "order", "started_at", name=False)
    limit = query_int(request, "limit", minimum=0)
    offset = query_int(request, "offset", 0, minimum=0)
    found = await call(store_of(request).calls, project, entity, {k: v for k, v in filters.items() if v is not None}, order, limit, offset)
    return JsonResponse(found)


async def _call_for(request: Request, access: str = "read") -> dict[str, Any]:
    call_id = request.path_params["call_id"]
    if not call_id or len(call_id) > 64 or not call_id.isprintable():
        raise ApiError(f"{call_id[:80]!r} is not a call id")
    found = await call(store_of(request).call, call_id)
    if found is None:
        raise NotFound(f"no call {call_id!r} in this store: GET /api/v1/calls?project=... lists them")
    require(request, found["project"], found.get("entity") or None, access)
    return found


async def call_one(request: Request) -> JsonResponse:
    return JsonResponse(await _call_for(request))


async def feedback(request: Request) -> JsonResponse:
    found = await _call_for(request)
    return JsonResponse(await call(store_of(request).feedback, found["id"]))


async def add_feedback(request: Request) -> JsonResponse:
    body = await json_body(request)
    kind = body.get("kind")
    if kind not in ("reaction", "note", "score") or "value" not in body:
        raise ApiError('the body must be {"kind": "reaction" | "note" | "score", "value": ..., "name"?: str, "creator"?: str}')
    if kind == "score" and (isinstance(body["value"], bool) or not isinstance(body["value"], (int, float))):
        raise ApiError(f"a score is a number; got {body['value']!r}")
    for k in ("name", "creator"):
        if body.get(k) is not None and not isinstance(body[k], str):
            raise ApiError(f"{k} must be a string")
    found = await _call_for(request, "write")
    stored = await call(store_of(request).add_feedback, found["id"], kind, body["value"], body.get("name"), body.get("creator"))
    return JsonResponse(stored)


def _log_id(request: Request) -> str:
    log_id = request.path_params["log_id"]
    if not log_id or len(log_id) > 64 or not all(c in "0123456789abcdef" for c in log_id):
        raise ApiError(f"{log_id[:80]!r} is not a trace log id (hex digits)")
    return log_id


async def trace_log_position(request: Request) -> JsonResponse:
    position = await call(store_of(request).trace_log_position, _log_id(request))
    if position["project"] is not None:
        require(request, position["project"], position["entity"] or None, "write")
    else:
        require_any(request, "write")
    return JsonResponse({"ok": True, "offset": position["offset"]})


async def append_trace_log(request: Request) -> JsonResponse:
    log_id = _log_id(request)
    offset = _header_int(request, "x-tracklet-offset")
    data = await read_body(request)
    store = store_of(request)
    position = await call(store.trace_log_position, log_id)
    if position["project"] is not None:
        require(request, position["project"], position["entity"] or None, "write")
    elif offset == 0:
        check_batch(data, offset)
        head = next(iter(WalReader.over_bytes(data, 0, "the trace log as sent").records(0)), None)
        if head is None or head.type != RecordType.TRACE:
            raise ApiError("a new trace log starts with its header and TRACE record")
        project = head.json().get("project")
        if not isinstance(project, str) or not project:
            raise ApiError("the trace log's TRACE record names no project")
        require(request, project, head.json().get("entity") or None, "write")
    else:
        require_any(request, "write")  # a gap: the append answers 409 with where to resume
    held = await call(store.append_trace_log, log_id, offset, data)
    return JsonResponse({"ok": True, "offset": held})
