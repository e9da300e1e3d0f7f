"""The blob store on S3, against a real S3-compatible server (moto) started on loopback by the test."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import urllib.request

import pytest
from blake3 import blake3
from helpers import wait_until

pytest.importorskip("s3fs", reason="needs the s3 extra: pip install 'tracklet[s3]'")
pytest.importorskip("moto.server", reason="needs moto[server] (the dev extra)")

from tracklet.artifacts.storage import Manifest, MissingBlobError, open_blob_store  # noqa: E402

MiB = 1 << 20
BUCKET = "tracklet-artifacts"


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
    """A moto S3 server in its own process on 127.0.0.1, for this module's tests."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: proc.poll() is not None or _up(url + "/moto-api/"), timeout=30)
        assert proc.poll() is None, "the moto server exited at start"
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def s3(s3_endpoint, monkeypatch, tmp_path):
    """An empty bucket (made with boto3) and the blob store at s3://bucket/<test prefix>."""
    import boto3

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    try:
        client.create_bucket(Bucket=BUCKET)
    except client.exceptions.BucketAlreadyOwnedByYou:
        pass
    prefix = tmp_path.name
    # parts of 5 MiB, S3's smallest: a 12 MiB file goes up in three
    store = open_blob_store(f"s3://{BUCKET}/{prefix}", root=str(tmp_path / "tl"), chunk_size=5 * MiB,
                            endpoint_url=s3_endpoint, skip_instance_cache=True)
    yield store, client, prefix
    store.close()
    client.close()


def _write(path, data: bytes) -> str:
    with open(path, "wb") as f:
        f.write(data)
    return str(path)


def test_put_get_exists_through_s3(s3, tmp_path):
    store, client, prefix = s3
    small = _write(tmp_path / "small.bin", b"hello s3")
    digest, size = store.put(small)
    assert (digest, size) == (blake3(b"hello s3").hexdigest(), 8)
    key = f"{prefix}/blake3/{digest[:2]}/{digest}"
    assert client.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"hello s3"
    assert store.exists(digest) and store.size(digest) == 8
    assert not store.exists("0" * 64)
    store.get(digest, str(tmp_path / "out" / "small.bin"))
    with open(tmp_path / "out" / "small.bin", "rb") as f:
        assert f.read() == b"hello s3"
    with pytest.raises(MissingBlobError, match="not in the blob store s3://"):
        store.get("0" * 64, str(tmp_path / "out" / "nothing.bin"))


def test_large_files_go_up_in_parts_and_come_back_verified(s3, tmp_path):
    store, client, prefix = s3
    data = os.urandom(12 * MiB + 3)
    big = _write(tmp_path / "big.bin", data)
    seen = []
    (entry,) = store.put_many([(big, "model/weights.bin")], progress=seen.append)
    assert entry.digest == blake3(data).hexdigest() and sum(seen) == len(data)
    head = client.head_object(Bucket=BUCKET, Key=f"{prefix}/blake3/{entry.digest[:2]}/{entry.digest}")
    assert head["ETag"].strip('"').endswith("-3")  # a multipart upload's ETag counts its parts
    manifest = Manifest([entry])
    report = manifest.download(str(tmp_path / "out"), store)
    assert report.written == ["model/weights.bin"]
    with open(tmp_path / "out" / "model" / "weights.bin", "rb") as f:
        assert f.read() == data
    assert store.cache.lookup(entry.digest) is not None  # a second download reads the local cache


def test_unchanged_files_are_not_uploaded_twice(s3, tmp_path):
    store, client, prefix = s3
    files = [_write(tmp_path / f"f{i}.bin", os.urandom(1000)) for i in range(3)]
    first = store.put_many(files)
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["Contents"]
    with open(files[0], "rb") as f:
        copy = _write(tmp_path / "copy.bin", f.read())
    again = store.put_many(files + [copy])
    assert again[:3] == first and again[3].digest == first[0].digest
    assert client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["Contents"] == listed


