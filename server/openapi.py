"""``/api/v1/openapi.json``: the OpenAPI 3.1 document, made from the route table in ``app.py``.

Each route there says its parameters and body with the small helpers below, so the document
describes every route and cannot drift from it (a test checks both lists are the same).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from .errors import JsonResponse

__all__ = ["Param", "document", "openapi", "path", "query"]

_ERROR = {
    "type": "object",
    "required": ["ok", "error", "status"],
    "properties": {"ok": {"const": False}, "error": {"type": "string"}, "status": {"type": "integer"}},
}


@dataclass(frozen=True)
class Param:
    name: str
    where: str  # "path", "query" or "header"
    schema: dict[str, Any]
    required: bool = False
    description: str = ""

    def spec(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "in": self.where, "required": self.required or self.where == "path",
                               "schema": self.schema}
        if self.schema.get("type") == "array":
            out["style"], out["explode"] = "form", True
        if self.description:
            out["description"] = self.description
        return out


def path(name: str, description: str = "", **schema: Any) -> Param:
    return Param(name, "path", {"type": "string", **schema}, True, description)


def query(name: str, type: str = "string", array: bool = False, required: bool = False, description: str = "",
          **schema: Any) -> Param:
    s: dict[str, Any] = {"type": type, **schema}
    return Param(name, "query", {"type": "array", "items": s} if array else s, required, description)


def header(name: str, type: str = "string", required: bool = False, description: str = "") -> Param:
    return Param(name, "header", {"type": type}, required, description)


@dataclass(frozen=True)
class Doc:
    """What the document says of one route beyond its method and path."""

    summary: str
    params: tuple[Param, ...] = ()
    body: dict[str, Any] | None = None  # {"content type": schema}
    responses: dict[str, Any] = field(default_factory=dict)  # status -> {"content type": schema} or description
    public: bool = False


def _operation(method: str, doc: Doc) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": doc.summary, "operationId": None, "parameters": [p.spec() for p in doc.params]}
    if doc.body is not None:
        op["requestBody"] = {"required": True, "content": {ct: {"schema": s} for ct, s in doc.body.items()}}
    responses: dict[str, Any] = {}
    for status, content in (doc.responses or {"200": {"application/json": {}}}).items():
        if isinstance(content, str):
            responses[status] = {"description": content}
        else:
            responses[status] = {"description": "success" if status.startswith("2") else "error",
                                 "content": {ct: {"schema": s} for ct, s in content.items()}}
    responses["default"] = {"description": "an error", "content": {"application/json": {"schema": _ERROR}}}
    op["responses"] = responses
    if doc.public:
        op["security"] = []
    return op


def document(routes: list[Any]) -> dict[str, Any]:
    """The OpenAPI document of ``routes`` (``app.Endpoint`` entries)."""
    paths: dict[str, dict[str, Any]] = {}
    for r in routes:
        for method in r.methods:
            op = _operation(method, r.doc)
            op["operationId"] = f"{method.lower()}_{r.handler.__name__}"
            paths.setdefault(r.path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "tracklet server", "version": "1", "description": "See docs/http-api.md."},
        "paths": paths,
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
    }


async def openapi(request: Request) -> JsonResponse:
    return JsonResponse(request.app.state.openapi)
