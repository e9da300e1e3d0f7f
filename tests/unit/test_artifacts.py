"""Artifacts end to end in one process: versions, aliases, lineage, the registry, downloads."""

import os
import time

import pytest

import tracklet
from tracklet.artifacts.storage import DownloadConflictError


@pytest.fixture
def files(tmp_path):
    root = tmp_path / "data"
    (root / "sub").mkdir(parents=True)
    (root / "train.jsonl").write_text('{"x": 1}\n' * 100)
    (root / "val.jsonl").write_text('{"x": 2}\n' * 10)
    (root / "sub" / "weights.bin").write_bytes(os.urandom(50_000))
    return root


def log(run, name, path, type="dataset", aliases=None, **kw):
    art = tracklet.Artifact(name, type=type, **kw)
    art.add_dir(str(path)) if os.path.isdir(path) else art.add_file(str(path))
    return run.log_artifact(art, aliases=aliases).wait()


def test_versions_aliases_and_dedup(files):
    run = tracklet.init(project="p")
    v0 = log(run, "data", files, aliases=["best"], metadata={"rows": 110})
    assert (v0.version, v0.aliases, v0.metadata) == ("v0", ["best", "latest"], {"rows": 110})
    same = log(run, "data", files)
    assert same.version == "v0" and same.digest == v0.digest  # identical content: no new version
    (files / "val.jsonl").write_text("changed\n")
    v1 = log(run, "data", files, aliases=["best"])
    assert v1.version == "v1" and v1.digest != v0.digest
    run.finish()
    api = tracklet.Api()
    assert api.artifact("p/data:latest").version == "v1"
    assert api.artifact("p/data:best").version == "v1"  # an alias names one version: it moved
    assert api.artifact("p/data:v0").aliases == []
    assert [a.version for a in api.artifact_versions("p/data")] == ["v0", "v1"]


def test_a_changed_file_is_the_only_new_blob(files, tracklet_env):
    run = tracklet.init(project="p")
    log(run, "data", files)
    blobs = tracklet_env / "blobs"
    count = lambda: sum(len(f) for _, _, f in os.walk(blobs) if "tmp" not in _)  # noqa: E731
    before = count()
    (files / "val.jsonl").write_text("one change\n")
    log(run, "data", files)
    assert count() == before + 1
    run.finish()


def test_building_errors_name_the_fix(files, tmp_path):
    art = tracklet.Artifact("a", type="dataset")
    with pytest.raises(tracklet.UsageError, match="no such file"):
        art.add_file(str(tmp_path / "missing.txt"))
    with pytest.raises(tracklet.UsageError, match="use add_dir"):
        art.add_file(str(files))
    with pytest.raises(tracklet.UsageError, match="use add_file"):
        art.add_dir(str(files / "val.jsonl"))
    with pytest.raises(tracklet.UsageError, match="supported scheme"):
        art.add_reference("ftp://host/x")
    with pytest.raises(tracklet.UsageError, match="not allowed"):
        tracklet.Artifact("bad/name", type="dataset")
    with pytest.raises(tracklet.UsageError, match="names a version"):
        tracklet.init(project="p").log_artifact(art, aliases=["v3"])
    art.add_file(str(files / "val.jsonl"))
    with pytest.raises(tracklet.UsageError, match="overwrite=True"):
        art.add_file(str(files / "val.jsonl"))
    art.remove("val.jsonl")
    with pytest.raises(tracklet.UsageError, match="no files"):
        tracklet.run.log_artifact(art)


def test_new_file_references_and_entries(files, tmp_path):
    run = tracklet.init(project="p")
    art = tracklet.Artifact("bundle", type="eval")
    with art.new_file("results/summary.txt") as f:
        f.write("accuracy 0.9\n")
    ref = art.add_reference(f"file://{files / 'train.jsonl'}", name="refs/train.jsonl")
    assert ref.ref.startswith("file://") and len(ref.digest) == 64
    art = run.log_artifact(art).wait()
    run.finish()
    got = tracklet.Api().artifact("p/bundle:latest")
    assert [e.path for e in got.files()] == ["refs/train.jsonl", "results/summary.txt"]
    assert got.get_entry("results/summary.txt").size == len("accuracy 0.9\n")
    with pytest.warns(tracklet.TrackletWarning, match="1 reference.*not downloaded.*references=True"):
        root = got.download()  # a reference is recorded, not copied: not fetched unless asked
    assert (tmp_path / root / "results" / "summary.txt").read_text() == "accuracy 0.9\n"
    assert not (tmp_path / root / "refs").exists()
    got.verify(root)  # what was downloaded is whole
    root = got.download(references=True, allow_roots=[str(files)])
    assert (tmp_path / root / "refs" / "train.jsonl").read_text().startswith('{"x": 1}')
    got.verify(root, references=True)


