"""Images logged as pixels: ``log()`` writes an IMAGE record, and whoever ingests the log makes and stores the PNG."""

import fcntl
import io
import os
import warnings

import numpy as np
import pytest
from PIL import Image as PIL

import tracklet
from tracklet.artifacts.storage import blob_store_of
from tracklet.artifacts.storage._digest import hash_bytes
from tracklet.media import _log
from tracklet.media._image import png_bytes
from tracklet.store._layout import log_path
from tracklet.store.sql._engine import open_local
from tracklet.store.sql._ingest import ingest_run
from tracklet.wal._media import decode_images
from tracklet.wal._wal import RecordType, WalReader


def frame(step, side=8):
    return np.random.default_rng(step).integers(0, 256, (side, side, 3), dtype=np.uint8)


def record_types(root, run_id):
    with WalReader(log_path(str(root), run_id)) as reader:
        return [r.type for r in reader.records()]


def test_an_image_of_pixels_is_one_record_in_the_log_and_read_back_as_the_in_process_encoder_writes_it(tracklet_env):
    run = tracklet.init(project="px")
    for step in range(5):
        run.log({"sample": tracklet.Image(frame(step), caption=f"step {step}"), "loss": step})
    run.log({"pair": [tracklet.Image(frame(0)), tracklet.Image(np.zeros((3, 4), np.uint8))]})
    live = run.summary["sample"]
    run.finish()
    types = record_types(tracklet_env, run.id)
    assert types.count(RecordType.IMAGE) == 6 and RecordType.MEDIA not in types
    assert run not in _log._batches  # nothing went through the uploads thread
    assert live["digest"] is None and live["width"] == 8 and live["caption"] == "step 4"  # the PNG is the store's to make

    stored = tracklet.Api().run(run.id)
    entries = stored.media("sample")
    assert [e["step"] for e in entries] == [0, 1, 2, 3, 4]
    blobs = blob_store_of(str(tracklet_env))
    for e in entries:
        expected = png_bytes(frame(e["step"]))  # what the uploads thread's encoder makes: the same blob
        assert e["digest"] == hash_bytes(expected) and e["size"] == len(expected)
        with blobs.open(e["digest"]) as f:
            assert np.array_equal(np.asarray(PIL.open(io.BytesIO(f.read()))), frame(e["step"]))
    assert stored.image("sample", step=3).caption == "step 3"
    first, zeros = stored.image("pair")
    assert np.array_equal(first.to_numpy(), frame(0)) and zeros.to_numpy().tolist() == np.zeros((3, 4)).tolist()
    # finish()'s summary described the last image without its digest; the store's summary has it
    assert stored.summary["sample"]["digest"] == entries[-1]["digest"] and stored.summary["sample"]["step"] == 4
    assert [i["digest"] for i in stored.summary["pair"]["items"]] == [e["digest"] for e in stored.media("pair")]


def test_the_summary_gets_the_digest_when_the_image_was_stored_in_an_earlier_batch(tracklet_env):
    run = tracklet.init(project="px", mode="offline")
    run.log({"sample": tracklet.Image(frame(1))})
    engine = open_local(str(tracklet_env))
    wal = log_path(str(tracklet_env), run.id)
    assert ingest_run(engine, wal, run.id) > 0  # the image's record, before the run ends
    run.finish()  # its SUMMARY record describes the image with "digest": None
    ingest_run(engine, wal, run.id)
    summary = tracklet.Api().run(run.id).summary["sample"]
    assert summary["digest"] == hash_bytes(png_bytes(frame(1))) and summary["step"] == 0


def test_images_with_masks_or_from_a_file_still_go_through_the_uploads_thread(tracklet_env, tmp_path):
    path = tmp_path / "a.png"
    path.write_bytes(png_bytes(frame(2)))
    run = tracklet.init(project="px")
    mask = {"pred": {"mask_data": np.zeros((8, 8), np.uint8), "class_labels": {0: "bg"}}}
    run.log({"masked": tracklet.Image(frame(3), masks=mask), "file": tracklet.Image(str(path)), "plain": tracklet.Image(frame(4))})
    run.finish()
    types = record_types(tracklet_env, run.id)
    assert types.count(RecordType.IMAGE) == 1 and types.count(RecordType.MEDIA) == 1
    stored = tracklet.Api().run(run.id)
    assert stored.image("masked").masks["pred"]["class_labels"] == {0: "bg"}
    assert np.array_equal(stored.image("plain").to_numpy(), frame(4))
    assert np.array_equal(stored.image("file").to_numpy(), frame(2))


