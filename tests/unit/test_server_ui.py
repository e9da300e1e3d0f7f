"""The dashboard's server side: its page and files, the CSP on every response, the session cookie, `tracklet ui`."""

from __future__ import annotations

import re

import pytest

from server_client import ServerClient, earlier_garbage_collected, logged_run, make_app  # noqa: F401 (a fixture)
from tracklet.server.auth import KeyAuth
from tracklet.store.sql._auth import KeyStore
from tracklet.store.sql._engine import open_local

pytestmark = pytest.mark.unit

CSRF = {"X-Tracklet-CSRF": "1"}


@pytest.fixture
def open_app(tmp_path):
    run_id, _ = logged_run(str(tmp_path / "store"), project="team")
    return run_id, make_app(str(tmp_path / "store"))


@pytest.fixture
def keyed(tmp_path):
    root = str(tmp_path / "store")
    run_id, _ = logged_run(root, project="team")
    app = make_app(root)
    keys = KeyStore(open_local(root))
    app.state.auth = KeyAuth(keys)
    writer = keys.create("alice", [("team", "write")])["key"]
    return run_id, app, keys, writer


def _cookie(response) -> str:
    header = response.headers["set-cookie"]
    return header.split(";", 1)[0]


def test_the_page_and_its_files_carry_a_strict_csp(open_app):
    _, app = open_app
    c = ServerClient(app)
    page = c.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe" not in csp and "frame-ancestors 'none'" in csp
    assert "<script>" not in page.text and ' on' not in page.text.split("<body>")[1].split("<noscript>")[0].replace("\n", " ")
    version = app.state.static_version
    srcs = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text)
    assert srcs and all(s.startswith(f"/static/{version}/") for s in srcs)
    for src in srcs:
        r = c.get(src)
        assert r.status_code == 200 and r.headers["cache-control"].endswith("immutable"), src
        assert r.headers["content-security-policy"] == csp and r.headers["x-content-type-options"] == "nosniff"
    js = c.get(f"/static/{version}/js/app.js")
    assert js.headers["content-type"].startswith("text/javascript")
    assert c.get("/static/0000/js/app.js").headers["cache-control"] == "no-cache"  # an old page's URL still works
    assert (c.get(f"/static/{version}/vendor/uplot-1.6.32/LICENSE")).status_code == 200


@pytest.mark.parametrize("path", ["../app.py", "..%2F..%2Fapp.py", "js/../../ui.py", "nothing.js", "index.html", "js"])
def test_files_outside_static_or_missing_are_404(open_app, path):
    _, app = open_app
    r = ServerClient(app).get(f"/static/{app.state.static_version}/{path}")
    assert r.status_code == 404 and r.json()["ok"] is False


def test_api_answers_and_errors_carry_the_csp_too(open_app):
    _, app = open_app
    c = ServerClient(app)
    for r in (c.get("/api/v1/projects"), c.get("/api/v1/runs/nope"), c.get("/no/such/page")):
        assert "default-src 'self'" in r.headers["content-security-policy"]


def test_projects_say_their_last_activity_and_live_runs(open_app):
    run_id, app = open_app
    (team,) = ServerClient(app).get("/api/v1/projects").json()
    run = ServerClient(app).get(f"/api/v1/runs/{run_id}").json()
    assert team["runs"] == 1 and team["running"] == 0
    assert team["last_activity"] == pytest.approx(run["finished_at"])


def test_a_project_began_with_its_first_run_even_when_the_store_took_it_in_later(tmp_path):
    import time

    import tracklet
    from tracklet.store.sql._store import SqlStore

    run = tracklet.init(project="late", dir=str(tmp_path / "s"))  # the unit tier's runs leave ingest to readers
    run.log({"loss": 1.0})
    run.finish()
    time.sleep(1.2)  # the store takes the run in at the first read, after it ended
    (project,) = SqlStore(str(tmp_path / "s")).projects()
    started = SqlStore(str(tmp_path / "s")).run(run.id)
    assert project["created_at"] == pytest.approx(started["created_at"]) and project["created_at"] <= project["last_activity"]


def test_open_server_needs_no_session(open_app):
    _, app = open_app
    c = ServerClient(app)
    assert c.get("/api/v1/session").json() == {"ok": True, "auth": False, "user": None}
    r = c.post("/api/v1/session", json={"key": "anything"})
    assert r.status_code == 200 and "set-cookie" not in r.headers


def test_session_cookie_signs_in_once_and_reads_like_bearer(keyed):
    run_id, app, _, writer = keyed
    c = ServerClient(app)
    assert c.get("/api/v1/session").json() == {"ok": True, "auth": True, "user": None}
    assert c.get("/api/v1/runs").status_code == 401
    bad = c.post("/api/v1/session", json={"key": writer[:-2] + "xx"})
    assert bad.status_code == 401 and "set-cookie" not in bad.headers
    assert c.post("/api/v1/session", json={"nokey": 1}).status_code == 400
    good = c.post("/api/v1/session", json={"key": writer})
    assert good.status_code == 200 and good.json()["user"] == "alice"
    attrs = good.headers["set-cookie"].lower()
    assert "httponly" in attrs and "samesite=strict" in attrs and "path=/" in attrs and "secure" not in attrs
    cookie = {"Cookie": _cookie(good)}
    assert c.get("/api/v1/session", headers=cookie).json()["user"] == "alice"
    assert [r["id"] for r in c.get("/api/v1/runs", headers=cookie).json()] == [run_id]
    assert writer not in c.get("/api/v1/runs", headers=cookie).text