def test_download_skips_correct_files_refuses_conflicts_and_verifies(files, tmp_path):
    run = tracklet.init(project="p")
    log(run, "data", files)
    run.finish()
    art = tracklet.Api().artifact("p/data:latest")
    out = tmp_path / "out"
    art.download(str(out))
    art.verify(str(out))
    art.download(str(out))  # everything already there and correct
    (out / "val.jsonl").write_text("tampered\n")
    with pytest.raises(ValueError, match="val.jsonl"):
        art.verify(str(out))
    with pytest.raises(DownloadConflictError, match="overwrite"):
        art.download(str(out))
    art.download(str(out), overwrite=True)
    art.verify(str(out))


def test_lineage_dataset_to_run_to_model(files, capsys):
    prep = tracklet.init(project="llm", job_type="prep")
    data = log(prep, "training-data", files)
    prep.finish()
    train = tracklet.init(project="llm", job_type="train", config={"lr": 1e-4})
    used = train.use_artifact("training-data:latest")
    assert used.digest == data.digest
    model = tracklet.Artifact("llama-ft", type="model", metadata={"val_loss": 0.42})
    model.add_file(str(files / "sub" / "weights.bin"))
    train.log_artifact(model, aliases=["best"])
    train.finish()

    api = tracklet.Api()
    m = api.artifact("llm/llama-ft:best")
    maker = m.logged_by()
    assert maker.id == train.id and maker.config == {"lr": 1e-4}
    assert [a.name for a in maker.used_artifacts()] == ["training-data"]
    d = api.artifact("llm/training-data:v0")
    assert [r.id for r in d.used_by()] == [train.id] and d.logged_by().id == prep.id
    assert [a.name for r in d.used_by() for a in r.logged_artifacts()] == ["llama-ft"]

    from tracklet.cli import main

    assert main(["artifact", "lineage", "llm/llama-ft:v0"]) == 0
    out = capsys.readouterr().out
    assert "made by: run" in out and "from: llm/training-data:v0" in out


def test_registry_links_aliases_and_audit(files):
    run = tracklet.init(project="llm")
    first = log(run, "chat", files / "train.jsonl", type="model")
    run.link_artifact(first, "registry/llama3-chat", aliases=["staging"])
    second = log(run, "chat", files / "val.jsonl", type="model")
    run.finish()
    api = tracklet.Api()
    assert api.artifact("registry/llama3-chat:staging").digest == first.digest
    api.artifact("llm/chat:v1").link("registry/llama3-chat", aliases=["staging", "production"])
    model = api.registered_model("llama3-chat")
    assert [v for v, _ in model.versions()] == ["v0", "v1"]
    assert model.aliases() == {"production": "v1", "staging": "v1"}
    assert api.artifact("registry/llama3-chat:production").digest == second.digest
    api.artifact("llm/chat:v1").unlink("registry/llama3-chat")
    trail = [(a["action"], a["version"] or "", a["alias"] or "") for a in model.audit()]
    assert trail[:4] == [("link", "v0", ""), ("alias", "v0", "staging"), ("link", "v1", ""), ("alias", "v1", "staging")]
    assert trail[-1] == ("unlink", "v1", "") and all(a["actor"] for a in model.audit())
    with pytest.raises(tracklet.UsageError, match="no version 'production'"):
        api.artifact("registry/llama3-chat:production")


def test_delete_keeps_shared_files(files):
    run = tracklet.init(project="p")
    v0 = log(run, "data", files, aliases=["keep"])
    (files / "val.jsonl").write_text("v1\n")
    v1 = log(run, "data", files)
    run.finish()
    api = tracklet.Api()
    with pytest.raises(tracklet.UsageError, match="delete_aliases=True"):
        api.artifact("p/data:v0").delete()
    api.artifact("p/data:v1").delete()
    assert api.artifact("p/data:latest").version == "v0"
    api.artifact("p/data:v0").download()  # the files v0 shares with v1 are still there
    del v0, v1


def test_offline_artifacts_get_versions_at_sync(files, tracklet_env):
    run = tracklet.init(project="p", mode="offline")
    art = log(run, "data", files)
    assert art.version is None and art.state == "logged"
    run.finish()
    from tracklet.cli import main

    assert main(["sync", str(tracklet_env)]) == 0
    assert tracklet.Api().artifact("p/data:latest").version == "v0"


