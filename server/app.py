"""The app: every route in one list (``ROUTES``), and ``create_app(store, auth=...)``.

Framework: Starlette, served by uvicorn. Measured with ``benchmarks/server_framework.py`` (the same
two routes in each, uvicorn, one process, 8 keep-alive clients, this 2-core machine, Python 3.11):

    | | Starlette 1.10 | FastAPI 0.165 |
    |---|---|---|
    | small JSON route | 6,265 req/s | 4,705 req/s |
    | ingest route (64 KiB body) | 4,804 req/s | 4,034 req/s |
    | import (with uvicorn) | 59 ms | 190 ms |
    | memory once serving | 30 MiB | 45 MiB |

Starlette is a third faster on small requests, imports three times faster, takes a third less
memory and needs no pydantic. What FastAPI would add, request models and a generated OpenAPI
document, matters little here: the bodies are raw log bytes or small JSON, and the document is
made from the route table below (``openapi.py``), which describes every route by construction.

Each route's handler raises; the wrapper made by ``_endpoint`` authenticates the request (unless
the route is public or the app has no auth) and turns whatever was raised into the one error body
(``errors.response_for``).
"""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, AsyncIterator, Awaitable, Callable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tracklet.store._interface import CALL_ORDERS

from . import artifacts, blobs, calls, health, history, log, registry, runs, sweeps, ui
from ._request import DEFAULT_MAX_BODY, call
from .auth import KeyAuth
from .errors import response_for
from .openapi import Doc, document, header, openapi, path, query

__all__ = ["ROUTES", "Endpoint", "create_app"]

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Endpoint:
    methods: tuple[str, ...]
    path: str
    handler: Handler
    doc: Doc


_API = "/api/v1"
_JSON = {"application/json": {}}
_OBJ = {"application/json": {"type": "object"}}
_LIST = {"application/json": {"type": "array"}}
_OK = {"application/json": {"type": "object", "properties": {"ok": {"const": True}}}}
_RUN = path("run_id", "a run id: 1-64 letters, digits, '-', '_' or '.'")
_ENTITY = query("entity")
_PROJECT_NAME = (path("project"), path("name", "the artifact's name"), _ENTITY)
_KEYS = query("keys", array=True, description="metric names (repeat the parameter)")
_STEPS = (query("min_step", "integer"), query("max_step", "integer"))
_X_WINDOW = (query("min_x", "number", description="keep the points whose x (on the x axis) is at least this"),
             query("max_x", "number", description="... and at most this (a zoomed chart)"))
_KIND = query("kind", enum=["output", "input"])
_DIGEST = path("digest", "a BLAKE3 digest: 64 hex characters")
_VERSION = path("version_id", "an artifact version id (an integer)")
_MODEL = path("model", "a registered model's name")
_SWEEP = path("sweep_id", "a sweep id: 1-64 letters, digits, '-', '_' or '.'")
_CALL = path("call_id", "a call id")
_TRACE_LOG = path("log_id", "a trace log id: hex digits")
_CALL_FILTERS = (
    query("project", required=True), _ENTITY, query("op"), query("trace_id"), query("parent_id"), query("run_id"),
    query("status", enum=["running", "ok", "error", "cancelled", "crashed"]), query("kind"), query("feedback"), query("prompt"),
    query("since", "number"), query("until", "number"), query("min_latency_ms", "number"), query("max_latency_ms", "number"),
    query("min_tokens", "integer"), query("min_cost", "number"), query("roots", "boolean"),
    query("order", enum=list(CALL_ORDERS)),
    query("limit", "integer", minimum=0), query("offset", "integer", minimum=0),
)


def _e(methods: str, route: str, handler: Handler, summary: str, *params: Any, body: dict | None = None,
       responses: dict | None = None, public: bool = False) -> Endpoint:
    return Endpoint(tuple(methods.split()), _API + route, handler,
                    Doc(summary, tuple(params), body, responses or {"200": _JSON}, public))


