"""Traced calls: ``/calls``, ``/calls/{id}``, feedback, and trace logs arriving in batches (``/traces/{log_id}/log``)."""

from __future__ import annotations

from struct import error as struct_error
from typing import Any

from starlette.requests import Request

from tracklet.store.sql import check_batch
from tracklet.wal._wal import RecordType, WalReader

from ._request import call, json_body, query_bool, query_float, query_int, query_str, read_body, store_of
from .auth import require, require_any
from .errors import ApiError, JsonResponse, NotFound
from .log import _header_int

__all__ = ["add_feedback", "append_trace_log", "call_one", "calls", "feedback", "otlp_traces", "put_calls", "trace_log_position"]

_TEXT_FILTERS = ("op", "trace_id", "parent_id", "run_id", "status", "kind", "feedback", "prompt")
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


def _checked_calls(calls: Any) -> list[dict[str, Any]]:
    """Whole calls as put_calls takes them, checked enough that a bad one is a 400, not a 500."""
    if not isinstance(calls, list):
        raise ApiError('"calls" is a list of {"start": {...}, "end": {...}}')
    for x in calls:
        start, end = (x.get("start"), x.get("end")) if isinstance(x, dict) else (None, None)
        if not isinstance(start, dict) or not isinstance(end, dict):
            raise ApiError('each call is {"start": CALL_START payload, "end": CALL_END payload} (docs/wal-format.md)')
        for key, kind in (("id", str), ("trace", str), ("op", str), ("t", (int, float))):
            if not isinstance(start.get(key), kind) or isinstance(start.get(key), bool):
                raise ApiError(f"a call's start needs {key!r} ({'a string' if kind is str else 'Unix seconds'})")
        if not 0 < len(start["id"]) <= 64 or not 0 < len(start["trace"]) <= 64 or len(start["op"]) > 512:
            raise ApiError("a call id or trace id is 1-64 characters, an op name at most 512")
        if start.get("parent") is not None and (not isinstance(start["parent"], str) or len(start["parent"]) > 64):
            raise ApiError("a call's parent is a call id or null")
        if end.get("id") != start["id"] or not isinstance(end.get("t"), (int, float)) or isinstance(end.get("t"), bool):
            raise ApiError("a call's end names the same id and has a time 't'")
        if end.get("status", "ok") not in ("ok", "error", "cancelled"):
            raise ApiError("a call's end status is ok, error or cancelled")
        usage = end.get("usage")
        if usage is not None and not (isinstance(usage, dict) and all(isinstance(u, dict) for u in usage.values())):
            raise ApiError("a call's usage is {model: {prompt_tokens, completion_tokens, total_tokens, requests}}")
    return calls


async def put_calls(request: Request) -> JsonResponse:
    body = await json_body(request)
    project, entity = body.get("project"), body.get("entity")
    if not isinstance(project, str) or not project or len(project) > 256 or (entity is not None and not isinstance(entity, str)):
        raise ApiError('the body is {"project": name, "entity"?: name, "calls": [...]}')
    require(request, project, entity or None, "write")
    stored = await call(store_of(request).put_calls, project, entity or None, _checked_calls(body.get("calls")))
    return JsonResponse({"ok": True, "stored": stored})


async def otlp_traces(request: Request) -> Any:
    """OTLP/HTTP: spans (protobuf or JSON) become calls of the project in ``?project=``, else the resource's
    ``tracklet.project`` or ``service.name`` attribute."""
    from starlette.responses import Response

    from tracklet.tracing._otel import calls_from_otlp_json, calls_from_otlp_protobuf, calls_from_spans

    data = await read_body(request)
    kind = (request.headers.get("content-type") or "application/x-protobuf").split(";")[0].strip()
    try:
        batches = calls_from_otlp_json(data) if kind == "application/json" else calls_from_otlp_protobuf(data)
    except (ValueError, KeyError, TypeError, IndexError, struct_error) as e:
        raise ApiError(f"the body is not an OTLP ExportTraceServiceRequest ({kind}): {e}") from None
    store = store_of(request)
    for resource, spans in batches:
        project = query_str(request, "project") or resource.get("tracklet.project") or resource.get("service.name")
        if not isinstance(project, str) or not project:
            raise ApiError("name the project: ?project=NAME, or the resource attribute tracklet.project or service.name")
        entity = query_str(request, "entity") or resource.get("tracklet.entity")
        require(request, project, entity or None, "write")
        try:
            calls = calls_from_spans(resource, spans)
        except ValueError as e:
            raise ApiError(str(e)) from None
        await call(store.put_calls, project, entity or None, calls)
    if kind == "application/json":
        return JsonResponse({})
    return Response(b"", media_type="application/x-protobuf")  # an empty ExportTraceServiceResponse
