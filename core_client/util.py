"""For code that builds on tracklet, the framework integrations among them: the helpers tracklet uses itself.

>>> from tracklet.util import to_jsonable, warn_once
>>> to_jsonable({"dtype": torch.float16, "layers": (4, 8)}, "model_config", quiet=True)
{'dtype': 'torch.float16', 'layers': [4, 8]}
>>> warn_once("my-hook:lr", "my_integration: no learning rate found; training goes on")
"""

from ._errors import warn_once
from ._jsonable import to_jsonable

__all__ = ["to_jsonable", "warn_once"]
