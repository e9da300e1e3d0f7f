"""``RemoteStore`` against the route table of docs/http-api.md: each store method is one request to its
route, with its arguments where the table puts them, and reads the answer back unchanged.

The loopback server here is written from the table, not from RemoteStore: it maps each route to the
store method the table names and answers with what a recording fake store returns.
"""

from __future__ import annotations

import json
import math
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from tracklet._errors import StoreError, UsageError
from tracklet.remote._store import RemoteStore

KEY = "tlk_store_test_key"

# (HTTP method, route pattern, store method, how the query maps to arguments) straight from the table
ROUTES = [
    ("GET", r"/projects", "projects", ["entity"]),
    ("GET", r"/runs", "runs", ["project", "entity", "fields*"]),
    ("GET", r"/runs/(?P<run_id>[^/]+)", "run", []),
    ("POST", r"/runs/(?P<run_id>[^/]+)/edits", "edit_run", []),
    ("DELETE", r"/runs/(?P<run_id>[^/]+)", "delete_run", []),
    ("GET", r"/problems", "problems", ["run_id"]),
    ("GET", r"/runs/(?P<run_id>[^/]+)/keys", "keys", []),
    ("GET", r"/runs/(?P<run_id>[^/]+)/history", "history", ["keys*", "min_step", "max_step"]),
    ("GET", r"/runs/(?P<run_id>[^/]+)/curves", "curves", ["keys*", "min_step", "max_step", "points", "x", "min_x", "max_x"]),
    ("POST", r"/curves", "curves_of_runs", []),
    ("GET", r"/runs/(?P<run_id>[^/]+)/system", "system_metrics", ["keys*"]),
    ("GET", r"/runs/(?P<run_id>[^/]+)/logs", "logs", ["after"]),
    ("GET", r"/runs/(?P<run_id>[^/]+)/media", "media", ["key", "step"]),
    ("POST", r"/media/steps", "media_steps", []),
    ("GET", r"/runs/(?P<run_id>[^/]+)/table", "table_rows", ["key", "step", "idx", "offset", "limit", "sort", "filter", "q"]),
    ("GET", r"/runs/(?P<run_id>[^/]+)/artifacts", "run_artifacts", ["kind"]),
    ("GET", r"/artifact-collections", "artifact_collections", ["project", "type"]),
    ("GET", r"/artifacts/(?P<project>[^/]+)/(?P<name>[^/]+)", "artifact_versions", ["entity"]),
    ("GET", r"/artifacts/(?P<project>[^/]+)/(?P<name>[^/]+)/digest/(?P<digest>[^/]+)", "artifact_by_digest", ["entity"]),
    ("GET", r"/artifacts/(?P<project>[^/]+)/(?P<name>[^/]+)/(?P<alias>[^/]+)", "artifact", ["entity"]),
    ("GET", r"/artifact-versions/(?P<version_id>\d+)/runs", "artifact_runs", ["kind"]),
    ("DELETE", r"/artifact-versions/(?P<version_id>\d+)", "delete_artifact", ["delete_aliases"]),
    ("GET", r"/registry", "registered_models", []),
    ("GET", r"/registry/(?P<model>[^/]+)/versions/(?P<alias>[^/]+)", "registry_version", []),
    ("GET", r"/registry/(?P<model>[^/]+)/links", "registry_links", []),
    ("POST", r"/registry/(?P<model>[^/]+)/links", "link_artifact", []),
    ("DELETE", r"/registry/(?P<model>[^/]+)/links/(?P<version_id>\d+)", "unlink_artifact", ["actor"]),
    ("GET", r"/registry/(?P<model>[^/]+)/aliases", "registry_aliases", []),
    ("GET", r"/registry/(?P<model>[^/]+)/audit", "registry_audit", []),
    ("GET", r"/sweeps", "sweeps", ["project", "entity", "run_id"]),
    ("POST", r"/sweeps", "create_sweep", []),
    ("GET", r"/sweeps/(?P<sweep_id>[^/]+)", "sweep", []),
    ("POST", r"/sweeps/(?P<sweep_id>[^/]+)/state", "set_sweep_state", []),
    ("POST", r"/sweeps/(?P<sweep_id>[^/]+)/trials", "claim_trial", []),
    ("POST", r"/sweeps/(?P<sweep_id>[^/]+)/trials/(?P<number>\d+)/rungs", "update_trial", []),
]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _answer(self, status, body, ndjson=False):
        data = "".join(json.dumps(row) + "\n" for row in body).encode() if ndjson else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-ndjson" if ndjson else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _dispatch(self, method):
        seen = self.server.seen
        n = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(n)) if n else None
        if self.headers.get("Authorization") != f"Bearer {KEY}":
            return self._answer(401, {"ok": False, "error": "a valid API key is required", "status": 401})
        url = urlsplit(self.path)
        assert url.path.startswith("/api/v1/")
        path = url.path[len("/api/v1"):]
        query = parse_qs(url.query, keep_blank_values=True)
        for verb, pattern, name, params in ROUTES:
            m = re.fullmatch(pattern, path)
            if verb != method or not m:
                continue
            call = {k: unquote(v) for k, v in m.groupdict().items()}
            for p in params:
                if p.endswith("*"):
                    call[p[:-1]] = query.get(p[:-1])
                elif p in query:
                    call[p] = query[p][0]
            if body is not None:
                call["body"] = body
            seen.append((name, call))
            if call.get("run_id") == "missing" or call.get("alias") == "missing":
                return self._answer(404, {"ok": False, "error": "no such thing; these exist: a, b", "status": 404})
            if name == "history":
                return self._answer(200, [{"_step": 0, "loss": float("nan")}, {"_step": 1, "loss": 0.5}], ndjson=True)
            if name == "registry_links":
                return self._answer(200, [[0, {"id": 7}], [1, {"id": 9}]])
            if name == "registry_aliases":
                return self._answer(200, {"production": 1})
            if name == "set_sweep_state":
                return self._answer(200, {"ok": True, "state": body["state"]})
            return self._answer(200, {"method": name, "call": call} if name not in ("projects", "runs", "sweeps") else [call])
        self._answer(404, {"ok": False, "error": f"no route {method} {path}", "status": 404})

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_DELETE(self):
        self._dispatch("DELETE")


