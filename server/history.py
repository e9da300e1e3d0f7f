"""What a run logged over time: ``keys``, ``history`` (NDJSON, streamed), ``curves``, ``system``, ``logs``, ``media``."""

from __future__ import annotations

import json
from itertools import islice
from typing import Any, Iterator

from starlette.requests import Request
from starlette.responses import StreamingResponse

from ._request import call, query_int, query_list, query_str, run_id_of, store_of
from .errors import ApiError, JsonResponse, log
from .runs import run_for

__all__ = ["curves", "history", "keys", "logs", "media", "system"]

_ROWS_PER_CHUNK = 1000
_MAX_POINTS = 100_000


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
    await run_for(request, run_id)
    return JsonResponse(await call(store_of(request).curves, run_id, wanted, lo, hi, points, x))


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
