"""Lightning (``lightning.pytorch``) → tracklet: ``Trainer(logger=TrackletLogger(project="my-project"))``.

Example:
    >>> from lightning.pytorch import Trainer
    >>> from tracklet.integrations.lightning import TrackletLogger
    >>> trainer = Trainer(logger=TrackletLogger(project="my-project", log_model=True))

For ``pytorch_lightning``, use ``tracklet.integrations.pytorch_lightning.TrackletLogger``: the same
logger over that namespace's base classes.
"""

from __future__ import annotations

from lightning.fabric.loggers.logger import _DummyExperiment
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import Logger

from ._lightning import LoggerImpl, MonitorImpl

__all__ = ["TrackletLogger", "TrackletMonitor", "callbacks_factory"]


class TrackletLogger(LoggerImpl, Logger):
    __doc__ = LoggerImpl.__doc__
    _dummy_experiment = _DummyExperiment


class TrackletMonitor(MonitorImpl, Callback):
    __doc__ = MonitorImpl.__doc__


def callbacks_factory() -> list[Callback]:
    """Lightning's ``lightning.pytorch.callbacks_factory`` entry point: one ``TrackletMonitor`` per Trainer."""
    return [TrackletMonitor()]
