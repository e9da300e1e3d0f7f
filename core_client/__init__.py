"""tracklet: local-first experiment tracking with the wandb API.

>>> import tracklet
>>> run = tracklet.init(project="llm-finetuning", config={"learning_rate": 2e-4})
>>> run.log({"train/loss": 0.42})
>>> run.finish()
"""

from ._api import Api as Api
from ._artifact import Artifact as Artifact
from ._artifact import ArtifactEntry as ArtifactEntry
from ._api import ApiRun as ApiRun
from ._config import Config as Config
from ._errors import StoreError as StoreError
from ._errors import SyncError as SyncError
from ._errors import TrackletError as TrackletError
from ._errors import TrackletWarning as TrackletWarning
from ._errors import UsageError as UsageError
from ._init import _PreInit
from ._init import define_metric as define_metric
from ._init import finish as finish
from ._init import init as init
from ._init import log as log
from ._init import unwatch as unwatch
from ._init import watch as watch
from ._run import Run as Run
from ._summary import Summary as Summary
from ._version import __version__ as __version__

run: Run | None = None
config = _PreInit("config")
summary = _PreInit("summary")

__all__ = [
    "Api",
    "ApiRun",
    "Artifact",
    "ArtifactEntry",
    "Config",
    "Run",
    "StoreError",
    "Summary",
    "SyncError",
    "TrackletError",
    "TrackletWarning",
    "UsageError",
    "__version__",
    "config",
    "define_metric",
    "finish",
    "init",
    "log",
    "run",
    "summary",
    "unwatch",
    "watch",
]
