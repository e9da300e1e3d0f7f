"""The artifact storage engine on real files: digests, blob stores, downloads, the cache."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import time

import pytest
from blake3 import blake3
from helpers import run_python, spawn_python
from tracklet import StoreError, UsageError
from tracklet.artifacts.storage import (
    BlobCache,
    CorruptBlobError,
    DigestCache,
    DownloadConflictError,
    Manifest,
    ManifestEntry,
    MissingBlobError,
    TransferProgress,
    _progress,
    copy_and_hash,
    copy_then_hash,
    hash_file,
    hash_files,
    normalize_path,
    open_blob_store,
    parse_size,
    resolve_reference,
)

MiB = 1 << 20


def _write(path, data: bytes) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    return str(path)


def _read(path) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def _sha(data: bytes) -> str:
    return blake3(data).hexdigest()


def _settle() -> None:
    """Let files just written age past the digest cache's racy window, so it may trust them."""
    time.sleep(0.1)


@pytest.fixture
def tree(tmp_path):
    """A folder of six files: sizes around the 1 MiB read chunk, and two files with equal content."""
    src = tmp_path / "src"
    sizes = {"empty": 0, "one": 1, "below": MiB - 1, "exact": MiB, "above": MiB + 1, "big": 3 * MiB + 7}
    files = {name: _write(src / "d" / f"{name}.bin", os.urandom(size)) for name, size in sizes.items()}
    files["twin"] = _write(src / "twin.bin", _read(files["above"]))
    return files


def _blobs(store) -> list[str]:
    found = []
    for folder, _, names in os.walk(os.path.join(store.directory, "blake3")):
        found += [os.path.join(folder, n) for n in names]
    return found


# -- digests -------------------------------------------------------------------------------------


def test_digests_match_the_reference_blake3_at_every_chunk_boundary(tree, tmp_path):
    paths = list(tree.values())
    expected = [_sha(_read(p)) for p in paths]
    assert [hash_file(p) for p in paths] == expected
    assert hash_files(paths) == expected
    assert hash_files(paths, workers=1) == expected
    seen = []
    assert hash_files(paths, progress=seen.append) == expected
    assert sum(seen) == sum(os.path.getsize(p) for p in paths)
    digest, size = copy_and_hash(tree["big"], str(tmp_path / "copy"))
    assert (digest, size) == (expected[-2], 3 * MiB + 7)
    assert _read(tmp_path / "copy") == _read(tree["big"])
    before = sum(seen)
    digest, size = copy_then_hash(tree["big"], str(tmp_path / "copy2"), progress=seen.append, mode=0o444)
    assert (digest, size) == (expected[-2], 3 * MiB + 7)
    assert sum(seen) - before == size  # half of each byte when copied, half when hashed: exactly the size
    assert _read(tmp_path / "copy2") == _read(tree["big"])
    assert os.stat(tmp_path / "copy2").st_mode & 0o222 == 0  # created read-only


def test_copy_then_hash_maps_the_copy_in_slices_and_handles_empty_files(tree, tmp_path, monkeypatch):
    from tracklet.artifacts.storage import _digest

    monkeypatch.setattr(_digest, "_MAP_STEP", MiB)  # the 3 MiB file takes four slices
    for name, path in tree.items():
        seen = []
        digest, size = copy_then_hash(path, str(tmp_path / f"{name}.copy"), progress=seen.append)
        assert (digest, size) == (_sha(_read(path)), os.path.getsize(path)), name
        assert sum(seen) == size, name
    legacy = "sha256:" + hashlib.sha256(_read(tree["big"])).hexdigest()
    assert copy_then_hash(tree["big"], str(tmp_path / "legacy.copy"), like=legacy) == (legacy, 3 * MiB + 7)


def test_copy_then_hash_falls_back_to_one_pass_without_copy_file_range(tree, tmp_path, monkeypatch):
    monkeypatch.delattr(os, "copy_file_range", raising=False)
    digest, size = copy_then_hash(tree["big"], str(tmp_path / "copy"))
    assert (digest, size) == (_sha(_read(tree["big"])), 3 * MiB + 7)
    assert _read(tmp_path / "copy") == _read(tree["big"])