ROUTES: list[Endpoint] = [
    _e("GET", "/health", health.health, "the process answers", responses={"200": _OK}, public=True),
    _e("GET", "/ready", health.ready, "the store answers (else 503)", responses={"200": _OK}, public=True),
    _e("GET", "/openapi.json", openapi, "this document", responses={"200": _OBJ}, public=True),
    _e("GET", "/session", ui.session, "whether keys are needed, and whose key this request carries (Bearer or cookie)",
       responses={"200": _OBJ}, public=True),
    _e("POST", "/session", ui.start_session, "check an API key and keep it in an HttpOnly, SameSite=Strict cookie",
       responses={"200": _OBJ}, public=True,
       body={"application/json": {"type": "object", "required": ["key"], "properties": {"key": {"type": "string"}}}}),
    _e("DELETE", "/session", ui.end_session, "forget the cookie's key (needs X-Tracklet-CSRF: 1)", responses={"200": _OK},
       public=True),
    _e("GET", "/projects", runs.projects, "store.projects", _ENTITY, responses={"200": _LIST}),
    _e("GET", "/runs", runs.runs, "store.runs (each run with only the keys in fields, when given)", query("project"), _ENTITY,
       query("fields", array=True, description="run keys to answer with (repeat the parameter); default: all"),
       responses={"200": _LIST}),
    _e("GET", "/runs/{run_id}", runs.run, "store.run (404 when absent)", _RUN, responses={"200": _OBJ}),
    _e("DELETE", "/runs/{run_id}", runs.delete_run,
       "store.delete_run: an ended run's rows and log folder, and over a folder store the blobs of its media that nothing else lists (400 while it runs; its artifacts stay)", _RUN,
       responses={"200": _OK}),
    _e("POST", "/runs/{run_id}/edits", runs.edit_run, "store.edit_run", _RUN, responses={"200": _OK},
       body={"application/json": {
           "type": "object", "required": ["records"],
           "properties": {"records": {"type": "array", "items": {
               "type": "array", "prefixItems": [{"type": "integer"}, {"type": "object"}], "minItems": 2, "maxItems": 2}}},
       }}),
    _e("GET", "/problems", runs.problems, "store.problems", query("run_id"), responses={"200": _LIST}),
    _e("GET", "/runs/{run_id}/keys", history.keys, "store.keys", _RUN, responses={"200": _LIST}),
    _e("GET", "/runs/{run_id}/history", history.history, "store.history, as NDJSON (one row a line)", _RUN, _KEYS, *_STEPS,
       responses={"200": {"application/x-ndjson": {"type": "string"}}}),
    _e("GET", "/runs/{run_id}/curves", history.curves, "store.curves", _RUN,
       query("keys", array=True, required=True, description="metric names (repeat the parameter)"), *_STEPS,
       query("points", "integer", minimum=1), query("x"), *_X_WINDOW, responses={"200": _OBJ}),
    _e("GET", "/curves", history.curves_of_runs,
       "store.curves_of_runs: a chart of many runs in one request (run id -> key -> curve; 400 naming a missing run)",
       query("runs", array=True, required=True, description="run ids (repeat the parameter)"),
       query("keys", array=True, required=True, description="metric names (repeat the parameter)"), *_STEPS,
       query("points", "integer", minimum=1), query("x"), *_X_WINDOW, responses={"200": _OBJ}),
    _e("POST", "/curves", history.curves_of_runs, "store.curves_of_runs, its arguments as a JSON body (for many run ids)",
       responses={"200": _OBJ}, body={"application/json": {
           "type": "object", "required": ["runs", "keys"],
           "properties": {"runs": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                          "keys": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                          "min_step": {"type": "integer"}, "max_step": {"type": "integer"},
                          "points": {"type": "integer", "minimum": 1}, "x": {"type": "string"},
                          "min_x": {"type": "number"}, "max_x": {"type": "number"}},
       }}),
    _e("GET", "/runs/{run_id}/system", history.system, "store.system_metrics", _RUN, _KEYS, responses={"200": _LIST}),
    _e("GET", "/runs/{run_id}/logs", history.logs, "store.logs", _RUN, query("after", "integer", minimum=0),
       responses={"200": _LIST}),
    _e("GET", "/runs/{run_id}/media", history.media, "store.media: the run's tables, images, ... (entries naming blobs)", _RUN,
       query("key"), query("step", "integer"), responses={"200": _LIST}),
    _e("POST", "/media/steps", history.media_steps,
       "store.media_steps: the media keys of several runs and their steps (run id -> key -> {kind, steps}; 400 naming a missing run)",
       responses={"200": _OBJ}, body={"application/json": {
           "type": "object", "required": ["runs"],
           "properties": {"runs": {"type": "array", "items": {"type": "string"}, "minItems": 1}},
       }}),
    _e("GET", "/runs/{run_id}/table", history.table,
       "store.table_rows: a page of a logged table's rows after filter, search and sort (400 naming a bad one)", _RUN,
       query("key", required=True), query("step", "integer"), query("idx", "integer", minimum=0),
       query("offset", "integer", minimum=0), query("limit", "integer", minimum=1, maximum=1000), query("sort"),
       query("filter"), query("q"), responses={"200": _OBJ}),
    _e("GET", "/runs/{run_id}/log", log.log_position, "where to resume sending the run's log", _RUN,
       responses={"200": {"application/json": {"type": "object", "required": ["ok", "offset", "log_id"]}}}),
    _e("POST", "/runs/{run_id}/log", log.append_log, "append the run's log from X-Tracklet-Offset", _RUN,
       header("X-Tracklet-Offset", "integer", required=True), header("X-Tracklet-Log-Id"),
       body={"application/octet-stream": {"type": "string", "format": "binary"}},
       responses={"200": {"application/json": {"type": "object", "required": ["ok", "offset"]}}}),
    _e("GET", "/runs/{run_id}/artifacts", artifacts.run_artifacts, "store.run_artifacts", _RUN, _KIND, responses={"200": _LIST}),
    _e("GET", "/artifact-collections", artifacts.artifact_collections, "store.artifact_collections",
       query("project"), query("type"), responses={"200": _LIST}),
    _e("GET", "/artifacts/{project}/{name}", artifacts.artifact_versions, "store.artifact_versions", *_PROJECT_NAME,
       responses={"200": _LIST}),
    _e("GET", "/artifacts/{project}/{name}/{alias}", artifacts.artifact, "store.artifact (404 when absent)",
       *_PROJECT_NAME, path("alias", "latest, vN or an alias"), responses={"200": _OBJ}),
    _e("GET", "/artifacts/{project}/{name}/digest/{digest}", artifacts.artifact_by_digest,
       "store.artifact_by_digest (404 when absent)", *_PROJECT_NAME, path("digest"), responses={"200": _OBJ}),
    _e("GET", "/artifact-versions/{version_id}/runs", artifacts.artifact_runs, "store.artifact_runs", _VERSION, _KIND,
       responses={"200": _LIST}),
    _e("DELETE", "/artifact-versions/{version_id}", artifacts.delete_artifact, "store.delete_artifact", _VERSION,
       query("delete_aliases", "boolean"), responses={"200": _LIST}),
    _e("GET", "/registry", registry.registered_models, "store.registered_models", responses={"200": _LIST}),
    _e("GET", "/registry/{model}/versions/{alias}", registry.registry_version, "store.registry_version (404 when absent)",
       _MODEL, path("alias"), responses={"200": _OBJ}),
    _e("GET", "/registry/{model}/links", registry.registry_links, "store.registry_links: [[index, version], ...]", _MODEL,
       responses={"200": _LIST}),
    _e("POST", "/registry/{model}/links", registry.link_artifact, "store.link_artifact", _MODEL, responses={"200": _OK},
       body={"application/json": {
           "type": "object", "required": ["version_id"],
           "properties": {"version_id": {"type": "integer"}, "aliases": {"type": "array", "items": {"type": "string"}},
                          "actor": {"type": "string"}},
       }}),
    _e("DELETE", "/registry/{model}/links/{version_id}", registry.unlink_artifact, "store.unlink_artifact", _MODEL, _VERSION,
       query("actor"), responses={"200": _OK}),
    _e("GET", "/registry/{model}/aliases", registry.registry_aliases, "store.registry_aliases", _MODEL, responses={"200": _OBJ}),
    _e("GET", "/registry/{model}/audit", registry.registry_audit, "store.registry_audit", _MODEL, responses={"200": _LIST}),
    _e("GET", "/sweeps", sweeps.sweeps, "store.sweeps (with run_id: the sweep whose trial that run is)", query("project"), _ENTITY,
       query("run_id"), responses={"200": _LIST}),
    _e("POST", "/sweeps", sweeps.create_sweep, "store.create_sweep: a checked sweep config (400 saying what is wrong)",
       responses={"200": _OBJ}, body={"application/json": {
           "type": "object", "required": ["id", "project", "config"],
           "properties": {"id": {"type": "string"}, "project": {"type": "string"}, "entity": {"type": "string"},
                          "name": {"type": "string"}, "config": {"type": "object"}},
       }}),
    _e("GET", "/sweeps/{sweep_id}", sweeps.sweep, "store.sweep, with its trials (404 when absent)", _SWEEP,
       responses={"200": _OBJ}),
    _e("POST", "/sweeps/{sweep_id}/state", sweeps.set_sweep_state, "store.set_sweep_state", _SWEEP,
       responses={"200": _OBJ}, body={"application/json": {
           "type": "object", "required": ["state"],
           "properties": {"state": {"enum": ["running", "paused", "finished", "stopped", "cancelled"]},
                          "only_from": {"type": "array", "items": {"type": "string"}}},
       }}),
    _e("POST", "/sweeps/{sweep_id}/trials", sweeps.claim_trial, "store.claim_trial: one transaction", _SWEEP,
       responses={"200": _OBJ}, body={"application/json": {
           "type": "object", "required": ["run_id", "params"],
           "properties": {"run_id": {"type": "string"}, "params": {"type": "object"}, "point": {"type": ["string", "null"]},
                          "replaces": {"type": ["integer", "null"]}, "agent": {"type": "string"}, "host": {"type": "string"},
                          "pid": {"type": ["integer", "null"]}},
       }}),
    _e("POST", "/sweeps/{sweep_id}/trials/{number}/rungs", sweeps.update_trial, "store.update_trial: hyperband rung values",
       _SWEEP, path("number", "a trial's number (1, 2, ...)"), responses={"200": _OK}, body={"application/json": {
           "type": "object", "required": ["rungs"],
           "properties": {"rungs": {"type": "object", "additionalProperties": {"type": "number"}}},
       }}),
    _e("GET", "/calls", calls.calls, "store.calls: a project's traced calls, filtered and ordered", *_CALL_FILTERS,
       responses={"200": _LIST}),
    _e("POST", "/calls", calls.put_calls, "store.put_calls: finished calls given whole (each {start, end} record payloads)",
       responses={"200": _OK}, body={"application/json": {
           "type": "object", "required": ["project", "calls"],
           "properties": {"project": {"type": "string"}, "entity": {"type": "string"}, "calls": {"type": "array", "items": {
               "type": "object", "required": ["start", "end"],
               "properties": {"start": {"type": "object"}, "end": {"type": "object"}}}}},
       }}),
    _e("GET", "/calls/{call_id}", calls.call_one, "store.call (404 when absent)", _CALL, responses={"200": _OBJ}),
    _e("GET", "/calls/{call_id}/feedback", calls.feedback, "store.feedback", _CALL, responses={"200": _LIST}),
    _e("POST", "/calls/{call_id}/feedback", calls.add_feedback, "store.add_feedback", _CALL, responses={"200": _OBJ},
       body={"application/json": {
           "type": "object", "required": ["kind", "value"],
           "properties": {"kind": {"enum": ["reaction", "note", "score"]}, "value": {}, "name": {"type": "string"},
                          "creator": {"type": "string"}},
       }}),
    _e("GET", "/traces/{log_id}/log", calls.trace_log_position, "where to resume sending a trace log", _TRACE_LOG,
       responses={"200": {"application/json": {"type": "object", "required": ["ok", "offset"]}}}),
    _e("POST", "/traces/{log_id}/log", calls.append_trace_log, "append a trace log from X-Tracklet-Offset", _TRACE_LOG,
       header("X-Tracklet-Offset", "integer", required=True),
       body={"application/octet-stream": {"type": "string", "format": "binary"}},
       responses={"200": {"application/json": {"type": "object", "required": ["ok", "offset"]}}}),
    # OpenTelemetry's OTLP/HTTP path, outside /api/v1: an exporter's endpoint is the server's URL
    Endpoint(("POST",), "/v1/traces", calls.otlp_traces, Doc(
        "OTLP/HTTP traces (protobuf or JSON): spans become calls of ?project= (else resource tracklet.project or service.name)",
        (query("project"), _ENTITY), {"application/x-protobuf": {"type": "string", "format": "binary"},
                                      "application/json": {"type": "object"}},
        {"200": {"application/x-protobuf": {"type": "string", "format": "binary"}, "application/json": {"type": "object"}}}, False)),
    # HEAD before GET: Starlette's GET route would answer HEAD itself
    _e("HEAD", "/blobs/{digest}", blobs.head_blob, "200 when the blob is held, 404 otherwise", _DIGEST,
       responses={"200": "held", "404": "not held"}),
    _e("GET", "/blobs/{digest}", blobs.get_blob, "the blob's bytes", _DIGEST,
       responses={"200": {"application/octet-stream": {"type": "string", "format": "binary"}}}),
    _e("PUT", "/blobs/{digest}", blobs.put_blob, "store the body (400 when its digest is not {digest})", _DIGEST,
       body={"application/octet-stream": {"type": "string", "format": "binary"}},
       responses={"200": "already held", "201": "stored"}),
    _e("POST", "/blobs/presign", blobs.presign, "presigned URLs where the blob store is S3-compatible; 404 otherwise",
       body={"application/json": {
           "type": "object", "required": ["digests", "method"],
           "properties": {"digests": {"type": "array", "items": {"type": "string"}}, "method": {"enum": ["GET", "PUT"]}},
       }}, responses={"200": _OBJ}),
]


