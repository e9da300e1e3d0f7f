"""A store is untrusted input: what a download may read and write, whatever its manifest says."""

import json
import os
import sqlite3

import pytest

import tracklet
from tracklet.artifacts.storage import DownloadConflictError


@pytest.fixture
def secret(tmp_path):
    path = tmp_path / "home" / ".ssh" / "id_ed25519"
    path.parent.mkdir(parents=True)
    path.write_text("PRIVATE KEY")
    return path


def _logged(tmp_path, files=None):
    """A committed version of p/data with ``files`` (name -> text)."""
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    for name, text in (files or {"a.txt": "alpha"}).items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_text(text)
    run = tracklet.init(project="p")
    art = tracklet.Artifact("data", type="dataset")
    art.add_dir(str(src))
    run.log_artifact(art).wait()
    run.finish()
    return art


def _rewrite_manifest(store, version_id, change):
    db = sqlite3.connect(store / "tracklet.db")
    (text,) = db.execute("SELECT manifest FROM artifact_versions WHERE id = ?", (version_id,)).fetchone()
    manifest = json.loads(text)
    change(manifest["entries"])
    db.execute("UPDATE artifact_versions SET manifest = ? WHERE id = ?", (json.dumps(manifest), version_id))
    db.commit()
    db.close()


def test_a_crafted_file_reference_without_digest_is_never_copied_unasked_nor_from_outside_allowed_roots(tmp_path, tracklet_env, secret):
    art = _logged(tmp_path)
    uri = f"file://{secret}"
    _rewrite_manifest(tracklet_env, art.id, lambda e: e.update({"notes.txt": {"digest": uri, "size": None, "ref": uri}}))
    got = tracklet.Api().artifact("p/data:latest")
    out = tmp_path / "out"
    with pytest.warns(tracklet.TrackletWarning, match="not downloaded"):
        got.download(str(out))
    assert sorted(os.listdir(out)) == ["a.txt"]  # the reference was not copied
    for asked in ({"references": True}, {"references": ["file"], "allow_roots": [str(tmp_path / "src")]}):
        with pytest.raises(tracklet.UsageError, match="not under .*allow_roots="):
            got.download(str(tmp_path / "out2"), **asked)
        assert not (tmp_path / "out2").exists() or os.listdir(tmp_path / "out2") == []  # nothing written
    with pytest.raises(tracklet.UsageError, match="not under"):
        got.get_entry("notes.txt").download(str(tmp_path / "out3"))
    # a link inside an allowed root that leads out of it does not get around the rule
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    os.symlink(secret, allowed / "innocent.txt")
    uri = f"file://{allowed / 'innocent.txt'}"
    _rewrite_manifest(tracklet_env, art.id, lambda e: e.update({"notes.txt": {"digest": uri, "size": None, "ref": uri}}))
    with pytest.raises(tracklet.UsageError, match="not under"):
        tracklet.Api().artifact("p/data:latest").download(str(tmp_path / "out4"), references=True, allow_roots=[str(allowed)])
    # explicitly trusted: read, as asked
    root = tracklet.Api().artifact("p/data:latest").download(str(tmp_path / "out5"), references=True, allow_roots=[str(secret.parent)])
    assert (tmp_path / "out5" / "notes.txt").read_text() == "PRIVATE KEY" and root == str(tmp_path / "out5")


def test_a_file_reference_with_a_digest_is_checked_even_under_an_allowed_root(tmp_path, tracklet_env, secret, monkeypatch):
    run = tracklet.init(project="p")
    art = tracklet.Artifact("refs", type="dataset")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "train.jsonl").write_text("rows\n")
    art.add_reference(f"file://{shared / 'train.jsonl'}")
    run.log_artifact(art).wait()
    run.finish()
    monkeypatch.setenv("TRACKLET_REFERENCE_ROOTS", str(shared))  # the setting stands for allow_roots
    got = tracklet.Api().artifact("p/refs:latest")
    got.download(str(tmp_path / "ok"), references=True)
    assert (tmp_path / "ok" / "train.jsonl").read_text() == "rows\n"
    (shared / "train.jsonl").write_text("swapped\n")
    with pytest.raises(tracklet.StoreError, match="changed since the artifact was logged"):
        got.download(str(tmp_path / "changed"), references=True)
    assert not (tmp_path / "changed" / "train.jsonl").exists()
    with pytest.raises(tracklet.UsageError, match="unknown schemes"):
        got.download(str(tmp_path / "x"), references=["ftp"])