def test_digest_cache_skips_unchanged_files_and_catches_changed_ones(tmp_path):
    path = _write(tmp_path / "f.bin", b"a" * 1000)
    _settle()
    cache = DigestCache(str(tmp_path / "digests.sqlite"))
    assert hash_files([path], cache=cache) == [_sha(b"a" * 1000)]
    cache.flush()
    assert cache.lookup(path) == _sha(b"a" * 1000)
    # same size, mtime put back: the ctime still moved, so the file is hashed again
    st = os.stat(path)
    _write(path, b"b" * 1000)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert cache.lookup(path) is None
    assert hash_files([path], cache=cache) == [_sha(b"b" * 1000)]


def test_digest_cache_distrusts_a_file_written_just_before_hashing(tmp_path):
    path = _write(tmp_path / "f.bin", b"fresh")
    cache = DigestCache(str(tmp_path / "digests.sqlite"))
    started = cache.clock()
    cache.record(path, _sha(b"fresh"), started)
    cache.flush()
    assert cache.lookup(path) is None  # racily clean: a rewrite in the same tick would look identical


# -- the local blob store ----------------------------------------------------------------------


def test_put_many_stores_each_content_once_and_names_entries(tree, tmp_path):
    store = open_blob_store(None, root=str(tmp_path / "tl"))
    assert store.directory == str(tmp_path / "tl" / "blobs")
    pairs = [(p, f"data/{n}.bin") for n, p in tree.items()]
    entries = store.put_many(pairs)
    assert [e.path for e in entries] == [n for _, n in pairs]
    for (path, _), entry in zip(pairs, entries):
        data = _read(path)
        assert (entry.digest, entry.size) == (_sha(data), len(data))
        assert store.exists(entry.digest) and store.size(entry.digest) == len(data)
        assert _read(store.path(entry.digest)) == data
    assert len(_blobs(store)) == len(tree) - 1  # the twin shares its blob
    assert store.put_many(pairs) == entries
    assert len(_blobs(store)) == len(tree) - 1
    assert os.listdir(os.path.join(store.directory, "tmp")) == []


def test_a_stored_blob_is_a_read_only_copy_independent_of_the_source(tmp_path):
    store = open_blob_store(None, root=str(tmp_path / "tl"))
    src = _write(tmp_path / "model.bin", b"weights-v1")
    digest, _ = store.put(src)
    blob = store.path(digest)
    assert os.stat(blob).st_ino != os.stat(src).st_ino
    assert not os.stat(blob).st_mode & 0o222
    with open(src, "r+b") as f:  # the user edits their file in place
        f.write(b"WEIGHTS")
    assert _read(blob) == b"weights-v1"
    assert store.put(src)[0] == _sha(b"WEIGHTS-v1")


def test_unchanged_files_are_not_read_again(tree, tmp_path, monkeypatch):
    store = open_blob_store(None, root=str(tmp_path / "tl"))
    _settle()
    first = store.put_many(list(tree.values()))
    from tracklet.artifacts.storage import _blobs as blobs_module

    def no_reading(*args, **kwargs):
        raise AssertionError("an unchanged file was read again")

    monkeypatch.setattr(blobs_module, "copy_then_hash", no_reading)
    fresh = open_blob_store(None, root=str(tmp_path / "tl"))  # a new process would see the same
    assert fresh.put_many(list(tree.values())) == first


def test_bytes_are_stored_and_read_back_verified(tmp_path):
    store = open_blob_store(None, root=str(tmp_path / "tl"))
    digest, size = store.put_bytes(b'{"rows": []}')
    assert (digest, size) == (_sha(b'{"rows": []}'), 12)
    with store.open(digest) as f:
        assert f.read() == b'{"rows": []}'
    assert store.local_path(digest) == store.path(digest)
    store.delete(digest)
    assert not store.exists(digest) and store.local_path(digest) is None


def test_bad_sources_raise_usage_errors_naming_the_fix(tmp_path):
    store = open_blob_store(None, root=str(tmp_path / "tl"))
    good = _write(tmp_path / "ok.bin", b"ok")
    with pytest.raises(UsageError, match="no such file; check the path"):
        store.put_many([good, str(tmp_path / "missing.bin")])
    with pytest.raises(UsageError, match="is a folder, not a file; add a folder with add_dir"):
        store.put(str(tmp_path))
    with pytest.raises(UsageError, match="must stay inside the artifact"):
        store.put_many([(good, "../escape.bin")])
    assert _blobs(store) == []  # checked before anything is stored


