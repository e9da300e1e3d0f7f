"""``Image`` (stored as PNG, once by content) and ``Video`` (a file as it is, or frames made into a GIF by Pillow,
an MP4 or a WebM by PyAV: ``_video.py``).

An array is checked and copied when the object is made; ``log()`` writes its pixels to the run's
log and the store makes the PNG (``_pixels``), with a small encoder of its own (zlib, filter 0),
so an array needs numpy but not Pillow. Pillow is needed for PIL images, for ``mode=``, for GIFs and to read pixels back.
"""

from __future__ import annotations

import os
import struct
import sys
import zlib

from .._errors import UsageError
from ._base import Media, has, need
from ._pixels import MAX_PIXELS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

__all__ = ["Image", "Video", "figure_png", "is_figure", "png_bytes", "png_of_pixels"]

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_IMAGE_FORMATS = {_PNG_MAGIC: "png", b"\xff\xd8\xff": "jpeg", b"GIF87a": "gif", b"GIF89a": "gif", b"BM": "bmp"}
_VIDEO_FORMATS = {b"GIF87a": "gif", b"GIF89a": "gif", b"\x1aE\xdf\xa3": "webm", b"OggS": "ogg"}
_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
_COLOR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type
MAX_SIDE = 1 << 15


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


# zlib level 1: a 64x64 RGB image takes a third of level 6's time (the uploads thread's largest cost per image)
PNG_LEVEL = 1


def png_bytes(pixels: Any) -> bytes:
    """A PNG of a uint8 array (H, W, C) with C in 1..4: filter 0 rows, zlib level ``PNG_LEVEL``."""
    h, w, c = pixels.shape
    return png_of_rows(w, h, c, _rows_filtered(pixels))


def png_of_pixels(h: int, w: int, c: int, pixels: bytes) -> bytes:
    """:func:`png_bytes` of the bytes of a C-ordered uint8 (H, W, C) array, without numpy (the store's, for an IMAGE record: ``_pixels``)."""
    row = w * c
    view = memoryview(pixels)
    return png_of_rows(w, h, c, b"\0" + b"\0".join([view[i : i + row] for i in range(0, h * row, row)]))


def png_of_rows(w: int, h: int, c: int, rows: bytes) -> bytes:
    """A PNG of ``rows``: the image's ``h`` rows of ``w * c`` bytes, each after its filter byte 0."""
    head = struct.pack(">IIBBBBB", w, h, 8, _COLOR_TYPE[c], 0, 0, 0)
    return _PNG_MAGIC + _chunk(b"IHDR", head) + _chunk(b"IDAT", zlib.compress(rows, PNG_LEVEL)) + _chunk(b"IEND", b"")


def _rows_filtered(pixels: Any) -> bytes:
    import numpy as np

    h = pixels.shape[0]
    flat = pixels.reshape(h, -1)
    return np.concatenate([np.zeros((h, 1), np.uint8), flat], axis=1).tobytes()


def _sniff(data: bytes, formats: dict[bytes, str]) -> str | None:
    for magic, name in formats.items():
        if data.startswith(magic):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and formats is _IMAGE_FORMATS:
        return "webp"
    if data[4:8] == b"ftyp" and formats is _VIDEO_FORMATS:
        return "mp4"
    return None


def _read_file(path: Any, what: str) -> bytes:
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise UsageError(f"{what}: no file {path!r}") from None
    except IsADirectoryError:
        raise UsageError(f"{what}: {path!r} is a folder; give a file") from None


def _as_array(data: Any, what: str) -> Any:
    """A numpy array of ``data`` (numpy, a torch tensor, nested lists)."""
    np = sys.modules.get("numpy")
    if np is not None and type(data) is np.ndarray:  # the common case, without the checks below
        return data
    if has("torch"):
        import torch

        if isinstance(data, torch.Tensor):
            need("numpy", what)
            return data.detach().to("cpu").numpy()
    np = need("numpy", what)
    try:
        return np.asarray(data)
    except (ValueError, TypeError) as e:
        raise UsageError(f"{what}: cannot read {type(data).__name__} as an array ({e})") from None


