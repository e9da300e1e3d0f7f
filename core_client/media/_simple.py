"""``Histogram``, ``Audio`` and ``Html``: small values stored as one blob each."""

from __future__ import annotations

import json
import math
import os

from .._errors import UsageError
from ._base import Media, has, need

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

__all__ = ["Audio", "Histogram", "Html"]

MAX_BINS = 512


def _floats(values: Any, what: str) -> list[float]:
    """``values`` (a list, a numpy array, a torch tensor) as a flat list of finite floats, or a UsageError naming the first bad one."""
    if has("torch"):
        import torch

        if isinstance(values, torch.Tensor):
            values = values.detach().to("cpu", dtype=torch.float64).reshape(-1).tolist()
    if has("numpy"):
        import numpy as np

        if isinstance(values, np.ndarray):
            if values.dtype.kind not in "biuf":
                raise UsageError(f"{what}: an array of dtype {values.dtype} is not numbers")
            arr = values.astype(np.float64).reshape(-1)
            bad = ~np.isfinite(arr)
            if bad.any():
                i = int(np.argmax(bad))
                raise UsageError(f"{what}: value {i} is {arr[i]}; a histogram takes finite numbers")
            return arr.tolist()
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise UsageError(f"{what}: takes a sequence of numbers; got {type(values).__name__}")
    out = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            if hasattr(v, "item") and not isinstance(v, bool):
                v = v.item()
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise UsageError(f"{what}: value {i} is a {type(v).__name__}; a histogram takes numbers")
        f = float(v)
        if not math.isfinite(f):
            raise UsageError(f"{what}: value {i} is {f}; a histogram takes finite numbers")
        out.append(f)
    return out


class Histogram(Media):
    """A histogram: ``tracklet.Histogram(values, num_bins=64)`` or ``tracklet.Histogram(np_histogram=(counts, edges))``.

    ``bins`` are the ``num_bins + 1`` edges and ``histogram`` the count in each bin, as in wandb.

    Raises:
        UsageError: NaN or infinite values (naming the first), edges that do not fit the counts, bins out of 1-512.
    """

    kind = "histogram"

    def __init__(self, sequence: Any = None, np_histogram: Any = None, num_bins: int = 64) -> None:
        if isinstance(num_bins, bool) or not isinstance(num_bins, int) or not 1 <= num_bins <= MAX_BINS:
            raise UsageError(f"Histogram(num_bins={num_bins!r}) must be an int from 1 to {MAX_BINS}")
        if np_histogram is not None:
            if sequence is not None:
                raise UsageError("Histogram() takes a sequence or np_histogram=(counts, edges), not both")
            try:
                counts, edges = np_histogram
            except (TypeError, ValueError):
                raise UsageError("Histogram(np_histogram=) takes (counts, edges), as numpy.histogram returns them") from None
            counts = _floats(counts, "Histogram counts")
            edges = _floats(edges, "Histogram edges")
            if len(edges) != len(counts) + 1:
                raise UsageError(f"Histogram: {len(counts)} counts need {len(counts) + 1} edges; got {len(edges)}")
            if not 1 <= len(counts) <= MAX_BINS:
                raise UsageError(f"Histogram: {len(counts)} bins; a histogram has 1 to {MAX_BINS}")
            if any(b < a for a, b in zip(edges, edges[1:])):
                raise UsageError("Histogram: the edges must not decrease")
            self.histogram = [int(c) if float(c).is_integer() else c for c in counts]
            self.bins = edges
            return
        if sequence is None:
            raise UsageError("Histogram() takes a sequence of numbers or np_histogram=(counts, edges)")
        values = _floats(sequence, "Histogram")
        self.histogram, self.bins = _bin(values, num_bins)

    def _encode(self, put: Callable[[bytes], tuple[str, int]]) -> tuple[bytes, dict[str, Any]]:
        data = json.dumps({"bins": self.bins, "values": self.histogram}, separators=(",", ":")).encode()
        return data, {"num_bins": len(self.histogram), "min": self.bins[0], "max": self.bins[-1]}

    @classmethod
    def _decode(cls, data: bytes, meta: dict[str, Any], get: Callable[[str], bytes]) -> Histogram:
        doc = json.loads(data)
        h = cls.__new__(cls)
        h.bins, h.histogram = doc["bins"], doc["values"]
        return h

    def __repr__(self) -> str:
        return f"<tracklet.Histogram {len(self.histogram)} bins [{self.bins[0]:g}, {self.bins[-1]:g}]>"