def test_paths_are_normalised_and_escapes_refused():
    assert normalize_path("./a//b/./c.txt") == "a/b/c.txt"
    assert normalize_path("a\\b.txt") == "a/b.txt"
    for bad in ("", "/etc/passwd", "a/../../b", "..", "C:\\x"):
        with pytest.raises(UsageError):
            normalize_path(bad)


_KILLED_WRITER = """
import os, sys, time
from tracklet.artifacts.storage import open_blob_store
store = open_blob_store(None, root=sys.argv[1] if len(sys.argv) > 1 else {root!r})
def slow(n):
    print("chunk", flush=True)
    time.sleep(0.2)
store.put({path!r}, progress=slow)
print("done", flush=True)
"""


def test_a_writer_killed_mid_put_leaves_no_blob_and_the_next_put_completes(tmp_path):
    root = str(tmp_path / "tl")
    src = _write(tmp_path / "big.bin", os.urandom(8 * MiB))
    digest = _sha(_read(src))
    child = spawn_python(_KILLED_WRITER.format(root=root, path=src))
    assert child.stdout.readline().strip() == "chunk"  # one MiB written, seven to go
    child.kill()
    child.communicate(timeout=10)
    store = open_blob_store(None, root=root)
    assert not store.exists(digest)
    leftovers = os.listdir(os.path.join(store.directory, "tmp"))
    assert len(leftovers) == 1 and str(child.pid) in leftovers[0]
    assert store.put_many([src])[0].digest == digest
    assert _read(store.path(digest)) == _read(src)
    assert os.listdir(os.path.join(store.directory, "tmp")) == []  # the dead writer's temporary is gone


# -- manifests -----------------------------------------------------------------------------------


def test_manifest_digest_depends_on_content_only(tree, tmp_path):
    store = open_blob_store(None, root=str(tmp_path / "tl"))
    pairs = [(p, f"{n}.bin") for n, p in tree.items()]
    a = Manifest(store.put_many(pairs))
    b = Manifest(reversed(store.put_many(list(reversed(pairs)))))
    assert a.digest == b.digest and a == b
    assert Manifest.loads(a.dumps()).digest == a.digest
    assert a.to_json()["entries"]["one.bin"] == {"digest": a["one.bin"].digest, "size": 1}
    b.remove("one.bin")
    assert b.digest != a.digest and len(b) == len(a) - 1
    with pytest.raises(UsageError, match="already has an entry"):
        a.add(ManifestEntry("big.bin", "0" * 64, 1), replace=False)


# -- downloads -----------------------------------------------------------------------------------


@pytest.fixture
def logged(tree, tmp_path):
    store = open_blob_store(None, root=str(tmp_path / "tl"))
    manifest = Manifest(store.put_many([(p, f"nested/{n}.bin") for n, p in tree.items()]))
    return store, manifest


def test_download_writes_verified_files_then_skips_them(logged, tree, tmp_path):
    store, manifest = logged
    out = tmp_path / "out"
    seen = []
    report = manifest.download(str(out), store, progress=seen.append)
    assert len(report.written) == len(manifest) and report.skipped == []
    assert sum(seen) == manifest.size
    for name, path in tree.items():
        assert _read(out / "nested" / f"{name}.bin") == _read(path)
    assert manifest.verify(str(out)) == []
    again = manifest.download(str(out), store)
    assert again.written == [] and len(again.skipped) == len(manifest)
    os.unlink(out / "nested" / "one.bin")
    assert manifest.verify(str(out)) == ["nested/one.bin"]
    assert manifest.download(str(out), store).written == ["nested/one.bin"]


def test_download_refuses_conflicting_files_and_names_the_fix(logged, tmp_path):
    store, manifest = logged
    out = tmp_path / "out"
    manifest.download(str(out), store)
    with open(out / "nested" / "big.bin", "r+b") as f:
        f.write(b"changed")  # same size, other content
    _write(out / "nested" / "unrelated.txt", b"mine")
    before = _read(out / "nested" / "big.bin")
    with pytest.raises(DownloadConflictError, match=r"nested/big\.bin; pass overwrite=True .*--overwrite") as err:
        manifest.download(str(out), store)
    assert err.value.paths == ["nested/big.bin"]
    assert _read(out / "nested" / "big.bin") == before  # nothing was written
    report = manifest.download(str(out), store, overwrite=True)
    assert report.written == ["nested/big.bin"]
    assert manifest.verify(str(out)) == []
    assert _read(out / "nested" / "unrelated.txt") == b"mine"  # files outside the manifest stay


