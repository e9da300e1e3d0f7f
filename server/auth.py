"""API keys on requests: ``Authorization: Bearer <key>``, and per-project read or write access.

With ``auth=None`` the server is open (loopback with no keys configured, or ``--insecure``): every
request acts with write access to every project. Otherwise every route but the public ones needs
a live key; handlers then ask ``require(request, project, access)``. A key is never read from the
URL, and never written to a log or an error.

The dashboard sends the key as a cookie instead (``POST /api/v1/session`` sets it: HttpOnly,
SameSite=Strict, so page scripts never hold it). A cookie rides along on any request the browser
makes, so a write it authenticates must also carry ``X-Tracklet-CSRF: 1``: a header another site's
page cannot add without a CORS preflight, which this server never grants.
"""

from __future__ import annotations

from starlette.requests import Request

from tracklet.store.sql import KeyStore, Principal

from .errors import ApiError, Forbidden, Unauthorized

__all__ = ["COOKIE", "CSRF_HEADER", "OPEN", "KeyAuth", "project_name", "require", "require_any", "visible"]

OPEN = Principal(user="", key_id="", grants={"*": "write"})
_KEY_PREFIX = "tkl_"
COOKIE = "tracklet_key"
CSRF_HEADER = "x-tracklet-csrf"
_SAFE = ("GET", "HEAD", "OPTIONS")


class KeyAuth:
    """Checks each request's bearer key against the store's keys."""

    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys

    def principal(self, request: Request) -> Principal:
        if any(v.startswith(_KEY_PREFIX) for v in request.query_params.values()):
            raise ApiError("API keys are never accepted in the URL (it ends up in logs): send 'Authorization: Bearer <key>'")
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        if not header and request.cookies.get(COOKIE):
            return self._from_cookie(request)
        if not header:
            raise Unauthorized("this server needs an API key: send 'Authorization: Bearer <key>' (`tracklet login` stores one)")
        if scheme.lower() != "bearer" or not key.strip():
            raise Unauthorized("only 'Authorization: Bearer <key>' is accepted")
        found = self.keys.verify(key.strip())
        if found is None:
            raise Unauthorized("the API key is not valid (unknown or revoked): ask the server's admin for one "
                               "(`tracklet server key create`)")
        return found

    def _from_cookie(self, request: Request) -> Principal:
        if request.method not in _SAFE and request.headers.get(CSRF_HEADER) != "1":
            raise Forbidden("a change made with the dashboard's session cookie must carry the header 'X-Tracklet-CSRF: 1'")
        found = self.keys.verify(request.cookies[COOKIE])
        if found is None:
            raise Unauthorized("the dashboard's API key is no longer valid (revoked?): sign in again with a live key")
        return found


def project_name(project: str, entity: str | None = None) -> str:
    """The name grants use: ``project``, or ``entity/project`` when the project has an entity."""
    return f"{entity}/{project}" if entity else project


def _principal(request: Request) -> Principal:
    return getattr(request.state, "principal", OPEN)


def visible(request: Request, project: str, entity: str | None = None, access: str = "read") -> bool:
    """Whether the request's key may ``access`` the project."""
    return _principal(request).can(project_name(project, entity), access)


def require(request: Request, project: str | None, entity: str | None = None, access: str = "read") -> None:
    """Raise 403 unless the request's key may ``access`` the project (None: every project, ``*``)."""
    name = None if project is None else project_name(project, entity)
    if not _principal(request).can(name, access):
        what = "every project ('*')" if name is None else f"project {name!r}"
        raise Forbidden(f"this API key has no {access} access to {what}: ask the server's admin for a key that has")


def require_any(request: Request, access: str = "read") -> None:
    """Raise 403 unless the request's key may ``access`` at least one project."""
    if not _principal(request).can_any(access):
        raise Forbidden(f"this API key has no {access} access to any project")


def actor(request: Request, given: str | None) -> str:
    """Who the audit trail names: the key's user when keys are on, else what the client said."""
    user = _principal(request).user
    return user or (given or "")