def test_s3_references_are_recorded_by_etag(s3, tmp_path, s3_endpoint):
    from tracklet.artifacts.storage import resolve_reference

    store, client, prefix = s3
    client.put_object(Bucket=BUCKET, Key=f"{prefix}/ext/a.txt", Body=b"aaa")
    client.put_object(Bucket=BUCKET, Key=f"{prefix}/ext/b/c.txt", Body=b"cc")
    entries = resolve_reference(f"s3://{BUCKET}/{prefix}/ext", name="ext", endpoint_url=s3_endpoint)
    assert [(e.path, e.size) for e in entries] == [("ext/a.txt", 3), ("ext/b/c.txt", 2)]
    assert entries[0].digest == hashlib.md5(b"aaa").hexdigest()  # a single-part upload's ETag is its MD5
    assert entries[0].ref == f"s3://{BUCKET}/{prefix}/ext/a.txt"


def test_a_run_logs_artifacts_into_s3_and_reads_them_back(s3, s3_endpoint, monkeypatch, tmp_path):
    import json

    import tracklet

    _, client, prefix = s3
    monkeypatch.setenv("TRACKLET_BLOB_URL", f"s3://{BUCKET}/{prefix}/team")
    monkeypatch.setenv("TRACKLET_BLOB_OPTIONS", json.dumps({"endpoint_url": s3_endpoint, "skip_instance_cache": True}))
    src = tmp_path / "ckpt"
    src.mkdir()
    weights = os.urandom(2 * MiB)
    _write(src / "weights.bin", weights)
    _write(src / "config.json", b'{"r": 16}')
    run = tracklet.init(project="s3proj")
    art = tracklet.Artifact("model", type="model")
    art.add_dir(str(src))
    run.log_artifact(art, aliases=["best"]).wait()
    run.finish()
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/team")["Contents"]]
    assert len(keys) == 2 and all("/blake3/" in k for k in keys)
    got = tracklet.Api().artifact("s3proj/model:best")
    root = got.download(str(tmp_path / "restored"))
    got.verify(root)
    with open(os.path.join(root, "weights.bin"), "rb") as f:
        assert f.read() == weights


def test_a_file_changed_under_its_upload_leaves_only_right_content(s3, s3_endpoint, tmp_path, monkeypatch):
    """A file that changes while it goes up: its key keeps a right copy that another process stored
    meanwhile, and holds nothing wrong when the changed bytes were what went up."""
    from tracklet import StoreError

    store, client, prefix = s3
    content = os.urandom(3000)
    good, mine = _write(tmp_path / "good.bin", content), _write(tmp_path / "mine.bin", content)
    theirs = open_blob_store(store.url, root=str(tmp_path / "tl-other"), endpoint_url=s3_endpoint,
                             skip_instance_cache=True)  # another process: its own filesystem object and caches
    digest = blake3(content).hexdigest()
    key = f"{prefix}/blake3/{digest[:2]}/{digest}"
    put_file = store.fs.put_file

    def others_store_it_meanwhile(lpath, rpath, **kwargs):
        put_file(lpath, rpath, **kwargs)
        theirs.put(good)  # finds our whole upload there, and records it
        with open(mine, "ab") as f:
            f.write(b"appended after it went up")

    monkeypatch.setattr(store.fs, "put_file", others_store_it_meanwhile)
    with pytest.raises(StoreError, match="changed while it was being stored"):
        store.put(mine)
    assert client.get_object(Bucket=BUCKET, Key=key)["Body"].read() == content  # kept: it is right

    client.delete_object(Bucket=BUCKET, Key=key)
    _write(tmp_path / "mine.bin", content)

    def changed_while_read(lpath, rpath, **kwargs):
        with open(mine, "r+b") as f:
            f.write(b"X")  # the bytes that go up are not the ones hashed
        put_file(lpath, rpath, **kwargs)

    monkeypatch.setattr(store.fs, "put_file", changed_while_read)
    with pytest.raises(StoreError, match="changed while it was being stored"):
        store.put(mine)
    assert "Contents" not in client.list_objects_v2(Bucket=BUCKET, Prefix=key)  # nothing wrong left under its key