def to_pixels(arr: Any, what: str, channels_first: bool) -> Any:
    """A contiguous uint8 (H, W, C) copy of an image array, or a UsageError naming the shape or dtype.

    Floats: in [0, 1] are scaled by 255; with values below 0, [-1, 1] is mapped to [0, 255], as wandb does.
    """
    import numpy as np

    kind = arr.dtype.kind
    if kind not in "biuf":
        raise UsageError(f"{what}: an image of dtype {arr.dtype} cannot be drawn; give uint8 (0-255), floats (0-1) or bools")
    if arr.ndim == 3 and channels_first and arr.shape[0] in (1, 3, 4) and arr.shape[-1] not in (1, 3, 4):
        arr = arr.transpose(1, 2, 0)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 2, 3, 4):
        raise UsageError(
            f"{what}: an image of shape {tuple(arr.shape)} cannot be drawn; give (height, width), "
            "(height, width, channels) or (channels, height, width) with 1, 3 or 4 channels"
        )
    h, w = arr.shape[0], arr.shape[1]
    if h == 0 or w == 0 or h > MAX_SIDE or w > MAX_SIDE:
        raise UsageError(f"{what}: an image of shape {tuple(arr.shape)} cannot be drawn; each side is 1 to {MAX_SIDE} pixels")
    if kind == "b":
        return np.ascontiguousarray(arr, dtype=np.uint8) * np.uint8(255)
    if kind == "f":
        if not np.isfinite(arr).all():
            raise UsageError(f"{what}: the image has NaN or infinite values; they cannot be drawn")
        lo = float(arr.min())
        arr = (arr + 1.0) * 127.5 if lo < 0 else (arr * 255.0 if float(arr.max()) <= 1.0 else arr)
        return np.ascontiguousarray(np.clip(np.rint(arr), 0, 255), dtype=np.uint8)
    if arr.dtype != np.uint8:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi > 255:
            raise UsageError(f"{what}: integer pixels run from {lo} to {hi}; an {arr.dtype} image holds 0-255 (or give floats in 0-1)")
    return np.array(arr, dtype=np.uint8, order="C", copy=True)