@pytest.mark.parametrize("bad", ["../escape.txt", "/tmp/abs.txt", "sub/../../escape.txt", "a\u0000b"])
def test_a_manifest_path_that_could_leave_the_folder_is_refused_before_anything_is_written(tmp_path, tracklet_env, bad):
    art = _logged(tmp_path)

    def craft(entries):
        entries[bad] = dict(entries["a.txt"])

    _rewrite_manifest(tracklet_env, art.id, craft)
    with pytest.raises(tracklet.UsageError, match="invalid manifest.*damaged or was crafted"):
        tracklet.Api().artifact("p/data:latest")
    assert not (tmp_path / "escape.txt").exists()


def test_a_manifest_naming_one_path_as_file_and_folder_is_refused_before_anything_is_written(tmp_path, tracklet_env):
    art = _logged(tmp_path)
    _rewrite_manifest(tracklet_env, art.id, lambda e: e.update({"a.txt/inner": dict(e["a.txt"])}))
    got = tracklet.Api().artifact("p/data:latest")
    with pytest.raises(tracklet.UsageError, match="'a.txt' both as a file and as a folder"):
        got.download(str(tmp_path / "out"))
    assert not (tmp_path / "out").exists() or os.listdir(tmp_path / "out") == []


def test_download_never_writes_through_a_linked_folder_inside_the_root(tmp_path):
    _logged(tmp_path, {"sub/x.txt": "artifact content", "top.txt": "top"})
    got = tracklet.Api().artifact("p/data:latest")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(elsewhere, out / "sub")
    for overwrite in (False, True):
        with pytest.raises(DownloadConflictError, match="sub.*symbolic link"):
            got.download(str(out), overwrite=overwrite)
    assert os.listdir(elsewhere) == [] and sorted(os.listdir(out)) == ["sub"]


def test_a_folder_swapped_for_a_link_during_the_download_is_not_followed(tmp_path, monkeypatch):
    from tracklet.artifacts.storage import _download

    _logged(tmp_path, {"sub/x.txt": "artifact content"})
    got = tracklet.Api().artifact("p/data:latest")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    planned = _download._plan

    def plan_then_swap(*args, **kwargs):
        plan = planned(*args, **kwargs)
        os.rmdir(out / "sub")
        os.symlink(elsewhere, out / "sub")  # after the check, before the write
        return plan

    monkeypatch.setattr(_download, "_plan", plan_then_swap)
    with pytest.raises(DownloadConflictError, match="not a real folder"):
        got.download(str(out))
    assert os.listdir(elsewhere) == []


def test_a_link_where_a_file_goes_is_replaced_never_followed(tmp_path):
    _logged(tmp_path, {"a.txt": "alpha"})
    got = tracklet.Api().artifact("p/data:latest")
    victim = tmp_path / "victim.txt"
    victim.write_text("alpha")  # even with the right content, a link is not the artifact's file
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(victim, out / "a.txt")
    with pytest.raises(DownloadConflictError, match="overwrite=True"):
        got.download(str(out))
    with pytest.raises(ValueError, match="a.txt"):
        got.verify(str(out))
    got.download(str(out), overwrite=True)
    assert not os.path.islink(out / "a.txt") and (out / "a.txt").read_text() == "alpha"
    assert victim.read_text() == "alpha"
    got.verify(str(out))


def test_cli_get_fetches_references_only_when_asked_and_put_refuses_outside_links(tmp_path, capsys):
    from tracklet.cli import main

    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "big.bin").write_text("big")
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("a")
    os.symlink(shared / "big.bin", src / "big.bin")
    assert main(["artifact", "put", str(src), "--name", "d", "-p", "cli"]) == 1
    assert "outside_links='follow'" in capsys.readouterr().err
    assert main(["artifact", "put", str(src), "--name", "d", "-p", "cli", "--outside-links", "skip"]) == 0
    run = tracklet.init(project="cli")
    art = tracklet.Artifact("refs", type="dataset")
    art.add_reference(f"file://{shared / 'big.bin'}")
    run.log_artifact(art)
    run.finish()
    with pytest.warns(tracklet.TrackletWarning, match="not downloaded"):
        assert main(["artifact", "get", "cli/refs:latest", "--root", str(tmp_path / "plain")]) == 0
    assert os.listdir(tmp_path / "plain") == []
    assert main(["artifact", "get", "cli/refs:latest", "--root", str(tmp_path / "got"), "--references", "file",
                 "--allow-root", str(shared)]) == 0
    assert (tmp_path / "got" / "big.bin").read_text() == "big"
    assert [e.path for e in tracklet.Api().artifact("cli/d:latest").files()] == ["a.txt"]