def test_cli_put_get_ls_and_cache(files, tmp_path, capsys):
    from tracklet.cli import main

    assert main(["artifact", "put", str(files), "--name", "corpus", "--type", "dataset", "-a", "gold", "-p", "cli"]) == 0
    assert "cli/corpus:v0" in capsys.readouterr().out
    assert main(["artifact", "ls", "-p", "cli"]) == 0
    assert "corpus" in capsys.readouterr().out
    assert main(["artifact", "ls", "cli/corpus"]) == 0
    assert "gold" in capsys.readouterr().out
    assert main(["artifact", "get", "cli/corpus:gold", "--root", str(tmp_path / "got")]) == 0
    assert (tmp_path / "got" / "sub" / "weights.bin").read_bytes() == (files / "sub" / "weights.bin").read_bytes()
    assert main(["artifact", "cache", "size"]) == 0
    assert "limit" in capsys.readouterr().out


def test_finish_waits_for_uploads_and_log_after_finish_fails(files):
    run = tracklet.init(project="p")
    art = tracklet.Artifact("data", type="dataset")
    art.add_dir(str(files))
    run.log_artifact(art)
    run.finish()  # no wait(): finish stores it
    assert tracklet.Api().artifact("p/data:latest").digest == art.digest
    with pytest.raises(tracklet.UsageError, match="before finish"):
        run.log_artifact(tracklet.Artifact("late", type="x"))


def test_add_dir_follows_links_inside_refuses_links_outside_and_never_descends_folder_links(files, tmp_path):
    (files / "sub" / "deeper").mkdir()
    (files / "sub" / "deeper" / "c.txt").write_text("c")
    os.symlink(files / "sub" / "deeper" / "c.txt", files / "inside.txt")  # stays inside: stored as that file
    os.symlink("sub", files / "loop")  # a folder link: never descended
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not for the artifact")
    os.symlink(outside / "secret.txt", files / "sub" / "linked.txt")
    os.symlink(outside, files / "linked-folder")
    art = tracklet.Artifact("walk", type="dataset")
    with pytest.raises(tracklet.UsageError, match=r"1 symbolic link.*sub/linked.txt -> .*secret.txt.*outside_links='follow'"):
        art.add_dir(str(files), name="data")
    assert art.files() == []  # nothing was added
    added = art.add_dir(str(files), name="data", outside_links="skip")
    assert [e.path for e in added] == sorted(e.path for e in added)
    assert sorted(e.path for e in added) == [
        "data/inside.txt", "data/sub/deeper/c.txt", "data/sub/weights.bin", "data/train.jsonl", "data/val.jsonl",
    ]
    assert art.get_entry("data/inside.txt").size == 1 and art.get_entry("data/sub/weights.bin").size == 50_000
    followed = tracklet.Artifact("walk", type="dataset").add_dir(str(files), outside_links="follow")
    assert "sub/linked.txt" in {e.path for e in followed}
    with pytest.raises(tracklet.UsageError, match="outside_links must be one of"):
        art.add_dir(str(files), outside_links="yes")


def test_a_version_stored_with_sha256_downloads_verifies_and_deletes(files, tracklet_env):
    """A store written before BLAKE3: its manifest says sha256 and its blobs live under blobs/sha256/."""
    import hashlib
    import json
    import shutil
    import sqlite3

    run = tracklet.init(project="p")
    art = log(run, "old", files)
    run.finish()
    db = sqlite3.connect(tracklet_env / "tracklet.db")
    (text,) = db.execute("SELECT manifest FROM artifact_versions WHERE id = ?", (art.id,)).fetchone()
    manifest = json.loads(text)
    blobs = tracklet_env / "blobs"
    for path, entry in manifest["entries"].items():  # rewrite it as an older tracklet stored it
        data = (files / path).read_bytes()
        old = hashlib.sha256(data).hexdigest()
        (blobs / "sha256" / old[:2]).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(blobs / "blake3" / entry["digest"], blobs / "sha256" / old[:2] / old)
        entry["digest"] = old
    manifest["algorithm"] = "sha256"
    db.execute("UPDATE artifact_versions SET manifest = ? WHERE id = ?", (json.dumps(manifest), art.id))
    db.commit()
    db.close()
    shutil.rmtree(blobs / "blake3")

    old = tracklet.Api().artifact("p/old:v0")
    assert {e.digest[:7] for e in old.files()} == {"sha256:"}
    root = old.download(str(tracklet_env.parent / "out"))
    assert (tracklet_env.parent / "out" / "sub" / "weights.bin").read_bytes() == (files / "sub" / "weights.bin").read_bytes()
    old.verify(root)
    old.delete(delete_aliases=True)
    assert not any(p.is_file() for p in (blobs / "sha256").rglob("*"))  # nothing else listed them


