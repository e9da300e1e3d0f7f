"""``/health`` (the process answers) and ``/ready`` (the store answers too)."""

from __future__ import annotations

from starlette.requests import Request

from ._request import call, store_of
from .errors import JsonResponse, error_response, log

__all__ = ["health", "ready"]


async def health(request: Request) -> JsonResponse:
    return JsonResponse({"ok": True})


async def ready(request: Request) -> JsonResponse:
    try:
        await call(store_of(request).projects, None)
    except Exception as e:  # noqa: BLE001 - any failure means not ready; the reason goes to the log
        log.warning("not ready: %s", e)
        return error_response(503, "the store does not answer: the server is not ready (its log says why)")
    return JsonResponse({"ok": True})
