"""What every rich value has in common: a kind, a check at the call, an encoding to bytes off the training thread.

A ``Media`` object is checked when it is made (bad input raises ``UsageError`` there, before
anything is written). ``log()`` keeps a reference and queues it; the run's background thread
calls ``_encode`` and stores the bytes once by content digest (``<dir>/blobs``). Reading back,
``_decode`` makes the object again from those bytes and the entry's ``meta``.
"""

from __future__ import annotations

from .._errors import UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

__all__ = ["EXTRA", "Media", "need"]

EXTRA = 'pip install "tracklet[media]"'


def need(module: str, what: str) -> Any:
    """Import ``module`` (numpy, pandas, pyarrow, PIL) for ``what``, or say which extra brings it."""
    import sys

    found = sys.modules.get(module)  # every Image() asks for numpy: the import system only the first time
    if found is not None:
        return found
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        top = module.split(".")[0]
        raise UsageError(f"{what} needs {'Pillow' if top == 'PIL' else top}, which is not installed. Install it with: {EXTRA}") from None


def has(module: str) -> bool:
    """Whether ``module`` is already imported (so checking a value against its types costs no import)."""
    import sys

    return module in sys.modules


class Media:
    """Base of Table, Image, Histogram, Audio, Video, Html and plot charts."""

    #: the ``kind`` stored with each entry: "table", "image", "histogram", "audio", "video", "html", "plot"
    kind = ""

    def _encode(self, put: Callable[[bytes], tuple[str, int]]) -> tuple[bytes, dict[str, Any]]:
        """The bytes to store, and the entry's ``meta`` (JSON). ``put`` stores nested blobs (images in a table)
        and returns their ``(digest, size)``. Runs on the run's background thread."""
        raise NotImplementedError

    @classmethod
    def _decode(cls, data: bytes, meta: dict[str, Any], get: Callable[[str], bytes]) -> Media:
        """The object again, from its stored bytes; ``get`` reads a nested blob by digest."""
        raise NotImplementedError

    def _freeze(self) -> Media:
        """What ``log()`` queues: this object, made safe from changes the caller makes after the call."""
        return self


def kinds() -> dict[str, type[Media]]:
    """Kind name -> class, for reading entries back."""
    from ._image import Image, Video
    from ._simple import Audio, Histogram, Html
    from ._table import Table
    from .plot import Chart

    return {c.kind: c for c in (Table, Image, Video, Audio, Histogram, Html, Chart)}