def test_blobs_in_the_older_fan_out_layout_are_found_downloaded_and_deleted(files, tracklet_env):
    """Stores written before blobs went into one folder keep them in ``blake3/ab/<digest>``."""
    run = tracklet.init(project="p")
    art = log(run, "fanned", files)
    run.finish()
    flat = tracklet_env / "blobs" / "blake3"
    stored = sorted(p.name for p in flat.iterdir() if p.is_file())
    assert stored and all(len(name) == 64 for name in stored)  # one folder, no fan-out
    for name in stored:  # as an earlier tracklet laid them out
        (flat / name[:2]).mkdir(exist_ok=True)
        (flat / name).rename(flat / name[:2] / name)

    again = tracklet.init(project="p")
    same = log(again, "fanned", files)  # already stored: nothing is copied into the new layout
    again.finish()
    assert same.version == art.version and not any(p.is_file() for p in flat.iterdir())
    old = tracklet.Api().artifact("p/fanned:v0")
    root = old.download(str(tracklet_env.parent / "out"))
    assert (tracklet_env.parent / "out" / "sub" / "weights.bin").read_bytes() == (files / "sub" / "weights.bin").read_bytes()
    old.verify(root)
    old.delete(delete_aliases=True)
    assert not any(p.is_file() for p in flat.rglob("*"))


def test_delete_waits_for_a_log_in_flight_and_keeps_the_blobs_it_records(files, tracklet_env):
    import threading

    from tracklet.artifacts.storage import blob_store_of

    run = tracklet.init(project="p")
    log(run, "data", files)
    in_flight = blob_store_of(str(tracklet_env)).removal_lock()  # what a log holds from finding its blobs to recording them
    in_flight.__enter__()
    deleting = threading.Thread(target=lambda: tracklet.Api().artifact("p/data:v0").delete(delete_aliases=True))
    deleting.start()
    deleting.join(0.3)
    assert deleting.is_alive()  # the delete waits for the log
    twin = log(run, "twin", files)  # the same files under another name: the same blobs, found already stored
    in_flight.__exit__(None, None, None)
    deleting.join(10)
    assert not deleting.is_alive()
    run.finish()
    with pytest.raises(tracklet.UsageError):
        tracklet.Api().artifact("p/data:v0")
    twin.download(str(tracklet_env.parent / "twin"))  # every blob the twin lists is still stored
    assert (tracklet_env.parent / "twin" / "train.jsonl").read_bytes() == (files / "train.jsonl").read_bytes()


def test_a_failing_upload_step_does_not_stop_the_ones_after_it(files, monkeypatch):
    run = tracklet.init(project="p")
    run._uploads.submit(lambda: 1 / 0)  # a step that fails outside any artifact's own error handling
    with pytest.warns(tracklet.TrackletWarning, match="upload step failed"):
        art = log(run, "after", files)
    assert art.version == "v0"
    run.finish()  # returns: the queue is drained


def test_files_removed_between_add_and_log(files):
    """The artifact holds what was added: a removed file whose content is stored is still in it;
    one whose content is not stored cannot be, and the error names it."""
    time.sleep(0.1)  # files written in the tick before hashing are hashed again next time (racily clean)
    run = tracklet.init(project="p")
    v0 = log(run, "data", files)
    again = tracklet.Artifact("data", type="dataset")
    again.add_dir(str(files))
    os.remove(files / "val.jsonl")  # stored by v0
    assert run.log_artifact(again).wait().digest == v0.digest
    (files / "new.txt").write_text("never stored")
    third = tracklet.Artifact("data", type="dataset")
    third.add_dir(str(files))
    os.remove(files / "new.txt")
    with pytest.warns(tracklet.TrackletWarning, match="new.txt.*no such file"):
        with pytest.raises(tracklet.StoreError, match="new.txt.*no such file"):
            run.log_artifact(third).wait()
    run.finish()


def test_a_backslash_in_a_file_name_is_a_folder_separator_everywhere(files):
    (files / "odd\\name.txt").write_text("a backslash is a legal name character on Linux")
    run = tracklet.init(project="p")
    art = tracklet.Artifact("data", type="dataset")
    art.add_dir(str(files))
    assert "odd/name.txt" in {e.path for e in art.files()}
    stored = run.log_artifact(art).wait()  # the manifest names it the same: it used to fail here
    assert stored.get_entry("odd/name.txt").size == len("a backslash is a legal name character on Linux")
    run.finish()
