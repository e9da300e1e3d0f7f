"""Rich values for ``log()``: ``Table``, ``Image``, ``Histogram``, ``Audio``, ``Video``, ``Html`` and ``plot`` charts.

Importing this room imports no numpy, pandas, pyarrow or Pillow: each object imports what it
needs when it is made, and says ``pip install "tracklet[media]"`` when that is missing. ``log()``
hands these objects to ``_log.queue``, which stores them off the training thread.
"""

from . import plot as plot
from ._base import Media as Media
from ._image import Image as Image
from ._image import Video as Video
from ._simple import Audio as Audio
from ._simple import Histogram as Histogram
from ._simple import Html as Html
from ._table import Table as Table

__all__ = ["Audio", "Histogram", "Html", "Image", "Media", "Table", "Video", "plot"]