def test_a_cookie_write_needs_the_csrf_header(keyed):
    run_id, app, _, writer = keyed
    c = ServerClient(app)
    cookie = {"Cookie": _cookie(c.post("/api/v1/session", json={"key": writer}))}
    edit = {"records": [[12, {"notes": "from the dashboard"}]]}
    refused = c.post(f"/api/v1/runs/{run_id}/edits", json=edit, headers=cookie)
    assert refused.status_code == 403 and "X-Tracklet-CSRF" in refused.json()["error"]
    assert c.get(f"/api/v1/runs/{run_id}", headers=cookie).json()["notes"] in (None, "")
    done = c.post(f"/api/v1/runs/{run_id}/edits", json=edit, headers={**cookie, **CSRF})
    assert done.status_code == 200
    assert c.get(f"/api/v1/runs/{run_id}", headers=cookie).json()["notes"] == "from the dashboard"
    # Bearer clients (the SDK, scripts) are unchanged: no extra header
    assert c.post(f"/api/v1/runs/{run_id}/edits", json=edit, headers={"Authorization": f"Bearer {writer}"}).status_code == 200


def test_a_session_from_another_site_or_a_revoked_key_is_refused(keyed):
    _, app, keys, writer = keyed
    c = ServerClient(app)
    r = c.post("/api/v1/session", json={"key": writer}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and "set-cookie" not in r.headers
    ok = c.post("/api/v1/session", json={"key": writer}, headers={"Origin": "http://testserver"})
    cookie = {"Cookie": _cookie(ok)}
    keys.revoke(writer.split("_")[1])
    assert c.get("/api/v1/runs", headers=cookie).status_code == 401
    assert c.get("/api/v1/session", headers=cookie).json()["user"] is None


def test_sign_out_clears_the_cookie(keyed):
    _, app, _, writer = keyed
    c = ServerClient(app)
    cookie = {"Cookie": _cookie(c.post("/api/v1/session", json={"key": writer}))}
    assert c.delete("/api/v1/session", headers=cookie).status_code == 403  # no CSRF header
    out = c.delete("/api/v1/session", headers={**cookie, **CSRF})
    assert out.status_code == 200 and 'tracklet_key=""' in out.headers["set-cookie"] and "max-age=0" in out.headers["set-cookie"].lower()


def test_tracklet_ui_serves_the_local_store_on_loopback_and_prints_the_url(tracklet_env, capsys, monkeypatch):
    import uvicorn
    import webbrowser

    from tracklet.cli import main

    served, opened = {}, []
    monkeypatch.setattr(uvicorn, "run", lambda app, **k: served.update(k))
    monkeypatch.setattr(webbrowser, "open", opened.append)
    assert main(["ui", "--port", "8099", "--no-browser"]) == 0
    out = capsys.readouterr().out
    assert "dashboard: http://127.0.0.1:8099/" in out and "open: no API keys" in out
    assert served["host"] == "127.0.0.1" and served["port"] == 8099 and opened == []


def test_tracklet_server_prints_the_dashboard_url(tracklet_env, capsys, monkeypatch):
    import uvicorn

    from tracklet.cli import main

    monkeypatch.setattr(uvicorn, "run", lambda app, **k: None)
    assert main(["server", "--port", "8098"]) == 0
    assert "dashboard: http://127.0.0.1:8098/" in capsys.readouterr().out


def test_runs_can_be_asked_for_some_fields_only(open_app):
    run_id, app = open_app
    c = ServerClient(app)
    (lean,) = c.get("/api/v1/runs?project=team&fields=id&fields=config&fields=summary").json()
    assert lean == {"id": run_id, "config": {"lr": 0.1}, "summary": c.get(f"/api/v1/runs/{run_id}").json()["summary"]}
    bad = c.get("/api/v1/runs?fields=id&fields=secret")
    assert bad.status_code == 400 and "secret" in bad.json()["error"] and "environment" in bad.json()["error"]


def test_the_sql_store_answers_some_fields_only(tracklet_env):
    from tracklet._errors import UsageError
    from tracklet.store.sql._store import SqlStore

    logged_run(str(tracklet_env), project="team")
    store = SqlStore(str(tracklet_env))
    (full,) = store.runs("team")
    (lean,) = store.runs("team", fields=["summary", "id", "tags"])
    assert list(lean) == ["summary", "id", "tags"] and lean == {k: full[k] for k in lean}
    assert store.runs("team", fields=[]) == [{}]
    with pytest.raises(UsageError, match="unknown run field.*environment"):
        store.runs(fields=["nope"])
