"""The team server as real processes: ``tracklet server --db <PostgreSQL> --blobs s3://...`` (moto in server mode).

Remote runs in their own processes log metrics, an artifact and an image; everything reads back through
``Api(base_url=...)``, files byte-identical. Two replicas on one database and one bucket act as one service,
also for a run whose connection moves from one to the other mid-run. ``--migrate`` and its refusals.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.request

import pytest

from helpers import run_python, spawn_python, wait_until

pytest.importorskip("s3fs", reason="needs the s3 extra: pip install 'tracklet[s3]'")
pytest.importorskip("moto.server", reason="needs moto[server] (the dev extra)")
pytestmark = pytest.mark.integration

BUCKET = "team-bucket"
AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def s3_endpoint():
    """A moto S3 server in its own process on 127.0.0.1 with one bucket."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: proc.poll() is not None or _up(url + "/moto-api/"), timeout=30)
        assert proc.poll() is None, "the moto server exited at start"
        import boto3

        boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                     aws_secret_access_key="testing").create_bucket(Bucket=BUCKET)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tracklet", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


class Server:
    """One ``tracklet server --db ... --blobs ...`` process on a free port."""

    def __init__(self, db: str, blobs: str, endpoint: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, **AWS, "TRACKLET_BLOB_OPTIONS": json.dumps({"endpoint_url": endpoint})}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tracklet", "server", "--db", db, "--blobs", blobs, "--port", str(self.port)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        wait_until(lambda: self.proc.poll() is not None or _up(self.url + "/api/v1/ready"), timeout=30)
        assert self.proc.poll() is None, self.proc.communicate()

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return err


@pytest.fixture
def team(pg_url, s3_endpoint, tmp_path):
    """A migrated database and a bucket prefix; ``team.serve()`` starts a replica on them."""
    done = _cli("server", "--db", pg_url, "--migrate")
    assert done.returncode == 0 and "no schema -> schema version" in done.stdout, done.stderr
    servers: list[Server] = []

    class Team:
        db, endpoint = pg_url, s3_endpoint
        blobs = f"s3://{BUCKET}/{tmp_path.name}"

        def serve(self) -> Server:
            servers.append(Server(pg_url, self.blobs, s3_endpoint))
            return servers[-1]

    yield Team()
    for s in servers:
        s.stop()


_RUN = """
import os, sys, time
import numpy as np
import tracklet

run = tracklet.init(project="team", name=os.environ["NAME"], mode="remote")
n, gate = int(os.environ["STEPS"]), os.environ.get("GATE")
for i in range(n):
    if gate and i == n // 2:
        print("half", flush=True)
        while not os.path.exists(gate):
            time.sleep(0.02)
    run.log({"loss": 1.0 / (i + 1), "i": i})
    time.sleep(float(os.environ.get("PAUSE", "0")))
if os.environ.get("IMAGE"):
    run.log({"sample": tracklet.Image(np.arange(48, dtype=np.uint8).reshape(4, 4, 3), caption="c")})
art = tracklet.Artifact(os.environ.get("ART", "model"), type="model")
art.add_file(os.environ["FILE"])
run.log_artifact(art)
art.wait(timeout=60)
print("version", art.version, flush=True)
print("id", run.id, flush=True)
run.finish()
"""


def _client_env(base_url: str, tmp_path, name: str, steps: int, file: str, **extra: str) -> dict[str, str]:
    return {"TRACKLET_BASE_URL": base_url, "TRACKLET_DIR": str(tmp_path / f"client-{name}"), "NAME": name,
            "STEPS": str(steps), "FILE": file, "TRACKLET_FINISH_TIMEOUT": "30", **extra}


def _out(text: str, key: str) -> str:
    return next(line.split(" ", 1)[1] for line in text.splitlines() if line.startswith(key + " "))


