"""Blobs over HTTP: digest checked on arrival, stored atomically, read back; presign says 404 here."""

from __future__ import annotations

import os

import pytest

from server_client import ServerClient, earlier_garbage_collected, make_app  # noqa: F401 (a fixture)
from tracklet.artifacts.storage import hash_bytes

pytestmark = pytest.mark.unit


def test_put_head_get_and_a_wrong_digest(tmp_path):
    api = ServerClient(make_app(str(tmp_path / "s")))
    data = os.urandom(300_000)
    digest = hash_bytes(data)
    assert api.head(f"/api/v1/blobs/{digest}").status_code == 404
    assert api.get(f"/api/v1/blobs/{digest}").json()["status"] == 404
    wrong = api.put(f"/api/v1/blobs/{hash_bytes(b'other')}", content=data)
    assert wrong.status_code == 400 and "digest" in wrong.json()["error"]
    assert api.head(f"/api/v1/blobs/{hash_bytes(b'other')}").status_code == 404  # nothing stored
    assert api.put(f"/api/v1/blobs/{digest}", content=data).status_code == 201
    assert api.put(f"/api/v1/blobs/{digest}", content=data).status_code == 200  # held already
    head = api.head(f"/api/v1/blobs/{digest}")
    assert head.status_code == 200 and head.headers["content-length"] == str(len(data))
    assert api.get(f"/api/v1/blobs/{digest}").content == data
    leftovers = [n for n in os.listdir(tmp_path / "s" / "blobs" / "tmp")]
    assert leftovers == []
    r = api.post("/api/v1/blobs/presign", json={"digests": [digest], "method": "GET"})
    assert r.status_code == 404 and "GET/PUT /api/v1/blobs" in r.json()["error"]