def test_download_refuses_a_folder_where_a_file_goes_even_with_overwrite(logged, tmp_path):
    store, manifest = logged
    out = tmp_path / "out"
    os.makedirs(out / "nested" / "one.bin")
    with pytest.raises(DownloadConflictError, match=r"nested/one\.bin \(a folder is there\).*move those"):
        manifest.download(str(out), store, overwrite=True)


def test_a_corrupt_blob_is_caught_and_leaves_no_file(tmp_path):
    store = open_blob_store(None, root=str(tmp_path / "tl"))
    digest, _ = store.put(_write(tmp_path / "f.bin", b"good content"))
    blob = store.path(digest)
    os.chmod(blob, 0o644)
    _write(blob, b"bad! content")
    with pytest.raises(CorruptBlobError, match="corrupt"):
        store.get(digest, str(tmp_path / "out" / "f.bin"))
    assert os.listdir(tmp_path / "out") == []
    with pytest.raises(CorruptBlobError):
        with store.open(digest) as f:
            f.read()
    with pytest.raises(MissingBlobError, match="not in the blob store"):
        store.get("f" * 64, str(tmp_path / "out" / "g.bin"))


def test_a_killed_downloads_temporary_is_removed_by_the_next_download(logged, tmp_path):
    store, manifest = logged
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out = tmp_path / "out" / "nested"
    stale = _write(out / f".one.bin.{dead.pid}-abcd1234.tracklet-part", b"half")
    manifest.download(str(tmp_path / "out"), store)
    assert not os.path.exists(stale)
    assert sorted(os.listdir(out)) == sorted(e.path.split("/")[1] for e in manifest)


# -- the capped cache ----------------------------------------------------------------------------


def _cache_blob(cache: BlobCache, data: bytes, age: float) -> str:
    tmp = cache.temp_path()
    _write(tmp, data)
    path = cache.add(tmp, _sha(data))
    os.utime(path, (os.stat(path).st_atime - age, os.stat(path).st_mtime - age))
    return _sha(data)


def test_cache_evicts_least_recently_used_first(tmp_path):
    cache = BlobCache(str(tmp_path / "cache"), max_bytes=3000)
    old, middle, new = (_cache_blob(cache, os.urandom(1000), age) for age in (300, 200, 100))
    assert cache.size() == 3000 and cache.enforce() == 0
    assert cache.lookup(old) is not None  # used now: the least recently used is now `middle`
    _cache_blob(cache, os.urandom(1000), 0)
    assert cache.enforce() == 1000
    assert cache.lookup(middle) is None
    assert all(cache.lookup(d) for d in (old, new))
    assert cache.prune(0) == 3000 and cache.size() == 0


def test_cache_size_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TRACKLET_CACHE_SIZE", "2MiB")
    assert BlobCache(str(tmp_path)).max_bytes == 2 * MiB
    monkeypatch.delenv("TRACKLET_CACHE_SIZE")
    assert BlobCache(str(tmp_path)).max_bytes == 10 * 1024**3
    assert parse_size("1.5 GB") == 1_500_000_000 and parse_size("0") == 0
    with pytest.raises(UsageError, match="10GiB"):
        parse_size("lots")


def test_a_remote_store_downloads_through_the_capped_cache(tmp_path):
    store = open_blob_store("memory://tracklet-test/blobs", root=str(tmp_path / "tl"), cache_bytes=3 * MiB)
    files = [_write(tmp_path / f"f{i}.bin", os.urandom(MiB)) for i in range(5)]
    manifest = Manifest(store.put_many(files))
    assert all(store.exists(e.digest) for e in manifest)
    assert store.put_many(files) == list(manifest)  # already there: nothing uploaded twice
    report = manifest.download(str(tmp_path / "out"), store)
    assert len(report.written) == 5 and manifest.verify(str(tmp_path / "out")) == []
    assert store.cache.size() <= 3 * MiB
    with store.open(manifest["f0.bin"].digest) as f:
        assert f.read() == _read(files[0])
    store.fs.rm(store.base, recursive=True)