@pytest.fixture
def store():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.seen = []
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    s = RemoteStore(f"http://127.0.0.1:{httpd.server_address[1]}", KEY)
    s.seen = httpd.seen
    yield s
    s.close()
    httpd.shutdown()
    httpd.server_close()


def test_every_store_method_is_its_route(store):
    assert store.runs("proj", "team") == [{"project": "proj", "entity": "team", "fields": None}]
    assert store.runs("proj", fields=["id", "config"]) == [{"project": "proj", "fields": ["id", "config"]}]
    with pytest.raises(UsageError, match="unknown run field"):
        store.runs(fields=["id", "password"])
    assert store.projects() == [{}]
    assert store.run("r1") == {"method": "run", "call": {"run_id": "r1"}}
    store.edit_run("r1", [(12, {"name": "x"})])
    assert store.seen[-1] == ("edit_run", {"run_id": "r1", "body": {"records": [[12, {"name": "x"}]]}})
    store.delete_run("r1")
    assert store.seen[-1] == ("delete_run", {"run_id": "r1"})
    assert store.problems("r1")["call"] == {"run_id": "r1"}
    assert store.keys("r1")["method"] == "keys"
    assert store.curves("r1", ["a", "b"], 0, 10, points=5)["call"] == {
        "run_id": "r1", "keys": ["a", "b"], "min_step": "0", "max_step": "10", "points": "5", "x": "_step"}
    assert store.curves_of_runs(["r1", "r2"], ["a"], points=1000)["call"] == {
        "body": {"runs": ["r1", "r2"], "keys": ["a"], "points": 1000, "x": "_step"}}
    assert store.curves("r1", ["a"], x="epoch", min_x=1.5, max_x=2)["call"] == {
        "run_id": "r1", "keys": ["a"], "x": "epoch", "min_x": "1.5", "max_x": "2"}
    assert store.curves_of_runs(["r1"], ["a"], x="_runtime", min_x=0.5, max_x=9.25)["call"] == {
        "body": {"runs": ["r1"], "keys": ["a"], "x": "_runtime", "min_x": 0.5, "max_x": 9.25}}
    assert store.system_metrics("r1", ["system/cpu"])["call"]["keys"] == ["system/cpu"]
    assert store.logs("r1", after=4)["call"]["after"] == "4"
    assert store.media("r1", "eval/predictions", 3)["call"] == {"run_id": "r1", "key": "eval/predictions", "step": "3"}
    assert store.media_steps(["r1", "r2"])["call"] == {"body": {"runs": ["r1", "r2"]}}
    assert store.table_rows("r1", "eval/p", 3, 1, 200, 50, "-score", "score > 0.5", "cat")["call"] == {
        "run_id": "r1", "key": "eval/p", "step": "3", "idx": "1", "offset": "200", "limit": "50", "sort": "-score",
        "filter": "score > 0.5", "q": "cat"}
    assert store.run_artifacts("r1", "input")["call"]["kind"] == "input"
    assert store.artifact_collections("p", "model")["call"] == {"project": "p", "type": "model"}
    assert store.artifact_versions("p", None, "m")["method"] == "artifact_versions"
    assert store.artifact("p", "team", "m", "latest")["call"] == {"project": "p", "name": "m", "alias": "latest", "entity": "team"}
    assert store.artifact_by_digest("p", None, "m", "abc")["call"]["digest"] == "abc"
    assert store.artifact_runs(3, "output")["call"] == {"version_id": "3", "kind": "output"}
    assert store.delete_artifact(3, True)["call"]["delete_aliases"] == "true"
    assert store.registered_models()["method"] == "registered_models"
    assert store.registry_version("llama", "production")["call"] == {"model": "llama", "alias": "production"}
    assert store.registry_links("llama") == [(0, {"id": 7}), (1, {"id": 9})]
    store.link_artifact(7, "llama", ["staging"], "me")
    assert store.seen[-1][1]["body"] == {"version_id": 7, "aliases": ["staging"], "actor": "me"}
    store.unlink_artifact(7, "llama", "me")
    assert store.seen[-1] == ("unlink_artifact", {"model": "llama", "version_id": "7", "actor": "me"})
    assert store.registry_aliases("llama") == {"production": 1}
    assert store.registry_audit("llama")["method"] == "registry_audit"
    assert store.sweeps("proj") == [{"project": "proj"}]
    assert store.sweeps("proj", run_id="r1") == [{"project": "proj", "run_id": "r1"}]
    assert store.create_sweep("s1", "proj", None, {"method": "grid"}, "n")["call"] == {
        "body": {"id": "s1", "project": "proj", "config": {"method": "grid"}, "name": "n"}}
    assert store.sweep("s1")["call"] == {"sweep_id": "s1"}
    assert store.set_sweep_state("s1", "paused", ["running"]) == "paused"
    assert store.seen[-1][1]["body"] == {"state": "paused", "only_from": ["running"]}
    trial = {"run_id": "r1", "params": {"a": 1}, "point": "k", "replaces": None, "agent": "x", "host": "h", "pid": 1}
    assert store.claim_trial("s1", trial)["call"] == {"sweep_id": "s1", "body": trial}
    store.update_trial("s1", 2, {"3": 0.5})
    assert store.seen[-1] == ("update_trial", {"sweep_id": "s1", "number": "2", "body": {"rungs": {"3": 0.5}}})