def _endpoint(handler: Handler, public: bool) -> Handler:
    async def endpoint(request: Request) -> Response:
        try:
            auth = request.app.state.auth
            if auth is not None and not public:
                request.state.principal = await call(auth.principal, request)
            return await handler(request)
        except Exception as e:  # noqa: BLE001 - the one place errors become responses
            return response_for(e)

    endpoint.__name__ = handler.__name__
    return endpoint


async def _http_error(request: Request, exc: Exception) -> Response:
    return response_for(exc)  # the router's own 404 and 405


_logger = logging.getLogger("tracklet.server")


@asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    """While serving: a thread that makes the chart blocks of what was ingested (see ``_chart_blocks``)."""
    stop = threading.Event()
    worker = None
    if hasattr(app.state.store, "make_chart_blocks"):
        worker = threading.Thread(target=_chart_blocks, args=(app.state.store, stop), name="tracklet-chart-blocks", daemon=True)
        worker.start()
    try:
        yield
    finally:
        stop.set()
        if worker is not None:
            worker.join(timeout=10)


def _chart_blocks(store: Any, stop: threading.Event) -> None:
    """Make chart blocks a few curves at a time while any are marked, else look again each second.

    Replicas on one database may all do it: a curve's blocks are made in one transaction, the same
    whoever makes them. A failure is logged and retried later; a chart makes what is left itself.
    """
    while not stop.is_set():
        try:
            made = store.make_chart_blocks(limit=8)
        except Exception:  # the store is busy or unreachable: the next round, or the chart itself, makes them
            _logger.warning("making chart blocks failed", exc_info=True)
            made = 0
        stop.wait(0.05 if made else 1.0)