# -- references and errors -----------------------------------------------------------------------


def test_file_references_are_recorded_not_copied_and_checked_on_download(tmp_path):
    store = open_blob_store(None, root=str(tmp_path / "tl"))
    data = _write(tmp_path / "ext" / "a" / "x.csv", b"1,2,3\n")
    entries = resolve_reference("file://" + str(tmp_path / "ext"), name="ext")
    assert [(e.path, e.digest, e.size) for e in entries] == [("ext/a/x.csv", _sha(b"1,2,3\n"), 6)]
    assert _blobs(store) == []
    manifest = Manifest(entries)
    report = manifest.download(str(tmp_path / "out"), store)  # references are not fetched unless asked
    assert report.references == ["ext/a/x.csv"] and not (tmp_path / "out" / "ext").exists()
    with pytest.raises(UsageError, match="not under an allowed root.*allow_roots="):
        manifest.download(str(tmp_path / "out"), store, references=True)
    manifest.download(str(tmp_path / "out"), store, references=["file"], allow_roots=[str(tmp_path / "ext")])
    assert _read(tmp_path / "out" / "ext" / "a" / "x.csv") == b"1,2,3\n"
    _write(data, b"4,5,6\n")
    with pytest.raises(CorruptBlobError, match="changed since the artifact was logged"):
        manifest.download(str(tmp_path / "out2"), store, references=True, allow_roots=[str(tmp_path)])
    assert not (tmp_path / "out2" / "ext" / "a" / "x.csv").exists()
    unchecked = resolve_reference("file://" + data, checksum=False)
    assert unchecked[0].digest == "file://" + data and unchecked[0].path == "x.csv"


def test_unknown_schemes_name_the_supported_ones(tmp_path):
    with pytest.raises(UsageError, match=r"unknown scheme ftp://; use one of file://, s3://"):
        resolve_reference("ftp://host/file")
    with pytest.raises(UsageError, match="unknown URL scheme nosuch://"):
        open_blob_store("nosuch://bucket", root=str(tmp_path))


# -- progress and imports ------------------------------------------------------------------------


def test_progress_is_quiet_off_a_terminal_and_draws_when_forced(monkeypatch):
    quiet = io.StringIO()
    with TransferProgress(10 * MiB, "Uploading", stream=quiet) as bar:
        bar(10 * MiB)
    assert quiet.getvalue() == ""
    monkeypatch.setattr(_progress, "_DELAY_S", 0.0)
    loud = io.StringIO()
    seen = []
    with TransferProgress(10 * MiB, "Uploading", stream=loud, force=True, callback=seen.append) as bar:
        bar(5 * MiB)
        bar(5 * MiB)
    assert "Uploading" in loud.getvalue() and "10.0 MB/10.0 MB" in loud.getvalue() and "left" in loud.getvalue()
    assert seen == [5 * MiB, 5 * MiB]


def test_import_tracklet_does_not_load_the_engine_nor_fsspec():
    out = run_python(
        "import sys, tracklet; print('tracklet.artifacts.storage' in sys.modules); "
        "import tracklet.artifacts.storage; print(any(m.split('.')[0] in ('fsspec', 's3fs', 'boto3') for m in sys.modules))"
    )
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_versions_stored_with_sha256_still_download_and_verify(tmp_path):
    """Stores written before BLAKE3 hold SHA-256 blobs under sha256/: they stay readable and checked."""
    data = b"logged by an older tracklet\n" * 100
    hexdigest = hashlib.sha256(data).hexdigest()
    store = open_blob_store(None, root=str(tmp_path / "store"))
    _write(os.path.join(store.directory, "sha256", hexdigest[:2], hexdigest), data)
    manifest = Manifest.from_json({"version": 1, "algorithm": "sha256", "entries": {"notes.txt": {"digest": hexdigest, "size": len(data)}}})
    assert manifest["notes.txt"].digest == "sha256:" + hexdigest and manifest["notes.txt"].has_content_digest
    out = tmp_path / "out"
    report = manifest.download(str(out), store)
    assert report.written == ["notes.txt"] and (out / "notes.txt").read_bytes() == data
    assert manifest.download(str(out), store).skipped == ["notes.txt"]  # checked with SHA-256, found right
    assert manifest.verify(str(out)) == []
    (out / "notes.txt").write_bytes(b"changed")
    assert manifest.verify(str(out)) == ["notes.txt"]
    with store.open("sha256:" + hexdigest) as f:
        assert f.read() == data