def test_a_remote_run_with_an_artifact_and_an_image_reads_back_through_the_team_server(team, tmp_path):
    import boto3

    import tracklet

    server = team.serve()
    weights = tmp_path / "weights.bin"
    weights.write_bytes(os.urandom(3 << 20))
    done = run_python(_RUN, env=_client_env(server.url, tmp_path, "one", 50, str(weights), IMAGE="1"))
    assert done.returncode == 0, done.stderr
    assert _out(done.stdout, "version") == "v0"
    run_id = _out(done.stdout, "id")

    api = tracklet.Api(base_url=server.url)
    run = api.run(f"team/{run_id}")
    assert run.state == "finished"
    assert [r["i"] for r in run.scan_history(keys=["i"])] == list(range(50))
    image = run.image("sample")
    assert image.to_numpy().tolist() == [[[3 * (4 * y + x) + c for c in range(3)] for x in range(4)] for y in range(4)]
    art = api.artifact("team/model:latest")
    assert art.version == "v0"
    got = art.download(str(tmp_path / "down"))
    assert (tmp_path / "down" / "weights.bin").read_bytes() == weights.read_bytes()
    assert os.path.isdir(got)
    # the files are in the bucket, not on the server's disk
    s3 = boto3.client("s3", endpoint_url=team.endpoint, **{k.lower(): v for k, v in AWS.items() if k != "AWS_DEFAULT_REGION"},
                      region_name="us-east-1")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=tmp_path.name).get("Contents", [])]
    assert any(art.manifest()["weights.bin"].digest in k for k in keys) and len(keys) >= 2  # the file and the image

    # a finished run is edited through the server: the edits become the next records of its log in the database
    run.name, run.tags, run.notes = "renamed", ["best"], "kept"
    run.summary["verdict"] = "good"
    run.update()
    again = tracklet.Api(base_url=server.url).run(f"team/{run_id}")
    assert (again.name, again.tags, again.notes, again.summary["verdict"]) == ("renamed", ["best"], "kept", "good")
    assert [r["i"] for r in again.scan_history(keys=["i"])] == list(range(50))  # nothing else changed


def test_presigned_urls_move_blobs_straight_to_the_bucket(team, tmp_path):
    import requests
    from blake3 import blake3

    server = team.serve()
    data = os.urandom(1 << 20)
    digest = blake3(data).hexdigest()
    base = server.url + "/api/v1"
    assert requests.head(f"{base}/blobs/{digest}").status_code == 404
    urls = requests.post(f"{base}/blobs/presign", json={"digests": [digest], "method": "PUT"}).json()["urls"]
    assert urls[digest].startswith(team.endpoint) and "Signature" in urls[digest]
    assert requests.put(urls[digest], data=data).status_code == 200  # to the bucket, not through the server
    assert requests.head(f"{base}/blobs/{digest}").status_code == 200
    get = requests.post(f"{base}/blobs/presign", json={"digests": [digest], "method": "GET"}).json()["urls"][digest]
    assert requests.get(get).content == data
    assert requests.get(f"{base}/blobs/{digest}").content == data


