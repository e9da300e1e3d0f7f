"""``tracklet.Video`` beyond GIF: frames made into an MP4 (H.264) or a WebM (VP9) by PyAV, read back and decoded;
a file stored as it is; a clear error naming the extra when PyAV is missing."""

import io
import sys

import numpy as np
import pytest

import tracklet

av = pytest.importorskip("av", reason="the video extra is not installed: pip install -e '.[video]'")

pytestmark = pytest.mark.unit


def _frames(t=6, c=3, h=24, w=32):
    """A colour ramp moving one step a frame: smooth, so a lossy codec keeps it close."""
    ramp = np.linspace(40, 200, w, dtype=np.float32)[None, None, :].repeat(h, 1)
    return np.stack([np.clip(np.broadcast_to(ramp + 4 * i, (c, h, w)), 0, 255).astype(np.uint8) for i in range(t)])


def _decoded(data: bytes):
    with av.open(io.BytesIO(data)) as c:
        stream = c.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        return c.format.name, stream.codec_context.name, float(stream.average_rate), frames


@pytest.mark.parametrize(("fmt", "codec", "container"), [("mp4", "h264", "mp4"), ("webm", "vp9", "webm")])
def test_frames_become_a_video_that_decodes_to_them(fmt, codec, container):
    frames = _frames()
    run = tracklet.init(project="video")
    run.log({"clip": tracklet.Video(frames, fps=8, format=fmt, caption="rollout")})
    run.finish()
    stored = tracklet.Api().run(run.id)
    back = stored.get_media("clip")
    assert (back.format, back.fps, back.caption) == (fmt, 8, "rollout")
    name, got_codec, rate, decoded = _decoded(back.data)
    assert container in name.split(",") and got_codec == codec and rate == 8.0
    assert len(decoded) == 6 and decoded[0].shape == (24, 32, 3)
    for i, f in enumerate(decoded):  # lossy, but close: within a few levels on average
        assert np.abs(f.astype(int) - frames[i].transpose(1, 2, 0).astype(int)).mean() < 6
    described = stored.summary["clip"]
    assert {k: described[k] for k in ("_type", "format", "width", "height", "frames", "fps")} == {
        "_type": "video", "format": fmt, "width": 32, "height": 24, "frames": 6, "fps": 8}
    (row,) = stored.scan_history(keys=["clip"])
    assert row["clip"] == described


def _top_level_boxes(data: bytes) -> list[str]:
    boxes, at = [], 0
    while at < len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        boxes.append(data[at + 4 : at + 8].decode("latin-1"))
        at += size if size else len(data)
    return boxes


def test_an_mp4_has_its_index_before_its_frames():
    """faststart: a browser can play it before the whole file has arrived (moov before mdat)."""
    boxes = _top_level_boxes(tracklet.Video(_frames(), format="mp4")._encode(lambda b: ("", 0))[0])
    assert "moov" in boxes and "mdat" in boxes and boxes.index("moov") < boxes.index("mdat"), boxes


def test_odd_sides_gray_and_alpha_frames_are_encoded():
    run = tracklet.init(project="video")
    run.log({
        "odd": tracklet.Video(_frames(h=15, w=21), fps=2.5, format="mp4"),
        "gray": tracklet.Video(_frames(c=1), format="mp4"),
        "rgba": tracklet.Video(_frames(c=4), format="webm"),
        "floats": tracklet.Video(_frames().astype(np.float32) / 255.0, format="mp4"),
    })
    run.finish()
    stored = tracklet.Api().run(run.id)
    _, _, rate, odd = _decoded(stored.get_media("odd").data)
    assert odd[0].shape == (16, 22, 3) and rate == 2.5  # yuv420p needs even sides: padded by one, the edge repeated
    assert stored.summary["odd"]["width"] == 21
    gray = _decoded(stored.get_media("gray").data)[3][0]
    assert np.abs(gray[:, :, 0].astype(int) - gray[:, :, 2].astype(int)).max() <= 4  # the one channel in each
    assert len(_decoded(stored.get_media("rgba").data)[3]) == 6
    assert len(_decoded(stored.get_media("floats").data)[3]) == 6


def test_gif_stays_the_default_and_a_file_is_stored_as_it_is(tmp_path):
    run = tracklet.init(project="video")
    encoded = tracklet.Video(_frames(), format="mp4")._encode(lambda b: ("", 0))[0]
    path = tmp_path / "clip.mp4"
    path.write_bytes(encoded)
    run.log({"gif": tracklet.Video(_frames()), "file": tracklet.Video(str(path), fps=30), "named": tracklet.Video(path, format="mp4")})
    run.finish()
    stored = tracklet.Api().run(run.id)
    assert stored.get_media("gif").data[:6] == b"GIF89a" and stored.get_media("gif").format == "gif"
    assert stored.get_media("file").data == encoded and stored.get_media("file").format == "mp4"
    assert stored.get_media("named").data == encoded


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: tracklet.Video(_frames(), format="avi"), r"format='avi'.*gif, mp4, webm"),
    (lambda p: tracklet.Video(_frames(), format="ogg"), r"format='ogg'.*gif, mp4, webm"),
    (lambda p: tracklet.Video(str(p), format="webm"), r"holds mp4, stored as it is"),
    (lambda p: tracklet.Video(np.zeros((0, 3, 4, 4), np.uint8), format="mp4"), "no frames"),
    (lambda p: tracklet.Video(np.zeros((3, 4, 4), np.uint8), format="mp4"), r"shape \(3, 4, 4\)"),
    (lambda p: tracklet.Video(_frames(), fps=0, format="mp4"), r"fps=0"),
])
def test_bad_videos_are_refused_at_the_call(tmp_path, make, message):
    path = tmp_path / "clip.mp4"
    path.write_bytes(tracklet.Video(_frames(), format="mp4")._encode(lambda b: ("", 0))[0])
    with pytest.raises(tracklet.UsageError, match=message):
        make(path)


def test_without_pyav_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "av", None)  # import av now fails
    with pytest.raises(tracklet.UsageError, match=r"needs PyAV \(av\).*pip install \"tracklet\[video\]\""):
        tracklet.Video(_frames(), format="mp4")
    assert tracklet.Video(_frames()).format == "gif"  # GIFs need only Pillow
