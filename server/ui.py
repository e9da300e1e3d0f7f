"""The web dashboard: its page, its static files, the session cookie it signs in with, and the headers on every response.

The dashboard is plain ES modules under ``static/`` (no build step). They are served under
``/static/<version>/...`` where ``<version>`` is a digest of every file, so a browser may keep them
for good and a new release is fetched at once. Every response carries a strict Content-Security-Policy:
scripts and styles only from this origin, no inline script, no eval, no frames of other pages. Logged images,
audio and video are shown from ``blob:`` URLs the page makes of their bytes (typed by their kind, never sniffed);
logged HTML only in an ``<iframe sandbox srcdoc>`` (no scripts, an opaque origin, this page's CSP).
"""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ._request import call, json_body
from .auth import COOKIE, CSRF_HEADER
from .errors import ApiError, JsonResponse, NotFound, Unauthorized

__all__ = ["SECURITY_HEADERS", "SecurityHeaders", "end_session", "page", "session", "start_session", "static", "static_version"]

STATIC = Path(__file__).parent / "static"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
       "connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".html": "text/html; charset=utf-8",
          ".svg": "image/svg+xml", ".png": "image/png", ".txt": "text/plain; charset=utf-8"}
_COOKIE_AGE = 30 * 24 * 3600


class SecurityHeaders:
    """ASGI middleware: the CSP and its companions on every HTTP response (API, page, files, errors)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [h for h in SECURITY_HEADERS if h[0] not in names]
            await send(message)

        await self.app(scope, receive, with_headers)


def _files() -> list[Path]:
    return sorted(p for p in STATIC.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def static_version() -> str:
    """A digest of every static file: the ``<version>`` in their URLs."""
    h = hashlib.sha256()
    for p in _files():
        h.update(p.relative_to(STATIC).as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]


async def page(request: Request) -> Response:
    """The dashboard's one HTML page; the view is chosen by the URL's fragment (``#/p/<project>?...``)."""
    version = request.app.state.static_version
    html = (STATIC / "index.html").read_text(encoding="utf-8").replace("{{v}}", version)
    return Response(html, media_type="text/html; charset=utf-8", headers={"Cache-Control": "no-cache"})


async def static(request: Request) -> Response:
    """A file under ``static/``: cached for good when its version is current, else revalidated."""
    rel = request.path_params["path"]
    target = (STATIC / rel).resolve()
    if STATIC.resolve() not in target.parents or not target.is_file() or rel.endswith("index.html"):
        raise NotFound(f"no dashboard file {rel[:80]!r}")
    current = request.path_params["version"] == request.app.state.static_version
    media = _TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    cache = "public, max-age=31536000, immutable" if current else "no-cache"
    return Response(target.read_bytes(), media_type=media, headers={"Cache-Control": cache})


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return origin.split("://", 1)[-1] == request.headers.get("host", "")


async def session(request: Request) -> JsonResponse:
    """Whether this server needs a key, and whose key this request carries (Bearer or the dashboard's cookie)."""
    auth = request.app.state.auth
    if auth is None:
        return JsonResponse({"ok": True, "auth": False, "user": None})
    try:
        principal = await call(auth.principal, request)
    except ApiError:
        return JsonResponse({"ok": True, "auth": True, "user": None})
    return JsonResponse({"ok": True, "auth": True, "user": principal.user})


async def start_session(request: Request) -> JsonResponse:
    """Check an API key once and keep it in an HttpOnly, SameSite=Strict cookie (never readable by page scripts)."""
    if not _same_origin(request):
        raise ApiError("a session is started only from this server's own page (the Origin header differs)", status=403)
    body = await json_body(request)
    key = body.get("key")
    if not isinstance(key, str) or not key.strip():
        raise ApiError('the body must be {"key": "<API key>"}')
    auth = request.app.state.auth
    if auth is None:
        return JsonResponse({"ok": True, "auth": False, "user": None})
    found = await call(auth.keys.verify, key.strip())
    if found is None:
        raise Unauthorized("the API key is not valid (unknown or revoked): ask the server's admin for one "
                           "(`tracklet server key create`)")
    response = JsonResponse({"ok": True, "auth": True, "user": found.user})
    response.set_cookie(COOKIE, key.strip(), max_age=_COOKIE_AGE, path="/", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


async def end_session(request: Request) -> JsonResponse:
    """Forget the dashboard's key (sign out)."""
    if request.headers.get(CSRF_HEADER) != "1":
        raise ApiError("signing out needs the header 'X-Tracklet-CSRF: 1'", status=403)
    response = JsonResponse({"ok": True})
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    return response
