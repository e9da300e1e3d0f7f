"""A stream of images logged as pixels, with the store's worker making the PNGs: every one stored and read
back, and none lost when the training process is killed."""

import io
import subprocess
import sys
import textwrap

import numpy as np
from PIL import Image as PIL

import tracklet
from tracklet.artifacts.storage._blobs import LocalBlobStore
from tracklet.artifacts.storage._digest import hash_bytes
from tracklet.media._image import png_bytes


def frame(step, side=16):
    """A different RGB image at every step, made again from the step alone."""
    return np.random.default_rng(step).integers(0, 256, (side, side, 3), dtype=np.uint8)


def check_all_stored(store_dir, run_id, key, steps, side=16):
    """Every step's entry names a blob that holds the PNG of that step's frame, as the in-process encoder makes it."""
    entries = tracklet.Api().run(run_id).media(key)
    assert sorted(e["step"] for e in entries) == list(steps)
    blobs = LocalBlobStore(str(store_dir / "blobs"))
    for e in entries:
        expected = png_bytes(frame(e["step"], side))
        assert e["digest"] == hash_bytes(expected) and e["size"] == len(expected)
        with blobs.open(e["digest"]) as f:  # read to the end: checked against its digest
            data = f.read()
        assert np.array_equal(np.asarray(PIL.open(io.BytesIO(data))), frame(e["step"], side))
        assert e["meta"]["width"] == e["meta"]["height"] == side


def test_ten_thousand_images_a_step_are_ten_thousand_entries_readable(tracklet_env):
    run = tracklet.init(project="media")
    for step in range(10_000):
        run.log({"sample": tracklet.Image(frame(step, 64))})
    run.finish()
    check_all_stored(tracklet_env, run.id, "sample", range(10_000), side=64)


def test_images_logged_before_the_process_is_killed_are_all_stored(tracklet_env):
    script = textwrap.dedent("""
        import os, signal
        import numpy as np
        import tracklet
        run = tracklet.init(project="media")
        for step in range(200):
            run.log({"sample": tracklet.Image(np.random.default_rng(step).integers(0, 256, (16, 16, 3), dtype=np.uint8))})
        print(run.id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # no finish(), no atexit: only what log() wrote
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == -9, done.stderr
    run_id = done.stdout.split()[0]
    check_all_stored(tracklet_env, run_id, "sample", range(200))
    assert tracklet.Api().run(run_id).state == "crashed"
