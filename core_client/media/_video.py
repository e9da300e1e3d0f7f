"""Frames made into a playable video: MP4 (H.264) or WebM (VP9) through PyAV, whose wheels bundle FFmpeg with
its x264 and libvpx encoders, so nothing else need be installed. GIFs are Pillow's (``_image.Video``).

PyAV, not imageio-ffmpeg: encoding in process from numpy frames, one wheel (~35 MB), no FFmpeg executable to
start per video. Debian's Chromium plays both (``canPlayType`` answers "probably" for avc1 and vp9).
"""

from __future__ import annotations

from .._errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["CODECS", "VIDEO_EXTRA", "check_encoder", "encode"]

VIDEO_EXTRA = 'pip install "tracklet[video]"'
#: container -> FFmpeg encoder
CODECS = {"mp4": "libx264", "webm": "libvpx-vp9"}


def check_encoder(fmt: str) -> None:
    """Raise ``UsageError`` naming the extra when PyAV is not installed (checked at the call, imported later)."""
    import importlib.util

    try:
        found = importlib.util.find_spec("av") is not None
    except ValueError:  # sys.modules["av"] is None: import blocked
        found = False
    if not found:
        raise UsageError(f"Video(format={fmt!r}) needs PyAV (av), which is not installed. Install it with: {VIDEO_EXTRA}")


def encode(frames: list[Any], fps: float, fmt: str) -> bytes:
    """An MP4 or WebM of ``frames`` (uint8 arrays (H, W, C), C in 1..4) at ``fps`` frames a second.

    Frames are made RGB (gray repeated, alpha dropped) and yuv420p, which every player reads; an odd side is
    padded by one pixel repeating the edge, as yuv420p needs even sides. An MP4's index (``moov``) comes before
    its frames ("faststart"), so a player starts before the whole file has arrived.
    """
    import io
    import os
    import tempfile

    if fmt != "mp4":
        buf = io.BytesIO()
        _write(buf, frames, fps, fmt, {})
        return buf.getvalue()
    with tempfile.TemporaryDirectory(prefix="tracklet-video-") as tmp:  # faststart rewrites the file by its name
        path = os.path.join(tmp, "video.mp4")
        _write(path, frames, fps, fmt, {"movflags": "+faststart"})
        with open(path, "rb") as f:
            return f.read()


def _write(target: Any, frames: list[Any], fps: float, fmt: str, options: dict[str, str]) -> None:
    from fractions import Fraction

    import av
    import numpy as np

    h, w = frames[0].shape[:2]
    with av.open(target, mode="w", format=fmt, options=options) as out:
        stream = out.add_stream(CODECS[fmt], rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = w + w % 2, h + h % 2, "yuv420p"
        for f in frames:
            rgb = np.repeat(f[:, :, :1], 3, axis=2) if f.shape[2] < 3 else f[:, :, :3]
            if h % 2 or w % 2:
                rgb = np.pad(rgb, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
            out.mux(stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")))
        out.mux(stream.encode())
