"""The API as a whole: the OpenAPI document lists every route, every error has one shape, and fuzzing finds no 500."""

from __future__ import annotations

import pytest

from server_client import ServerClient, earlier_garbage_collected, logged_run, make_app  # noqa: F401 (a fixture)
from tracklet.server.app import ROUTES
from tracklet.server.auth import KeyAuth
from tracklet.store.sql._auth import KeyStore
from tracklet.store.sql._engine import open_local

pytestmark = pytest.mark.unit


def _concrete(path: str, bad: bool = False) -> str:
    values = {"run_id": "..bad" if bad else "nosuchrun", "project": "p", "name": "n", "alias": "latest",
              "digest": "g" * 64 if bad else "0" * 64, "version_id": "x" if bad else "123456", "model": "m"}
    for k, v in values.items():
        path = path.replace("{" + k + "}", v)
    return path


def _assert_error_shape(r, method, path):
    assert r.status_code >= 400, (method, path, r.status_code)
    if method == "HEAD":
        return  # no body
    body = r.json()
    assert set(body) >= {"ok", "error", "status"} and body["ok"] is False, (method, path, body)
    assert body["status"] == r.status_code and isinstance(body["error"], str) and body["error"]
    assert "Traceback" not in r.text


def test_the_document_describes_every_route(tmp_path):
    doc = ServerClient(make_app(str(tmp_path / "s"))).get("/api/v1/openapi.json").json()
    described = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert described == {(m, r.path) for r in ROUTES for m in r.methods}
    for p, ops in doc["paths"].items():
        for op in ops.values():
            names = {x["name"] for x in op["parameters"] if x["in"] == "path"}
            assert names == set(__import__("re").findall(r"{(\w+)}", p)), p


def test_every_route_answers_errors_in_one_shape(tmp_path):
    root = str(tmp_path / "s")
    app = make_app(root)
    open_api = ServerClient(app)
    for r in ROUTES:
        for method in r.methods:
            if r.doc.public:
                wrong = "DELETE" if method != "DELETE" else "PUT"
                _assert_error_shape(open_api.request(wrong, r.path), wrong, r.path)
                continue
            bad_query = "?entity=%01&project=%01&run_id=..&type=%01&after=x&points=0&kind=zzz&keys=%01&delete_aliases=maybe"
            resp = open_api.request(method, _concrete(r.path, bad=True) + bad_query, content=b"{bad json",
                                    headers={"X-Tracklet-Offset": "-1"})
            if resp.status_code >= 400:  # some take nothing that can be wrong: the pass with keys below covers them
                _assert_error_shape(resp, method, r.path)
    app.state.auth = KeyAuth(KeyStore(open_local(root)))
    for r in ROUTES:
        for method in r.methods:
            if not r.doc.public:
                _assert_error_shape(open_api.request(method, _concrete(r.path)), method, r.path)
