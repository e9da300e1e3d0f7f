"""For code that builds on tracklet, the framework integrations among them: the helpers tracklet uses itself.

>>> from tracklet.util import generate_id, to_jsonable, warn_once
>>> to_jsonable({"dtype": torch.float16, "layers": (4, 8)}, "model_config", quiet=True)
{'dtype': 'torch.float16', 'layers': [4, 8]}
>>> warn_once("my-hook:lr", "my_integration: no learning rate found; training goes on")
"""

from ._errors import warn_once
from ._ids import new_run_id
from ._jsonable import to_jsonable

__all__ = ["generate_id", "to_jsonable", "warn_once"]


def generate_id(length: int = 8) -> str:
    """A new run id in tracklet's form (``[a-z0-9]``), as ``wandb.util.generate_id``: for fixing a run's id
    before the run starts (``tracklet.init(id=..., resume="allow")`` in every process of a job)."""
    if not isinstance(length, int) or not 1 <= length <= 64:
        from ._errors import UsageError

        raise UsageError(f"generate_id(length=...) takes 1 to 64; got {length!r}")
    return new_run_id(length)