def test_names_with_separators_stay_one_path_segment(store):
    assert store.artifact("p", None, "a/../b", "v1")["call"]["name"] == "a/../b"


def test_history_streams_ndjson_with_non_finite_values(store):
    rows = list(store.history("r1", keys=["loss"], min_step=0))
    assert math.isnan(rows[0]["loss"]) and rows[1] == {"_step": 1, "loss": 0.5}
    assert store.seen[-1] == ("history", {"run_id": "r1", "keys": ["loss"], "min_step": "0"})
    asked = len(store.seen)
    assert list(store.history("r1", keys=[])) == [] and len(store.seen) == asked  # no key: no row, as SqlStore answers


def test_missing_things_are_none_or_a_usage_error_and_a_bad_key_a_store_error(store):
    assert store.run("missing") is None
    assert store.artifact("p", None, "m", "missing") is None
    with pytest.raises(UsageError, match="these exist"):
        store.keys("missing")
    bad = RemoteStore(store.location, "wrong")
    with pytest.raises(StoreError, match="401") as e:
        bad.runs()
    assert "wrong" not in str(e.value)
    bad.close()


def test_api_reads_a_server_given_by_argument_or_by_remote_modes_variables(store, monkeypatch, tmp_path):
    import tracklet
    from tracklet.store.sql._store import SqlStore

    assert isinstance(tracklet.Api(base_url=store.location, api_key=KEY)._store, RemoteStore)
    assert isinstance(tracklet.Api(overrides={"base_url": store.location})._store, RemoteStore)  # wandb's spelling
    assert isinstance(tracklet.Api()._store, SqlStore)
    monkeypatch.setenv("TRACKLET_BASE_URL", store.location)
    monkeypatch.setenv("TRACKLET_API_KEY", KEY)
    api = tracklet.Api()
    assert isinstance(api._store, RemoteStore)
    assert isinstance(tracklet.Api(dir=str(tmp_path / "here"))._store, SqlStore)  # a folder named: that folder
    monkeypatch.setenv("TRACKLET_MODE", "local")
    assert isinstance(tracklet.Api()._store, SqlStore)


def test_a_lean_curve_from_the_server_reads_back_whole():
    from tracklet.remote._store import _whole

    got = _whole({"loss": {"x": [0, 1], "y": [1.0, 0.5]}, "acc": {"x": [0], "y": [1.0], "min": [0.5], "max": [2.0]}})
    assert got["loss"] == {"x": [0, 1], "y": [1.0, 0.5], "min": [1.0, 0.5], "max": [1.0, 0.5]}
    assert got["acc"]["min"] == [0.5]