def _bin(values: list[float], num_bins: int) -> tuple[list[int], list[float]]:
    """``numpy.histogram(values, bins=num_bins)``: equal bins over [min, max], the last one closed."""
    if has("numpy"):
        import numpy as np

        counts, edges = np.histogram(np.asarray(values, dtype=np.float64), bins=num_bins)
        return counts.tolist(), edges.tolist()
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    width = (hi - lo) / num_bins
    edges = [lo + i * width for i in range(num_bins)] + [hi]
    counts = [0] * num_bins
    for v in values:
        counts[min(int((v - lo) / width), num_bins - 1)] += 1
    return counts, edges


class Audio(Media):
    """Sound: the path of a WAV, MP3, OGG or FLAC file (stored as it is), or samples (a 1-D array, or
    (samples, channels)) with ``sample_rate``, written as 16-bit WAV.

    Raises:
        UsageError: samples without a sample rate, an impossible shape or dtype, NaN samples, a missing or unknown file.
    """

    kind = "audio"
    _FORMATS = {b"RIFF": "wav", b"ID3": "mp3", b"\xff\xfb": "mp3", b"OggS": "ogg", b"fLaC": "flac"}

    def __init__(self, data_or_path: Any, sample_rate: int | None = None, caption: str | None = None) -> None:
        self.caption = None if caption is None else str(caption)
        self.sample_rate = sample_rate
        if isinstance(data_or_path, (str, os.PathLike)):
            from ._image import _read_file

            self._data = _read_file(data_or_path, "Audio")
            fmt = next((f for magic, f in self._FORMATS.items() if self._data.startswith(magic)), None)
            if fmt is None:
                raise UsageError(f"Audio: {os.fspath(data_or_path)!r} is not a WAV, MP3, OGG or FLAC file")
            self.format = fmt
            return
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate < 1:
            raise UsageError(f"Audio of samples needs sample_rate= (an int, e.g. 16000); got {sample_rate!r}")
        from ._image import _as_array

        np = need("numpy", "Audio of samples")
        arr = _as_array(data_or_path, "Audio")
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2 or arr.shape[0] == 0 or not 1 <= arr.shape[1] <= 16:
            raise UsageError(f"Audio: samples of shape {tuple(arr.shape)} cannot be played; give (samples,) or (samples, channels)")
        if arr.dtype.kind == "f":
            if not np.isfinite(arr).all():
                raise UsageError("Audio: the samples have NaN or infinite values")
            arr = np.clip(arr, -1.0, 1.0) * 32767.0
        elif arr.dtype.kind not in "iu":
            raise UsageError(f"Audio: samples of dtype {arr.dtype} cannot be played; give floats in [-1, 1] or int16")
        self._samples = np.ascontiguousarray(arr, dtype="<i2")
        self._data = None
        self.format = "wav"

    def _encode(self, put: Callable[[bytes], tuple[str, int]]) -> tuple[bytes, dict[str, Any]]:
        meta: dict[str, Any] = {"format": self.format}
        if self.sample_rate is not None:
            meta["sample_rate"] = self.sample_rate
        if self.caption is not None:
            meta["caption"] = self.caption
        if self._data is not None:
            return self._data, meta
        import io
        import wave

        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(self._samples.shape[1])
            w.setsampwidth(2)
            w.setframerate(self.sample_rate)
            w.writeframes(self._samples.tobytes())
        return buf.getvalue(), {**meta, "duration": self._samples.shape[0] / self.sample_rate}

    @classmethod
    def _decode(cls, data: bytes, meta: dict[str, Any], get: Callable[[str], bytes]) -> Audio:
        a = cls.__new__(cls)
        a.caption, a.sample_rate, a.format, a._data = meta.get("caption"), meta.get("sample_rate"), meta.get("format", "wav"), data
        return a

    @property
    def data(self) -> bytes | None:
        """The stored bytes (a file, or a read-back sound)."""
        return self._data


class Html(Media):
    """An HTML page (text, a file-like object or a path), stored as data; a viewer shows it in a sandboxed frame."""

    kind = "html"

    def __init__(self, data: Any, inject: bool = True) -> None:
        if isinstance(data, os.PathLike) or (isinstance(data, str) and len(data) < 4096 and data.endswith((".html", ".htm")) and os.path.isfile(data)):
            from ._image import _read_file

            data = _read_file(data, "Html").decode("utf-8", "replace")
        elif hasattr(data, "read"):
            data = data.read()
        if isinstance(data, bytes):
            data = data.decode("utf-8", "replace")
        if not isinstance(data, str):
            raise UsageError(f"Html() takes text, a file or a path; got {type(data).__name__}")
        self.html = data

    def _encode(self, put: Callable[[bytes], tuple[str, int]]) -> tuple[bytes, dict[str, Any]]:
        return self.html.encode("utf-8", "surrogatepass"), {"format": "html"}

    @classmethod
    def _decode(cls, data: bytes, meta: dict[str, Any], get: Callable[[str], bytes]) -> Html:
        h = cls.__new__(cls)
        h.html = data.decode("utf-8", "replace")
        return h