def test_parallel_map_keeps_order_and_raises_the_first_error():
    from tracklet.artifacts.storage._digest import parallel_map

    assert parallel_map(lambda x: x * x, list(range(50)), 4) == [x * x for x in range(50)]

    def boom(x):
        if x == 7:
            raise ValueError("seven")
        return x

    with pytest.raises(ValueError, match="seven"):
        parallel_map(boom, list(range(20)), 3)


def test_a_new_stores_first_put_imports_no_sqlite(tmp_path):
    """Nothing can be known yet, so the digest cache is neither opened nor imported until it is written."""
    src = _write(tmp_path / "a.bin", os.urandom(1000))
    out = subprocess.run(
        [sys.executable, "-c", (
            "import sys\n"
            "from tracklet.artifacts.storage import open_blob_store\n"
            f"store = open_blob_store(None, root={str(tmp_path / 'tl')!r})\n"
            f"store.put_many([{src!r}], flush=False)\n"
            "before = 'sqlite3' in sys.modules\n"
            "store.digest_cache.flush()\n"
            "print(before, 'sqlite3' in sys.modules)\n"
        )],
        capture_output=True, text=True,
    )
    assert out.stdout.split() == ["False", "True"], out.stderr


def test_relogging_a_folder_reads_its_snapshot_and_imports_no_sqlite(tmp_path):
    """The second log of an unchanged folder, in a new process, finds every digest in one small file."""
    src = tmp_path / "src"
    for i in range(5):
        _write(src / f"f{i}.bin", os.urandom(2000))
    _settle()
    code = (
        "import sys\n"
        "from tracklet.artifacts.storage import _blobs, open_blob_store\n"
        f"store = open_blob_store(None, root={str(tmp_path / 'tl')!r})\n"
        "if sys.argv[1:] == ['again']:\n"
        "    def no_reading(*args, **kwargs):\n"
        "        raise AssertionError('an unchanged file was read again')\n"
        "    _blobs.copy_then_hash = no_reading\n"
        f"entries = store.put_many(sorted(str(p) for p in __import__('pathlib').Path({str(src)!r}).iterdir()), flush=False)\n"
        "print('sqlite3' in sys.modules, len(entries))\n"
        "store.digest_cache.flush()\n"
    )
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert first.stdout.split() == ["False", "5"], first.stderr
    again = subprocess.run([sys.executable, "-c", code, "again"], capture_output=True, text=True)
    assert again.stdout.split() == ["False", "5"], again.stderr


def _stored_folder(tmp_path, files: int):
    """``files`` settled random files in one folder, stored once: (paths, store, entries)."""
    paths = [_write(tmp_path / "src" / f"f{i}.bin", os.urandom(2000)) for i in range(files)]
    _settle()
    store = open_blob_store(None, root=str(tmp_path / "tl"))
    return paths, store, store.put_many(paths)


def test_a_snapshot_vouches_only_for_files_as_they_were(tmp_path):
    paths, store, first = _stored_folder(tmp_path, 3)
    _write(paths[1], b"changed")  # same name, new content
    os.remove(paths[2])
    _write(paths[2], _read(paths[0]))  # a new file (new inode) under an old name
    fresh = open_blob_store(None, root=str(tmp_path / "tl"))
    again = fresh.put_many(paths)
    assert again[0] == first[0]
    assert again[1].digest == _sha(b"changed") and again[2].digest == first[0].digest
    snapshots = os.listdir(fresh.digest_cache.folders)
    assert len(snapshots) == 1  # one folder, one snapshot, rewritten whole


