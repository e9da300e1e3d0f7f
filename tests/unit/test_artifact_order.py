"""Artifact versions are numbered in the order they were logged, whatever order the runs' logs are ingested in."""

import itertools

import pytest

import tracklet
from tracklet.cli import main

NAME = "llama3-8b-finetuned"


def _offline_runs(tmp_path, count, link_first=False):
    """``count`` offline runs, one after another, each logging a version of NAME; their run folders."""
    folders = []
    for i in range(count):
        src = tmp_path / f"weights-{i}.bin"
        src.write_bytes(f"checkpoint {i}".encode())
        run = tracklet.init(project="proj", mode="offline", id=f"run-{'edcba'[i]}")  # ids sort against logging order
        art = tracklet.Artifact(NAME, type="model", metadata={"logged": i})
        art.add_file(str(src), name="weights.bin")
        run.log_artifact(art, aliases=["first"] if i == 0 else None)
        if link_first and i == 0:
            run.link_artifact(art, "registry/llama3-chat", aliases=["production"])
        run.finish()
        folders.append(run.dir)
    return folders


def _numbering(store):
    api = tracklet.Api(dir=str(store))
    return [(a.version, a.metadata["logged"], sorted(a.aliases)) for a in api.artifact_versions(f"proj/{NAME}")]


def test_versions_are_numbered_in_logging_order_whatever_order_runs_are_synced(tmp_path):
    folders = _offline_runs(tmp_path, 4, link_first=True)
    expected = [("v0", 0, ["first"]), ("v1", 1, []), ("v2", 2, []), ("v3", 3, ["latest"])]
    for n, order in enumerate([(0, 1, 2, 3), (3, 2, 1, 0), (2, 0, 3, 1)]):
        store = tmp_path / f"store-{n}"
        for i in order:  # one sync per run: each is ingested in this order
            assert main(["sync", "--dir", str(store), folders[i]]) == 0
        assert _numbering(store) == expected, order
        api = tracklet.Api(dir=str(store))
        assert api.artifact("registry/llama3-chat:production").metadata == {"logged": 0}  # the link stayed on its version
        assert api.artifact(f"proj/{NAME}:latest").metadata == {"logged": 3}


def test_the_seed_scenario_v3_is_the_fourth_logged_on_both_read_paths(tmp_path, tracklet_env):
    folders = _offline_runs(tmp_path, 5)
    assert main(["sync", *reversed(folders)]) == 0  # the last logged is ingested first
    import sys

    api = tracklet.Api()
    assert api.artifact(f"proj/{NAME}:v3").metadata == {"logged": 3}
    assert api.artifact(f"proj/{NAME}:latest").metadata == {"logged": 4}
    from tracklet.store.sql._artifact_reads import version_by_alias

    store = api._store
    for fresh in (False, True):  # plain sqlite3 (the store is up to date), then SQLAlchemy: the same answers
        with store.reader(fresh=fresh) as q:
            assert (q._conn is not None) == fresh
            assert version_by_alias(q, "proj", None, NAME, "v3")["metadata"] == {"logged": 3}
            assert version_by_alias(q, "proj", None, NAME, "latest")["metadata"] == {"logged": 4}
    assert "tracklet.store.sql._engine" in sys.modules


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_identical_content_is_the_version_of_its_first_log(tmp_path, order):
    """Run 0 and run 2 log the same content: it is v0 (logged first) however the logs arrive."""
    folders = []
    for i, content in enumerate([b"same", b"other", b"same"]):
        (tmp_path / f"w{i}").write_bytes(content)
        run = tracklet.init(project="proj", mode="offline", id=f"r{i}")
        art = tracklet.Artifact(NAME, type="model", metadata={"logged": i})
        art.add_file(str(tmp_path / f"w{i}"), name="w")
        run.log_artifact(art)
        run.finish()
        folders.append(run.dir)
    store = tmp_path / "store"
    for i in order:
        assert main(["sync", "--dir", str(store), folders[i]]) == 0
    api = tracklet.Api(dir=str(store))
    got = [(a.version, a.metadata["logged"]) for a in api.artifact_versions(f"proj/{NAME}")]
    assert got == [("v0", 0), ("v1", 1)]  # v0 holds the first log's metadata, not the one ingested first
    assert api.artifact(f"proj/{NAME}:v0").logged_by().id == "r0"
    assert api.artifact(f"proj/{NAME}:latest").version == "v1"


def test_an_alias_asked_for_by_a_later_log_is_not_taken_back_by_an_earlier_log_synced_late(tmp_path):
    folders = []
    for i in range(2):
        (tmp_path / f"w{i}").write_bytes(f"content {i}".encode())
        run = tracklet.init(project="proj", mode="offline", id=f"r{i}")
        art = tracklet.Artifact(NAME, type="model", metadata={"logged": i})
        art.add_file(str(tmp_path / f"w{i}"), name="w")
        run.log_artifact(art, aliases=["best"])
        run.finish()
        folders.append(run.dir)
    for name, order in (("in-order", folders), ("reversed", folders[::-1])):
        assert main(["sync", "--dir", str(tmp_path / name), *order]) == 0
        assert tracklet.Api(dir=str(tmp_path / name)).artifact(f"proj/{NAME}:best").metadata == {"logged": 1}, name