def create_app(store: Any, auth: KeyAuth | None = None, blobs: Any = None, max_body: int = DEFAULT_MAX_BODY,
               max_blob: int | None = None) -> Starlette:
    """The ASGI app serving ``store`` (a ``tracklet.store.Store``) under ``/api/v1``, and the dashboard at ``/``.

    Args:
        store: answers every read and the log ingest.
        auth: None for an open server (every request may read and write); a ``KeyAuth`` to require keys.
        blobs: the artifact blob store (a ``BlobStore``); None: the blob routes answer 404.
        max_body: the largest request body accepted (413 past it); blob uploads stream to disk and use ``max_blob``.
    """
    pages = [Route("/", _endpoint(ui.page, True), methods=["GET"]),
             Route("/static/{version}/{path:path}", _endpoint(ui.static, True), methods=["GET"])]
    app = Starlette(
        routes=[Route(r.path, _endpoint(r.handler, r.doc.public), methods=list(r.methods)) for r in ROUTES] + pages,
        exception_handlers={HTTPException: _http_error},
        middleware=[Middleware(ui.SecurityHeaders)],
        lifespan=_lifespan,
    )
    app.router.redirect_slashes = False  # an API answers the path it was given, or 404
    app.state.store = store
    app.state.auth = auth
    app.state.blobs = blobs
    app.state.max_body = max_body
    if max_blob is not None:
        app.state.max_blob = max_blob
    app.state.openapi = document(ROUTES)
    app.state.static_version = ui.static_version()
    return app
