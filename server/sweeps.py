"""Sweeps: ``/sweeps``, ``/sweeps/{sweep_id}``, its ``state``, its ``trials`` (claims) and their hyperband ``rungs``.

Agents on several machines share a sweep through these routes: each claim is one store transaction
on the server's database, as it is in a local store. Reading a sweep needs read access to its
project; creating one, changing its state and claiming trials need write access.
"""

from __future__ import annotations

import math
from typing import Any

from starlette.requests import Request

from tracklet._errors import UsageError

from ._request import call, json_body, path_number, query_str, store_of, valid_run_id
from .auth import require, visible
from .errors import ApiError, JsonResponse, NotFound

__all__ = ["claim_trial", "create_sweep", "set_sweep_state", "sweep", "sweeps", "update_trial"]

_MAX_TEXT = 256


def _sweep_id(value: Any, what: str = "sweep id") -> str:
    if not isinstance(value, str):
        raise ApiError(f"{what} must be a string")
    try:
        return valid_run_id(value)  # the same alphabet as run ids: one path segment
    except ApiError:
        raise ApiError(f"{what} {value[:80]!r} is not a valid id (1-64 letters, digits, '-', '_' or '.')") from None


def _text(body: dict[str, Any], key: str, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value or len(value) > _MAX_TEXT or any(ord(c) < 32 for c in value):
        raise ApiError(f'"{key}" must be a name of 1-{_MAX_TEXT} printable characters')
    return value


async def _found(request: Request, access: str = "read") -> dict[str, Any]:
    sweep_id = _sweep_id(request.path_params["sweep_id"])
    found = await call(store_of(request).sweep, sweep_id)
    if found is None:
        raise NotFound(f"no sweep {sweep_id!r} in this store: GET /api/v1/sweeps lists them")
    require(request, found["project"], found.get("entity") or None, access)
    return found


async def sweeps(request: Request) -> JsonResponse:
    project, entity, run_id = query_str(request, "project"), query_str(request, "entity"), query_str(request, "run_id", name=False)
    if project is not None:
        require(request, project, entity)
    found = await call(store_of(request).sweeps, project, entity, run_id)
    return JsonResponse([s for s in found if visible(request, s["project"], s.get("entity") or None)])


async def sweep(request: Request) -> JsonResponse:
    return JsonResponse(await _found(request))


async def create_sweep(request: Request) -> JsonResponse:
    from tracklet.sweeps._config import check_config

    body = await json_body(request)
    sweep_id = _sweep_id(body.get("id"), '"id"')
    project, entity, name = _text(body, "project", True), _text(body, "entity"), _text(body, "name")
    require(request, project, entity, "write")
    try:
        config = check_config(body.get("config")).raw
    except UsageError as e:
        raise ApiError(str(e)) from None
    return JsonResponse(await call(store_of(request).create_sweep, sweep_id, project, entity, config, name))


async def set_sweep_state(request: Request) -> JsonResponse:
    body = await json_body(request)
    state, only_from = body.get("state"), body.get("only_from")
    if not isinstance(state, str):
        raise ApiError('the body needs "state": running, paused, finished, stopped or cancelled')
    if only_from is not None and (not isinstance(only_from, list) or not all(isinstance(s, str) for s in only_from)):
        raise ApiError('"only_from" must be a list of states')
    found = await _found(request, "write")
    return JsonResponse({"ok": True, "state": await call(store_of(request).set_sweep_state, found["id"], state, only_from)})


def _int_or_none(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is not None and (type(value) is not int or not 0 <= value < 1 << 31):
        raise ApiError(f'"{key}" must be a whole number from 0 to 2**31-1, or null')
    return value


async def claim_trial(request: Request) -> JsonResponse:
    body = await json_body(request)
    params, point = body.get("params"), body.get("point")
    if not isinstance(params, dict):
        raise ApiError('the body needs "params": the trial\'s config (an object)')
    if point is not None and not isinstance(point, str):
        raise ApiError('"point" must be a grid point\'s key (a string) or null')
    trial = {
        "run_id": valid_run_id(body.get("run_id") if isinstance(body.get("run_id"), str) else ""),
        "params": params, "point": point, "replaces": _int_or_none(body, "replaces"),
        "agent": _text(body, "agent"), "host": _text(body, "host"), "pid": _int_or_none(body, "pid"),
    }
    found = await _found(request, "write")
    return JsonResponse(await call(store_of(request).claim_trial, found["id"], trial))


async def update_trial(request: Request) -> JsonResponse:
    body = await json_body(request)
    rungs = body.get("rungs")
    if not isinstance(rungs, dict) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in rungs.values()
    ):
        raise ApiError('the body needs "rungs": an object of rung -> a finite number')
    number = path_number(request, "number", "the trial number must be a whole number (1, 2, ...)", digits=9)
    found = await _found(request, "write")
    await call(store_of(request).update_trial, found["id"], number, rungs)
    return JsonResponse({"ok": True})