def test_a_snapshot_of_another_folder_under_the_same_key_is_ignored(tmp_path, monkeypatch):
    from tracklet.artifacts.storage._statcache import DigestCache

    a, b = tmp_path / "a", tmp_path / "b"
    pa = _write(a / "x.bin", b"in a")
    pb = _write(b / "x.bin", b"in b")
    _settle()
    cache = DigestCache(str(tmp_path / "digests.sqlite"))
    monkeypatch.setattr(DigestCache, "_snapshot_path", lambda self, folder: os.path.join(self.folders, "same.json"))
    cache.record(pa, _sha(b"in a"), cache.clock() + 10**9)
    cache.flush()
    cache.prefetch([(pb, os.stat(pb))])
    assert cache.lookup(pb) is None  # the snapshot names folder a; b's file is not vouched for
    cache.prefetch([(pa, os.stat(pa))])
    assert cache.lookup(pa) == _sha(b"in a")


def test_snapshots_are_capped_least_recently_written_first(tmp_path, monkeypatch):
    from tracklet.artifacts.storage import _statcache

    monkeypatch.setattr(_statcache, "_MAX_FOLDERS", 4)
    cache = _statcache.DigestCache(str(tmp_path / "digests.sqlite"))
    for i in range(6):
        path = _write(tmp_path / f"d{i}" / "x.bin", b"x")
        cache.record(path, _sha(b"x"), cache.clock() + 10**9)
        cache.flush()
        time.sleep(0.01)  # distinct mtimes
    left = os.listdir(cache.folders)
    assert 2 <= len(left) <= 4
    newest = cache._snapshot_path(str(tmp_path / "d5"))
    assert os.path.basename(newest) in left


def test_a_damaged_snapshot_vouches_for_nothing_and_breaks_nothing(tmp_path):
    import json

    paths, store, first = _stored_folder(tmp_path, 4)
    (snapshot,) = os.listdir(store.digest_cache.folders)
    snapshot = os.path.join(store.digest_cache.folders, snapshot)
    with open(snapshot) as f:
        data = json.load(f)
    rows = data["files"]
    rows["f0.bin"][5] = 12345  # a digest that is no string
    rows["f1.bin"] = rows["f1.bin"][:5]  # a row cut short
    rows["f2.bin"][5] = "../" * 21 + "x"  # 64 characters, but no digest
    with open(snapshot, "w") as f:
        json.dump(data, f)
    for name in os.listdir(tmp_path / "tl" / "cache"):
        if name.startswith("digests-blake3.sqlite"):
            os.remove(tmp_path / "tl" / "cache" / name)  # the table would answer for what the snapshot cannot
    fresh = open_blob_store(None, root=str(tmp_path / "tl"))
    found = fresh.digest_cache.lookup_many([(p, os.stat(p)) for p in paths])
    assert found[:2] == [None, None] and found[3] == first[3].digest
    fresh = open_blob_store(None, root=str(tmp_path / "tl"))
    assert fresh.put_many(paths) == first  # damaged rows only cost a re-read; no path is made of a row's digest


def test_a_file_changed_while_uploading_never_removes_the_blob_another_process_stored(tmp_path, monkeypatch):
    """Two processes store the same content; one's file changes under its upload. That upload is
    dropped, and the blob the other stored at the same moment stays, whole."""
    url = "memory://tracklet-race/blobs"
    good = _write(tmp_path / "a" / "x.bin", os.urandom(3000))
    mine = _write(tmp_path / "b" / "x.bin", _read(good))
    ours = open_blob_store(url, root=str(tmp_path / "tl1"))
    theirs = open_blob_store(url, root=str(tmp_path / "tl2"))
    put_file, raced = ours.fs.put_file, []

    def racing_put(lpath, rpath, **kwargs):
        put_file(lpath, rpath, **kwargs)
        if lpath == mine and not raced:
            raced.append(True)
            theirs.put(good)  # the other process stores the same content meanwhile
            with open(mine, "ab") as f:
                f.write(b"appended while uploading")

    monkeypatch.setattr(ours.fs, "put_file", racing_put)  # fsspec shares one filesystem object: theirs too
    with pytest.raises(StoreError, match="changed while it was being stored"):
        ours.put(mine)
    digest = _sha(_read(good))
    with theirs.open(digest) as f:
        assert f.read() == _read(good)
    assert not [p for p in theirs.fs.find(theirs.base) if "/tmp/" in p]  # the dropped upload left nothing
    theirs.fs.rm(theirs.base, recursive=True)