def test_the_blob_store_is_held_against_deletes_while_the_pngs_are_made(tracklet_env, monkeypatch):
    run = tracklet.init(project="px", mode="offline")
    run.log({"sample": tracklet.Image(frame(5))})
    run.finish()
    blobs = blob_store_of(str(tracklet_env))
    seen = []
    original = type(blobs).put_bytes

    def put_bytes(self, data):
        fd = os.open(os.path.join(self.directory, ".removal.lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # what a delete takes
        except BlockingIOError:
            seen.append("held")
        else:
            seen.append("free")
        finally:
            os.close(fd)
        return original(self, data)

    monkeypatch.setattr(type(blobs), "put_bytes", put_bytes)
    ingest_run(open_local(str(tracklet_env)), log_path(str(tracklet_env), run.id), run.id)
    assert seen == ["held"]


def test_a_blob_that_cannot_be_written_leaves_the_records_to_be_stored_later(tracklet_env):
    run = tracklet.init(project="px", mode="offline")
    run.log({"sample": tracklet.Image(frame(6)), "loss": 1.0})
    run.finish()
    engine = open_local(str(tracklet_env))
    wal = log_path(str(tracklet_env), run.id)

    class Full:
        def removal_lock(self):
            return blob_store_of(str(tracklet_env)).removal_lock()

        def put_bytes(self, data):
            raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        ingest_run(engine, wal, run.id, blob_store=Full)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM runs").scalar() == 0  # nothing of the batch was stored
    assert ingest_run(engine, wal, run.id) > 0  # once the disk has room: the same records, every one
    stored = tracklet.Api().run(run.id)
    assert stored.media("sample")[0]["digest"] == hash_bytes(png_bytes(frame(6))) and stored.summary["loss"] == 1.0


def test_an_image_record_whose_pixels_do_not_add_up_is_skipped_and_said(tracklet_env):
    run = tracklet.init(project="px", mode="offline")
    run.log({"sample": tracklet.Image(frame(7))})
    run._record_many(RecordType.IMAGE, [None], [b"\x02\x00\x00\x00{}"])  # valid CRC, not an IMAGE payload
    run.log({"sample": tracklet.Image(frame(8)), "loss": 2.0})
    run.finish()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ingest_run(open_local(str(tracklet_env)), log_path(str(tracklet_env), run.id), run.id)
    assert any("IMAGE record" in str(w.message) and "cannot be read" in str(w.message) for w in caught)
    stored = tracklet.Api().run(run.id)
    assert [e["step"] for e in stored.media("sample")] == [0, 1] and stored.summary["loss"] == 2.0


def test_decode_images_refuses_sizes_that_do_not_add_up():
    from tracklet.wal._media import encode_images

    good = b"".join(encode_images(b'{"t": 0, "step": 0, "items": [{"key": "a", "idx": 0, "shape": [2, 2, 1]}]}', [bytes(4)]))
    record, pixels = decode_images(good)
    assert record["items"][0]["key"] == "a" and bytes(pixels[0]) == bytes(4)
    with pytest.raises(ValueError, match="does not fit"):
        decode_images(good[:-1])
    with pytest.raises(ValueError, match="after its last image"):
        decode_images(good + b"x")


def test_a_log_call_with_more_pixels_than_a_record_holds_stores_the_rest_in_process(tracklet_env, monkeypatch):
    from tracklet.media import _pixels

    monkeypatch.setattr(_log, "RECORD_PIXELS", 3 * 192)  # three 8x8 RGB images a record
    run = tracklet.init(project="px")
    run.log({"many": [tracklet.Image(frame(i)) for i in range(5)]})
    run.finish()
    types = record_types(tracklet_env, run.id)
    assert types.count(RecordType.IMAGE) == 1 and types.count(RecordType.MEDIA) == 1
    back = tracklet.Api().run(run.id).image("many")
    assert [np.array_equal(b.to_numpy(), frame(i)) for i, b in enumerate(back)] == [True] * 5
    assert _pixels.RECORD_PIXELS + 16 * 1024 * 1024 <= 64 * 1024 * 1024  # a record stays within the log's limit