class Image(Media):
    """An image, stored as PNG once by content: ``run.log({"samples": [tracklet.Image(arr, caption="step 10")]})``.

    Args:
        data_or_path: a numpy array or torch tensor ((H, W), (H, W, C) or (C, H, W); C is 1, 3 or 4;
            uint8, bools, or floats in 0-1), a PIL image, a matplotlib figure (or ``matplotlib.pyplot``: its
            current figure; drawn as PNG when the Image is made), or the path of a PNG, JPEG, GIF, BMP or WebP
            file (stored as it is).
        caption: text shown with it.
        mode: a PIL mode (``"L"``, ``"RGB"``, ``"RGBA"``) to convert to (needs Pillow).
        masks: wandb's segmentation masks: ``{name: {"mask_data": (H, W) class ids 0-255, "class_labels": {id: name}}}``.
        boxes: wandb's bounding boxes: ``{name: {"box_data": [{"position": {"minX", "maxX", "minY", "maxY"}
            (fractions of the image, or pixels with ``"domain": "pixel"``), "class_id", "box_caption", "scores"}],
            "class_labels": {id: name}}}``.

    Raises:
        UsageError: an impossible shape or dtype, NaN pixels, a missing or unknown file.
    """

    kind = "image"

    def __init__(self, data_or_path: Any, caption: str | None = None, mode: str | None = None, masks: Any = None,
                 boxes: Any = None, **_ignored: Any) -> None:
        if caption is not None and not isinstance(caption, str):
            caption = str(caption)
        self.caption = caption
        self._masks: dict[str, Any] = {}
        self._boxes: dict[str, Any] = {}
        self._pixels: Any = None  # uint8 (H, W, C)
        self._pil: Any = None
        self._data: bytes | None = None  # stored bytes as given (a file)
        self.format = "png"
        if isinstance(data_or_path, (str, os.PathLike)):
            data = _read_file(data_or_path, "Image")
            fmt = _sniff(data, _IMAGE_FORMATS)
            if fmt is None:
                raise UsageError(f"Image: {os.fspath(data_or_path)!r} is not a PNG, JPEG, GIF, BMP or WebP file")
            self._data, self.format = data, fmt
            if mode is not None:
                self._pil = self._open().convert(mode)
                self._data, self.format = None, "png"
        elif is_figure(data_or_path):
            self._data = figure_png(data_or_path)
            if mode is not None:
                self._pil = self._open().convert(mode)
                self._data = None
        elif has("PIL") and _is_pil(data_or_path):
            self._pil = data_or_path.convert(mode) if mode is not None else data_or_path.copy()
        else:
            pixels = to_pixels(_as_array(data_or_path, "Image"), "Image", channels_first=True)
            if mode is not None:
                pil = need("PIL.Image", "Image(mode=)")
                self._pil = pil.fromarray(pixels[:, :, 0] if pixels.shape[2] == 1 else pixels).convert(mode)
            else:
                self._pixels = pixels
        if masks is not None or boxes is not None:
            from ._overlays import check_boxes, check_masks

            self._masks = {} if masks is None else check_masks(masks, self._known_size())
            self._boxes = {} if boxes is None else check_boxes(boxes)

    @property
    def width(self) -> int:
        return self._size()[0]

    @property
    def height(self) -> int:
        return self._size()[1]

    def _known_size(self) -> tuple[int, int] | None:
        """(width, height) where it is known without decoding a file (an array, a PIL image, a PNG's header)."""
        if self._pixels is not None or self._pil is not None:
            return self._size()
        if self._data is not None and self._data.startswith(_PNG_MAGIC) and self._data[12:16] == b"IHDR":
            return struct.unpack(">II", self._data[16:24])  # a PNG says its size first
        return None

    @property
    def masks(self) -> dict[str, dict[str, Any]]:
        """wandb's ``masks``: ``{name: {"mask_data": (H, W) class ids, "class_labels": {id: name}}}`` (read back: needs Pillow)."""
        from ._overlays import decode_masks, labels_back

        if getattr(self, "_masks_meta", None):
            return decode_masks(self._masks_meta, self._get)
        return {n: {"mask_data": m["mask_data"], "class_labels": labels_back(m["class_labels"])} for n, m in self._masks.items()}

    @property
    def boxes(self) -> dict[str, dict[str, Any]]:
        """wandb's ``boxes``: ``{name: {"box_data": [{"position", "class_id", "box_caption", "scores"}...], "class_labels"}}``."""
        from ._overlays import labels_back

        return {n: {"box_data": b["box_data"], "class_labels": labels_back(b["class_labels"])} for n, b in self._boxes.items()}

    def _size(self) -> tuple[int, int]:
        if self._pixels is not None:
            return self._pixels.shape[1], self._pixels.shape[0]
        return self.image.size

    @property
    def image(self) -> Any:
        """The image as a PIL image (needs Pillow)."""
        if self._pil is None:
            self._pil = self._open()
        return self._pil

    def _open(self) -> Any:
        import io

        pil = need("PIL.Image", "reading an Image's pixels")
        if self._data is None:
            self._data = self._bytes()
        return pil.open(io.BytesIO(self._data))

    def to_numpy(self) -> Any:
        """The pixels as a numpy array (H, W) or (H, W, C)."""
        np = need("numpy", "Image.to_numpy()")
        if self._pixels is not None:
            return self._pixels[:, :, 0] if self._pixels.shape[2] == 1 else self._pixels.copy()
        return np.asarray(self.image)

    def _bytes(self) -> bytes:
        if self._data is not None:
            return self._data
        if self._pixels is not None:
            return png_bytes(self._pixels)
        import io

        buf = io.BytesIO()
        self._pil.save(buf, format="PNG")
        return buf.getvalue()

    def _encode(self, put: Callable[[bytes], tuple[str, int]]) -> tuple[bytes, dict[str, Any]]:
        meta = self._meta()
        if self._masks:
            from ._overlays import encode_masks

            meta["masks"] = encode_masks(self._masks, put)  # gray PNGs of their own, named in refs
        if self._boxes:
            meta["boxes"] = self._boxes
        return self._bytes(), meta

    def _meta(self) -> dict[str, Any]:
        """The entry's ``meta``: format, width and height (of a file stored as it is: a PNG's only), caption."""
        meta: dict[str, Any] = {"format": self.format}
        size = self._known_size()
        if size is not None:
            meta["width"], meta["height"] = size
        if self.caption is not None:
            meta["caption"] = self.caption
        return meta

    def _pixels_only(self) -> bool:
        """Whether ``log()`` may write this image as its pixels (``_pixels``): an array, nothing drawn over it, not huge."""
        return self._pixels is not None and not self._masks and not self._boxes and self._pixels.nbytes <= MAX_PIXELS

    @classmethod
    def _decode(cls, data: bytes, meta: dict[str, Any], get: Callable[[str], bytes]) -> Image:
        img = cls.__new__(cls)
        img.caption = meta.get("caption")
        img._pixels = img._pil = None
        img._data, img.format = data, meta.get("format", "png")
        img._masks, img._boxes = {}, meta.get("boxes") or {}
        img._masks_meta, img._get = meta.get("masks") or {}, get
        return img

    def __repr__(self) -> str:
        return f"<tracklet.Image {self.format}{'' if self.caption is None else f' {self.caption!r}'}>"


def _is_pil(value: Any) -> bool:
    import PIL.Image

    return isinstance(value, PIL.Image.Image)


