"""tracklet: local-first experiment tracking with the wandb API.

>>> import tracklet
>>> run = tracklet.init(project="llm-finetuning", config={"learning_rate": 2e-4})
>>> run.log({"train/loss": 0.42})
>>> run.finish()
"""

from .api._api import Api as Api
from .artifacts._artifact import Artifact as Artifact
from .artifacts._artifact import ArtifactEntry as ArtifactEntry
from .api._run import ApiRun as ApiRun
from ._compat import AlertLevel as AlertLevel
from ._compat import Settings as Settings
from ._compat import login as login
from ._compat import require as require
from ._compat import setup as setup
from ._compat import teardown as teardown
from ._compat import termerror as termerror
from ._compat import termlog as termlog
from ._compat import termwarn as termwarn
from .tracking._config import Config as Config
from ._errors import StoreError as StoreError
from ._errors import SyncError as SyncError
from ._errors import TrackletError as TrackletError
from ._errors import TrackletError as Error  # wandb's name for the base of its errors
from ._errors import TrackletWarning as TrackletWarning
from ._errors import UsageError as UsageError
from .media import Audio as Audio
from .media import Histogram as Histogram
from .media import Html as Html
from .media import Image as Image
from .media import Table as Table
from .media import Video as Video
from .media import plot as plot
from .sweeps import agent as agent
from .sweeps import sweep as sweep
from .tracking._init import _PreInit
from .tracking._init import alert as alert
from .tracking._init import define_metric as define_metric
from .tracking._init import finish as finish
from .tracking._init import init as init
from .tracking._init import link_model as link_model
from .tracking._init import log as log
from .tracking._init import log_artifact as log_artifact
from .tracking._init import log_model as log_model
from .tracking._init import mark_preempting as mark_preempting
from .tracking._init import save as save
from .tracking._init import unwatch as unwatch
from .tracking._init import use_artifact as use_artifact
from .tracking._init import use_model as use_model
from .tracking._init import watch as watch
from .tracking._run import Run as Run
from .tracing import attributes as attributes
from .tracing import get_current_call as get_current_call
from .tracing import init_tracing as init_tracing
from .tracing import Prompt as Prompt
from .tracing import op as op
from .tracing import publish as publish
from .tracing import ref as ref
from .tracing import set_price as set_price
from .tracking._summary import Summary as Summary
from ._version import __version__ as __version__
from . import errors as errors

run: Run | None = None


_LAZY = ("ContextExecutor", "Evaluation", "Scorer")


def __getattr__(name: str) -> object:
    if name in _LAZY:  # concurrent.futures, asyncio: loaded only when used
        from . import tracing

        return getattr(tracing, name)
    if name == "util":  # wandb.util.generate_id(): the module, imported when asked for
        import importlib

        return importlib.import_module(f"{__name__}.util")
    raise AttributeError(f"module 'tracklet' has no attribute {name!r}")


config = _PreInit("config")
summary = _PreInit("summary")

__all__ = [
    "AlertLevel",
    "Api",
    "ApiRun",
    "Artifact",
    "ArtifactEntry",
    "Audio",
    "Config",
    "ContextExecutor",
    "Error",
    "Evaluation",
    "Histogram",
    "Html",
    "Image",
    "Prompt",
    "Run",
    "Scorer",
    "Settings",
    "StoreError",
    "Summary",
    "SyncError",
    "Table",
    "TrackletError",
    "TrackletWarning",
    "UsageError",
    "Video",
    "__version__",
    "agent",
    "alert",
    "attributes",
    "config",
    "define_metric",
    "errors",
    "finish",
    "get_current_call",
    "init",
    "init_tracing",
    "link_model",
    "log",
    "log_artifact",
    "log_model",
    "login",
    "mark_preempting",
    "op",
    "plot",
    "publish",
    "ref",
    "require",
    "run",
    "save",
    "set_price",
    "setup",
    "summary",
    "sweep",
    "teardown",
    "termerror",
    "termlog",
    "termwarn",
    "unwatch",
    "use_artifact",
    "use_model",
    "watch",
]
