"""Images logged as a stream are encoded and stored by a child process: every one is stored, read back with
the digest the in-process encoder gives, and none is lost when the child dies or cannot start."""

import io
import os
import signal

import numpy as np
import pytest
from PIL import Image as PIL

import tracklet
from tracklet.artifacts.storage._blobs import LocalBlobStore
from tracklet.artifacts.storage._digest import hash_bytes
from tracklet.media import _log
from tracklet.media._image import png_bytes


def frame(step, side=16):
    """A different RGB image at every step, made again from the step alone."""
    return np.random.default_rng(step).integers(0, 256, (side, side, 3), dtype=np.uint8)


@pytest.fixture
def child_at_once(monkeypatch):
    monkeypatch.setattr(_log, "CHILD_AFTER", 0)


def check_all_stored(store_dir, run, key, steps, side=16):
    """Every step's entry names a blob that holds the PNG of that step's frame, as the in-process encoder makes it."""
    entries = tracklet.Api().run(run.id).media(key)
    assert sorted(e["step"] for e in entries) == list(steps)
    blobs = LocalBlobStore(str(store_dir / "blobs"))
    for e in entries:
        expected = png_bytes(frame(e["step"], side))
        assert e["digest"] == hash_bytes(expected) and e["size"] == len(expected)
        with blobs.open(e["digest"]) as f:  # read to the end: checked against its digest
            data = f.read()
        assert np.array_equal(np.asarray(PIL.open(io.BytesIO(data))), frame(e["step"], side))
        assert e["meta"]["width"] == e["meta"]["height"] == side


def test_images_the_child_stores_read_back_as_the_in_process_encoder_writes_them(tracklet_env, child_at_once):
    run = tracklet.init(project="media")
    for step in range(60):
        run.log({"sample": tracklet.Image(frame(step), caption=f"step {step}")})
    run.log({"pair": [tracklet.Image(frame(0)), tracklet.Image(np.zeros((3, 4), np.uint8))]})
    batch = _log._batches[run]
    run.finish()
    assert batch.child is not False and batch.child._proc.returncode == 0  # it was used, and finish() ended it
    check_all_stored(tracklet_env, run, "sample", range(60))
    stored = tracklet.Api().run(run.id)
    assert stored.image("sample", step=7).caption == "step 7"
    first, zeros = stored.image("pair")
    assert np.array_equal(first.to_numpy(), frame(0)) and zeros.to_numpy().tolist() == np.zeros((3, 4)).tolist()
    assert run.summary["sample"]["step"] == 59 and run.summary["sample"]["caption"] == "step 59"


def test_a_child_that_dies_loses_no_image(tracklet_env, child_at_once):
    run = tracklet.init(project="media")
    for step in range(30):
        run.log({"sample": tracklet.Image(frame(step))})
    run._uploads.drain()
    batch = _log._batches[run]
    os.kill(batch.child._proc.pid, signal.SIGKILL)
    batch.child._proc.wait()
    for step in range(30, 80):
        run.log({"sample": tracklet.Image(frame(step))})
    run.finish()
    assert batch.child is False  # the run stored in process from then on
    check_all_stored(tracklet_env, run, "sample", range(80))


def test_a_child_that_cannot_start_leaves_the_run_storing_in_process(tracklet_env, child_at_once, monkeypatch):
    from tracklet.media import _encoder

    monkeypatch.setattr(_encoder, "HELLO", b"tracklet-encoder 0\n")  # the child says it speaks another version
    run = tracklet.init(project="media")
    for step in range(20):
        run.log({"sample": tracklet.Image(frame(step))})
    run.finish()
    assert _log._batches[run].child is False
    check_all_stored(tracklet_env, run, "sample", range(20))


def test_ten_thousand_images_a_step_are_ten_thousand_entries_readable(tracklet_env):
    run = tracklet.init(project="media")
    for step in range(10_000):
        run.log({"sample": tracklet.Image(frame(step, 64))})
    batch = _log._batches[run]
    run.finish()
    assert batch.child is not False  # past CHILD_AFTER, the child stored them
    check_all_stored(tracklet_env, run, "sample", range(10_000), side=64)


def test_a_child_that_stops_answering_is_ended_and_loses_no_image(tracklet_env, child_at_once, monkeypatch):
    from tracklet.media import _encoder

    monkeypatch.setattr(_encoder, "TIMEOUT", 0.5)
    run = tracklet.init(project="media")
    run.log({"sample": tracklet.Image(frame(0))})
    run._uploads.drain()
    batch = _log._batches[run]
    proc = batch.child._proc
    os.kill(proc.pid, signal.SIGSTOP)  # hung: it reads nothing and answers nothing
    for step in range(1, 40):
        run.log({"sample": tracklet.Image(frame(step))})
    run.finish()
    assert batch.child is False and proc.returncode == -signal.SIGKILL
    check_all_stored(tracklet_env, run, "sample", range(40))
