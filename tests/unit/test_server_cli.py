"""``tracklet server`` and ``tracklet server key``: keys shown once, refusal without auth, the extra's install line."""

from __future__ import annotations

import builtins
import sys

import pytest

from tracklet.cli import main

from server_client import earlier_garbage_collected  # noqa: F401,E402 (a fixture)

pytestmark = pytest.mark.unit


def test_key_create_list_revoke(tracklet_env, capsys):
    assert main(["server", "key", "create", "--user", "ann", "--project", "p", "--access", "write"]) == 0
    out = capsys.readouterr().out
    key = next(word for word in out.split() if word.startswith("tkl_"))
    key_id = key.split("_")[1]
    assert main(["server", "key", "list"]) == 0
    listed = capsys.readouterr().out
    assert key_id in listed and "ann" in listed and "p: write" in listed and key not in listed
    assert main(["server", "key", "revoke", key_id]) == 0
    capsys.readouterr()
    assert main(["server", "key", "revoke", key_id]) == 1
    assert "no live key" in capsys.readouterr().err


def test_refuses_a_public_address_without_keys(tracklet_env, capsys, monkeypatch):
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("must not serve"))
    assert main(["server", "--host", "0.0.0.0"]) == 1
    assert "tracklet server key create" in capsys.readouterr().err


def test_insecure_says_so_loudly(tracklet_env, capsys, monkeypatch):
    import uvicorn

    served = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **k: served.update(k))
    assert main(["server", "--host", "0.0.0.0", "--port", "9", "--insecure"]) == 0
    captured = capsys.readouterr()
    assert "WITHOUT AUTHENTICATION" in captured.err and "http://0.0.0.0:9" in captured.out
    assert served["host"] == "0.0.0.0" and served["port"] == 9


def test_without_the_extra_the_error_names_the_install_command(tracklet_env, capsys, monkeypatch):
    real_import = builtins.__import__

    def no_uvicorn(name, *args, **kwargs):
        if name == "uvicorn":
            raise ModuleNotFoundError("No module named 'uvicorn'", name="uvicorn")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "uvicorn", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_uvicorn)
    assert main(["server"]) == 1
    assert 'pip install "tracklet[server]"' in capsys.readouterr().err


def test_import_tracklet_loads_no_server_module():
    from helpers import run_python

    r = run_python("import sys, tracklet; print(sorted(m for m in sys.modules if m.startswith(('starlette', 'uvicorn', 'tracklet.server'))))")
    assert r.stdout.strip() == "[]", r.stderr


def test_migrate_says_the_database_and_its_schema_versions(tracklet_env, tmp_path, capsys):
    from tracklet.store.sql._schema import SCHEMA_VERSION

    url = f"sqlite:///{tmp_path / 'team.db'}"
    assert main(["server", "--db", url, "--migrate"]) == 0  # SQLite upgrades when opened: no version before
    assert capsys.readouterr().out == f"{url}: no schema -> schema version {SCHEMA_VERSION}\n"
    assert main(["server", "--migrate"]) == 1  # a folder store is upgraded when opened
    assert "--migrate upgrades a database named by --db" in capsys.readouterr().err
