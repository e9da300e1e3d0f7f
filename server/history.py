"""What a run logged over time: ``keys``, ``history`` (NDJSON, streamed), ``curves``, ``system``, ``logs``, ``media``."""

from __future__ import annotations

import json
from itertools import islice
from typing import Any, Iterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from tracklet.remote._wire import CURVES_TYPE, encode_curves

from ._request import call, json_body, query_float, query_int, query_list, query_str, run_id_of, store_of, valid_run_id
from .auth import visible
from .errors import ApiError, JsonResponse, log
from .runs import run_for

__all__ = ["curves", "curves_of_runs", "history", "keys", "logs", "media", "system"]

_ROWS_PER_CHUNK = 1000
_MAX_POINTS = 100_000
_MAX_RUNS = 1000  # runs in one chart or media request


async def keys(request: Request) -> JsonResponse:
    run_id = run_id_of(request)
    await run_for(request, run_id)
    return JsonResponse(await call(store_of(request).keys, run_id))


def _chunks(first: list[dict[str, Any]], rows: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    """NDJSON in chunks of rows; an error mid-stream ends the stream (the status is already sent) and is logged."""
    chunk = first
    try:
        while chunk:
            yield "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in chunk).encode()
            chunk = list(islice(rows, _ROWS_PER_CHUNK))
    except Exception:
        log.exception("history stream failed midway")
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()


async def history(request: Request) -> StreamingResponse:
    run_id = run_id_of(request)
    wanted = query_list(request, "keys")
    lo, hi = query_int(request, "min_step"), query_int(request, "max_step")
    await run_for(request, run_id)

    def start() -> tuple[list[dict[str, Any]], Iterator[dict[str, Any]]]:
        rows = iter(store_of(request).history(run_id, wanted, lo, hi))
        return list(islice(rows, _ROWS_PER_CHUNK)), rows  # errors before the first byte still get their status

    first, rows = await call(start)
    return StreamingResponse(_chunks(first, rows), media_type="application/x-ndjson")


async def curves(request: Request) -> JsonResponse:
    run_id = run_id_of(request)
    wanted = query_list(request, "keys")
    if not wanted:
        raise ApiError("curves needs at least one key: ?keys=loss&keys=acc")
    lo, hi = query_int(request, "min_step"), query_int(request, "max_step")
    points = query_int(request, "points", minimum=1, maximum=_MAX_POINTS)
    x = query_str(request, "x", "_step")
    x_lo, x_hi = query_float(request, "min_x"), query_float(request, "max_x")
    await run_for(request, run_id)
    found = await call(store_of(request).curves, run_id, wanted, lo, hi, points, x, x_lo, x_hi)
    return _curves_response(request, {run_id: found}, lambda: _lean(found))


def _lean(curves: dict[str, dict[str, list[Any]]]) -> dict[str, dict[str, list[Any]]]:
    """A run's curves for the wire: ``min``/``max`` left out where they are ``y`` itself (full resolution, or
    fewer points than buckets). A 1,000,000-point curve is then 24 MiB of JSON instead of 61 (json.dumps
    1.1 s -> ~0.4 s); ``RemoteStore`` puts them back."""
    return {k: ({"x": c["x"], "y": c["y"]} if c.get("min") is c["y"] and c.get("max") is c["y"] else c)
            for k, c in curves.items()}


def _int_field(body: dict[str, Any], key: str, minimum: int | None = None, maximum: int | None = None) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if type(value) is not int:
        raise ApiError(f"{key} must be an integer; got {json.dumps(value)[:40]}")
    lo = -(1 << 63) if minimum is None else minimum
    hi = (1 << 63) - 1 if maximum is None else maximum
    if not lo <= value <= hi:
        raise ApiError(f"{key} must be between {lo} and {hi}; got {value}")
    return value


def _float_field(body: dict[str, Any], key: str) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if type(value) not in (int, float) or value != value or value in (float("inf"), float("-inf")):
        raise ApiError(f"{key} must be a finite number; got {json.dumps(value)[:40]}")
    return float(value)


def _key_name(value: str) -> str:
    if not value or len(value) > 256:
        raise ApiError(f"a metric name is 1-256 characters; got {len(value)}")
    return value


def _names(body: dict[str, Any], key: str, check: Any) -> list[str]:
    value = body.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ApiError(f"{key} must be a non-empty list of strings")
    return [check(v) for v in value]


async def curves_of_runs(request: Request) -> JsonResponse:
    """A chart of many runs in one request: ``GET ?runs=a&runs=b&keys=loss&points=1000`` or the same as a JSON body."""
    if request.method == "POST":
        body = await json_body(request)
        run_ids = _names(body, "runs", valid_run_id)
        wanted = _names(body, "keys", _key_name)
        lo, hi = _int_field(body, "min_step"), _int_field(body, "max_step")
        points = _int_field(body, "points", 1, _MAX_POINTS)
        x = body.get("x", "_step")
        if not isinstance(x, str) or not x:
            raise ApiError("x must be a metric name, _step, _runtime or _timestamp")
        x_lo, x_hi = _float_field(body, "min_x"), _float_field(body, "max_x")
    else:
        run_ids = [valid_run_id(r) for r in query_list(request, "runs") or []]
        wanted = query_list(request, "keys") or []
        if not run_ids or not wanted:
            raise ApiError("curves needs runs and keys: ?runs=a&runs=b&keys=loss (or POST them as JSON)")
        lo, hi = query_int(request, "min_step"), query_int(request, "max_step")
        points = query_int(request, "points", minimum=1, maximum=_MAX_POINTS)
        x = query_str(request, "x", "_step")
        x_lo, x_hi = query_float(request, "min_x"), query_float(request, "max_x")
    if len(run_ids) > _MAX_RUNS:
        raise ApiError(f"at most {_MAX_RUNS} runs in one chart request; got {len(run_ids)}", status=413)
    if not visible(request, "*"):  # a key scoped to projects: each run's project is checked (a key on '*' needs no lookup)
        for run_id in dict.fromkeys(run_ids):
            await run_for(request, run_id)
    store = store_of(request)
    found = await call(store.curves_of_runs, list(dict.fromkeys(run_ids)), wanted, lo, hi, points, x, x_lo, x_hi)
    return _curves_response(request, found, lambda: {run_id: _lean(c) for run_id, c in found.items()})


def _curves_response(request: Request, found: dict[str, Any], as_json: Any) -> Response:
    """Arrays of float64 when the client asks for them (``Accept: application/x-tracklet-curves``), else JSON."""
    if CURVES_TYPE in request.headers.get("accept", ""):
        return Response(encode_curves(found), media_type=CURVES_TYPE)
    return JsonResponse(as_json())


async def system(request: Request) -> JsonResponse:
    run_id = run_id_of(request)
    wanted = query_list(request, "keys")
    await run_for(request, run_id)
    return JsonResponse(await call(store_of(request).system_metrics, run_id, wanted))


async def logs(request: Request) -> JsonResponse:
    run_id = run_id_of(request)
    after = query_int(request, "after", 0, minimum=0)
    await run_for(request, run_id)
    return JsonResponse(await call(store_of(request).logs, run_id, after))


async def media(request: Request) -> JsonResponse:
    """The run's media entries (tables, images, ...): each names its blob, read with ``GET /blobs/{digest}``."""
    run_id = run_id_of(request)
    key = query_str(request, "key", name=False)
    step = query_int(request, "step")
    await run_for(request, run_id)
    return JsonResponse(await call(store_of(request).media, run_id, key, step))


async def media_steps(request: Request) -> JsonResponse:
    """The media keys of several runs and their steps in one request (the dashboard's side-by-side view)."""
    run_ids = list(dict.fromkeys(_names(await json_body(request), "runs", valid_run_id)))
    if len(run_ids) > _MAX_RUNS:
        raise ApiError(f"at most {_MAX_RUNS} runs in one media request; got {len(run_ids)}", status=413)
    if not visible(request, "*"):  # a key scoped to projects: each run's project is checked
        for run_id in run_ids:
            await run_for(request, run_id)
    return JsonResponse(await call(store_of(request).media_steps, run_ids))


async def table(request: Request) -> JsonResponse:
    """A page of a logged table's rows, sorted, filtered and searched on the server (``store.table_rows``)."""
    from tracklet.media._table_rows import MAX_LIMIT

    run_id = run_id_of(request)
    key = query_str(request, "key", name=False)
    if key is None:
        raise ApiError("query parameter key is required: the table's key, as GET /runs/{id}/media lists it")
    step, idx = query_int(request, "step"), query_int(request, "idx", 0, minimum=0)
    offset, limit = query_int(request, "offset", 0, minimum=0), query_int(request, "limit", 100, minimum=1, maximum=MAX_LIMIT)
    sort = query_str(request, "sort", name=False)
    filter_, search = query_str(request, "filter", name=False), query_str(request, "q", name=False)
    await run_for(request, run_id)
    return JsonResponse(await call(store_of(request).table_rows, run_id, key, step, idx, offset, limit, sort, filter_, search))