class _Switch:
    """A TCP proxy standing in for a load balancer: new connections go to ``target``; ``move()`` drops the open ones."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.served: dict[int, int] = {}
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                port = self.target
                self.served[port] = self.served.get(port, 0) + 1
                upstream = socket.create_connection(("127.0.0.1", port))
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def move(self, target: int) -> None:
        with self._lock:
            self.target = target
            for c in self._conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                c.close()
            self._conns = []

    def close(self) -> None:
        self._sock.close()
        self.move(self.target)


def test_two_replicas_on_one_database_and_one_bucket_act_as_one(team, tmp_path):
    import tracklet

    a, b = team.serve(), team.serve()
    switch = _Switch(a.port)
    same, other = tmp_path / "same.bin", tmp_path / "other.bin"
    same.write_bytes(b"identical content " * 1000)
    other.write_bytes(b"different content " * 1000)
    gate = str(tmp_path / "go")
    steps = 300
    clients = {
        "on-a": spawn_python(_RUN, env=_client_env(a.url, tmp_path, "on-a", steps, str(same), ART="shared")),
        "on-b": spawn_python(_RUN, env=_client_env(b.url, tmp_path, "on-b", steps, str(same), ART="shared")),
        "moving": spawn_python(_RUN, env=_client_env(switch.url, tmp_path, "moving", steps, str(other), ART="shared",
                                                      GATE=gate, PAUSE="0.002", IMAGE="1")),
    }
    try:
        assert clients["moving"].stdout.readline().strip() == "half"
        api_a = tracklet.Api(base_url=a.url)

        def half_stored() -> bool:
            found = [r for r in api_a.runs("team") if r.name == "moving"]
            return bool(found) and len(list(found[0].scan_history(keys=["i"]))) == steps // 2

        wait_until(half_stored, timeout=30)  # the first half went through replica a
        switch.move(b.port)  # the balancer sends the run's next connections to replica b
        open(gate, "w").close()
        outs = {}
        for name, proc in clients.items():
            out, err = proc.communicate(timeout=90)
            assert proc.returncode == 0, (name, err)
            outs[name] = out
    finally:
        for proc in clients.values():
            if proc.poll() is None:
                proc.kill()
        switch.close()
    assert switch.served.get(b.port, 0) >= 1 and switch.served.get(a.port, 0) >= 1

    for api in (tracklet.Api(base_url=a.url), tracklet.Api(base_url=b.url)):  # both replicas answer the same
        runs = {r.name: r for r in api.runs("team")}
        assert sorted(runs) == ["moving", "on-a", "on-b"]
        for name, r in runs.items():
            assert r.state == "finished", name
            assert [row["i"] for row in r.scan_history(keys=["i"])] == list(range(steps)), name  # none lost, none doubled
            assert r.id == _out(outs[name], "id")
        versions = api.artifact_versions("team/shared")
        assert sorted(v.version for v in versions) == ["v0", "v1"]  # the identical content is one version
        assert len({v.digest for v in versions}) == 2
        assert _out(outs["on-a"], "version") == _out(outs["on-b"], "version")  # numbered once, whichever replica
        assert {_out(outs["on-a"], "version"), _out(outs["moving"], "version")} == {"v0", "v1"}
        assert runs["moving"].image("sample").to_numpy().shape == (4, 4, 3)
    art = tracklet.Api(base_url=b.url).artifact("team/shared:" + _out(outs["moving"], "version"))
    art.download(str(tmp_path / "moved"))
    assert (tmp_path / "moved" / "other.bin").read_bytes() == other.read_bytes()


def test_migrate_and_the_servers_refusals(pg_url, tmp_path):
    port = str(_free_port())
    refused = _cli("server", "--db", pg_url, "--port", port)
    assert refused.returncode == 1 and "no tracklet schema yet" in refused.stderr and "--migrate" in refused.stderr
    assert "postgres@" not in refused.stderr or "***" in refused.stderr or "password" not in refused.stderr
    done = _cli("server", "--db", pg_url, "--migrate")
    assert done.returncode == 0 and "-> schema version" in done.stdout, done.stderr
    again = _cli("server", "--db", pg_url, "--migrate")
    assert again.returncode == 0 and "schema version" in again.stdout
    from sqlalchemy import create_engine, text

    from tracklet.store.sql._schema import SCHEMA_VERSION

    engine = create_engine(pg_url)
    for version, said in ((SCHEMA_VERSION + 1, "newer than this tracklet"), (SCHEMA_VERSION - 1, "--migrate")):
        with engine.begin() as conn:
            conn.execute(text("UPDATE tracklet_meta SET value = :v WHERE key = 'schema_version'"), {"v": str(version)})
        refused = _cli("server", "--db", pg_url, "--port", port)
        assert refused.returncode == 1 and said in refused.stderr, refused.stderr
    engine.dispose()
    both = _cli("server", "--db", pg_url, "--dir", str(tmp_path), "--port", port)
    assert both.returncode != 0 and "not both" in both.stderr


def test_keys_live_in_the_database_for_every_replica(team):
    made = _cli("server", "key", "create", "--db", team.db, "--user", "ana", "--project", "*", "--access", "write")
    assert made.returncode == 0, made.stderr
    key = made.stdout.splitlines()[1].strip()
    listed = _cli("server", "key", "list", "--db", team.db)
    assert "ana" in listed.stdout and key not in listed.stdout
    a, b = team.serve(), team.serve()
    import requests

    for s in (a, b):  # started after the key was made: both require it, both accept it
        assert requests.get(s.url + "/api/v1/runs").status_code == 401
        assert requests.get(s.url + "/api/v1/runs", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert _cli("server", "key", "revoke", "--db", team.db, key).returncode == 0
    for s in (a, b):  # a revocation made anywhere holds on every replica at once
        assert requests.get(s.url + "/api/v1/runs", headers={"Authorization": f"Bearer {key}"}).status_code == 401
