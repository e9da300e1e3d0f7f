"""Artifacts and media in remote mode against a folder server process (no presigned URLs: ``PUT /blobs/{digest}``
with the digest checked on arrival), and ``tracklet sync --to`` of an offline run that logged them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest

import tracklet
from helpers import wait_until

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def folder_server(tmp_path):
    import httpx

    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tracklet", "server", "--dir", str(tmp_path / "served"), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(url + "/api/v1/health").status_code == 200
        except httpx.TransportError:
            return proc.poll() is not None

    wait_until(up, timeout=30)
    assert proc.poll() is None
    yield url
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=15)


def _logged(tmp_path, **init) -> tuple[tracklet.Run, tracklet.Artifact, bytes]:
    import numpy as np

    data = os.urandom(200_000)
    (tmp_path / "ckpt.bin").write_bytes(data)
    run = tracklet.init(project="blobs", **init)
    run.log({"loss": 0.5, "img": tracklet.Image(np.zeros((2, 2, 3), dtype=np.uint8))})
    art = tracklet.Artifact("ckpt", type="model")
    art.add_file(str(tmp_path / "ckpt.bin"))
    run.log_artifact(art)
    return run, art, data


def test_a_remote_runs_artifact_and_image_go_through_the_servers_blob_routes(folder_server, tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKLET_BASE_URL", folder_server)
    run, art, data = _logged(tmp_path, mode="remote")
    art.wait(timeout=30)
    assert art.version == "v0"
    run.finish()
    assert os.path.exists(tmp_path / "served" / "blobs")  # the server's own blob store got them
    api = tracklet.Api(base_url=folder_server)
    got = api.artifact("blobs/ckpt:v0")
    got.download(str(tmp_path / "down"))
    assert (tmp_path / "down" / "ckpt.bin").read_bytes() == data
    assert got.logged_by().id == run.id  # lineage read through the server, not a local folder
    assert api.run(f"blobs/{run.id}").image("img").to_numpy().shape == (2, 2, 3)
    kept = set(os.listdir(tmp_path / "store" / "blobs" / "blake3"))
    got.delete()  # on the server; the local folder is left alone
    assert api.artifact_versions("blobs/ckpt") == []
    assert set(os.listdir(tmp_path / "store" / "blobs" / "blake3")) == kept


def test_sync_to_a_server_sends_an_offline_runs_blobs_first(folder_server, tmp_path):
    run, art, data = _logged(tmp_path, mode="offline")
    run.finish()
    done = subprocess.run([sys.executable, "-m", "tracklet", "sync", run.dir, "--to", folder_server],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    api = tracklet.Api(base_url=folder_server)
    api.artifact("blobs/ckpt:latest").download(str(tmp_path / "down"))
    assert (tmp_path / "down" / "ckpt.bin").read_bytes() == data
    assert api.run(f"blobs/{run.id}").image("img").to_numpy().shape == (2, 2, 3)


def test_a_remote_runs_media_is_in_its_history_read_through_the_server(folder_server, tmp_path, monkeypatch):
    import numpy as np

    monkeypatch.setenv("TRACKLET_BASE_URL", folder_server)
    run = tracklet.init(project="blobs", mode="remote")
    run.log({"loss": 0.5, "img": tracklet.Image(np.zeros((2, 2, 3), dtype=np.uint8))})
    run.log({"samples": [tracklet.Image(np.ones((3, 2, 3), dtype=np.uint8))] * 2})
    run.log({"loss": 0.25})
    run.finish()
    remote = tracklet.Api(base_url=folder_server).run(f"blobs/{run.id}")  # RemoteStore: GET /runs/{id}/history
    rows = list(remote.scan_history())
    assert [r["_step"] for r in rows] == [0, 1, 2]
    assert rows[0]["img"] == remote.summary["img"] and rows[0]["img"]["width"] == 2 and rows[0]["loss"] == 0.5
    assert rows[1]["samples"]["count"] == 2 and "loss" not in rows[1]
    assert [r["_step"] for r in remote.scan_history(keys=["samples"])] == [1]
    assert remote.history(keys=["img", "loss"])["img"][0]["_type"] == "image"


@pytest.mark.parametrize("mode", ["remote", "offline"])
def test_images_logged_as_pixels_get_their_pngs_on_the_server(folder_server, tmp_path, monkeypatch, mode):
    import numpy as np

    from tracklet.media import _log

    monkeypatch.setenv("TRACKLET_BASE_URL", folder_server)
    frames = [np.random.default_rng(step).integers(0, 256, (8, 8, 3), dtype=np.uint8) for step in range(30)]
    run = tracklet.init(project="blobs", mode=mode)
    for f in frames:
        run.log({"img": tracklet.Image(f)})
    run.finish()
    assert run not in _log._batches  # no image went through the uploads thread: the server made every PNG
    if mode == "offline":
        done = subprocess.run([sys.executable, "-m", "tracklet", "sync", run.dir, "--to", folder_server],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    stored = tracklet.Api(base_url=folder_server).run(f"blobs/{run.id}")
    assert len(stored.media("img")) == 30
    for step in (0, 17, 29):
        assert np.array_equal(stored.image("img", step=step).to_numpy(), frames[step])
