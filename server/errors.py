"""One place that turns what a handler raises into a status and the body ``{"ok": false, "error", "status"}``.

Handlers raise: ``ApiError`` (or its subclasses) for what the HTTP layer decides, tracklet's own
errors for what the store decides. Nothing else reaches a client: an unexpected exception is
logged here with its traceback and answered with a plain 500 that names no internals.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.responses import Response

from tracklet._errors import StoreError, SyncError, UsageError

__all__ = ["ApiError", "Forbidden", "JsonResponse", "NotFound", "Unauthorized", "error_response", "response_for"]

log = logging.getLogger("tracklet.server")


class JsonResponse(Response):
    """JSON as Python's ``json`` writes it: NaN and infinities as the tokens ``NaN``/``Infinity`` (the doc's contract)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class ApiError(Exception):
    """An HTTP error with a message a person can act on; ``extra`` joins the body (e.g. ``offset``)."""

    status = 400

    def __init__(self, message: str, status: int | None = None, **extra: Any) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
        self.extra = extra


class NotFound(ApiError):
    status = 404


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


def error_response(status: int, message: str, headers: dict[str, str] | None = None, **extra: Any) -> JsonResponse:
    """The one error body: ``{"ok": false, "error": message, "status": status, ...extra}``."""
    return JsonResponse({"ok": False, "error": message, "status": status, **extra}, status_code=status, headers=headers)


def response_for(exc: BaseException) -> JsonResponse:
    """The response for anything a handler raised."""
    if isinstance(exc, ApiError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return error_response(exc.status, str(exc), headers, **exc.extra)
    if isinstance(exc, HTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else "request refused"
        if exc.status_code == 404:
            detail = "no such route: the API is under /api/v1 (see /api/v1/openapi.json)"
        elif exc.status_code == 405:
            detail = "method not allowed on this route (see /api/v1/openapi.json)"
        return error_response(exc.status_code, detail, dict(exc.headers or {}) or None)
    if isinstance(exc, SyncError):
        extra = {"offset": exc.offset} if hasattr(exc, "offset") else {}
        return error_response(409, str(exc), **extra)
    if isinstance(exc, UsageError):
        return error_response(400, str(exc))
    if isinstance(exc, StoreError):
        log.warning("store error: %s", exc)
        return error_response(503, f"the store cannot answer now: {exc}")
    log.error("unexpected error", exc_info=exc)
    return error_response(500, "internal error: the server could not answer this request; its log says why")