def is_figure(value: Any) -> bool:
    """A matplotlib figure, or ``matplotlib.pyplot`` itself (its current figure), which wandb's ``Image`` and
    ``log()`` take; costs nothing where matplotlib was never imported."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None and "matplotlib" not in sys.modules:
        return False
    if value is pyplot and pyplot is not None:
        return True
    return type(value).__module__.startswith("matplotlib.") and callable(getattr(value, "savefig", None))


def figure_png(value: Any) -> bytes:
    """The PNG of a matplotlib figure (of pyplot's current figure for ``pyplot``) as it is drawn now."""
    import io

    figure = value.gcf() if value is sys.modules.get("matplotlib.pyplot") else value
    buf = io.BytesIO()
    try:
        figure.savefig(buf, format="png")
    except Exception as e:  # a figure that cannot be drawn (a bad artist): said at the call, as for a bad array
        raise UsageError(f"Image: the matplotlib figure could not be drawn as PNG ({type(e).__name__}: {e})") from None
    return buf.getvalue()


class Video(Media):
    """A video, as wandb's ``Video(data_or_path, caption, fps, format)``: frames as an array (time, channels,
    height, width) made into a GIF (Pillow), an MP4 (H.264) or a WebM (VP9) (PyAV: ``tracklet[video]``), or the
    path of an MP4, WebM, OGG or GIF file, stored as it is.

        >>> run.log({"rollout": tracklet.Video(frames, fps=8, format="mp4")})

    Raises:
        UsageError: an impossible shape or dtype, a missing or unknown file, a format the frames cannot be made
            into, or the library a format needs not installed (the message names the extra).
    """

    kind = "video"

    def __init__(self, data_or_path: Any, caption: str | None = None, fps: int | float | None = None,
                 format: str | None = None, **_ignored: Any) -> None:
        from ._video import CODECS, check_encoder

        self.caption = None if caption is None else str(caption)
        fps = 4 if fps is None else fps
        if not isinstance(fps, (int, float)) or isinstance(fps, bool) or not 0 < fps <= 1000:
            raise UsageError(f"Video(fps={fps!r}) must be a number above 0 (at most 1000)")
        self.fps = fps
        self._frames: Any = None
        self._data: bytes | None = None
        if isinstance(data_or_path, (str, os.PathLike)):
            data = _read_file(data_or_path, "Video")
            fmt = _sniff(data, _VIDEO_FORMATS)
            if fmt is None:
                raise UsageError(f"Video: {os.fspath(data_or_path)!r} is not an MP4, WebM, OGG or GIF file")
            if format is not None and format != fmt:
                raise UsageError(f"Video(format={format!r}): {os.fspath(data_or_path)!r} holds {fmt}, stored as it is; leave format out")
            self._data, self.format = data, fmt
            return
        fmt = "gif" if format is None else format
        if fmt != "gif" and fmt not in CODECS:
            raise UsageError(f"Video(format={format!r}): frames are made into gif, {', '.join(CODECS)}; give one of them")
        if fmt == "gif":
            need("PIL.Image", "Video of frames (written as a GIF)")
        else:
            check_encoder(fmt)
        arr = _as_array(data_or_path, "Video")
        if arr.ndim != 4:
            raise UsageError(f"Video: frames of shape {tuple(arr.shape)} cannot be played; give (time, channels, height, width)")
        if arr.shape[0] == 0:
            raise UsageError("Video: no frames; give at least one (time, channels, height, width)")
        self._frames = [to_pixels(frame, f"Video frame {i}", channels_first=True) for i, frame in enumerate(arr)]
        self.format = fmt

    def _encode(self, put: Callable[[bytes], tuple[str, int]]) -> tuple[bytes, dict[str, Any]]:
        meta: dict[str, Any] = {"format": self.format, "fps": self.fps}
        if self.caption is not None:
            meta["caption"] = self.caption
        if self._data is not None:
            return self._data, meta
        h, w = self._frames[0].shape[:2]
        meta.update(width=w, height=h, frames=len(self._frames))
        if self.format != "gif":
            from ._video import encode

            return encode(self._frames, self.fps, self.format), meta
        import io

        import PIL.Image

        frames = [PIL.Image.fromarray(f[:, :, 0] if f.shape[2] == 1 else f) for f in self._frames]
        buf = io.BytesIO()
        frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=int(1000 / self.fps), loop=0)
        return buf.getvalue(), meta

    @classmethod
    def _decode(cls, data: bytes, meta: dict[str, Any], get: Callable[[str], bytes]) -> Video:
        v = cls.__new__(cls)
        v.caption, v.fps, v.format = meta.get("caption"), meta.get("fps", 4), meta.get("format", "gif")
        v._frames, v._data = None, data
        return v

    @property
    def data(self) -> bytes | None:
        """The stored bytes (a read-back video)."""
        return self._data
