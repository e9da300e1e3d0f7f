"""PyTorch Lightning (``pytorch_lightning``) → tracklet: ``Trainer(logger=TrackletLogger(project="my-project"))``.

Example:
    >>> from pytorch_lightning import Trainer
    >>> from tracklet.integrations.pytorch_lightning import TrackletLogger
    >>> trainer = Trainer(logger=TrackletLogger(project="my-project", log_model=True))

For ``lightning.pytorch``, use ``tracklet.integrations.lightning.TrackletLogger``: the same
logger over that namespace's base classes.
"""

from __future__ import annotations

from lightning_fabric.loggers.logger import _DummyExperiment
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.loggers import Logger

from ._lightning import LoggerImpl, MonitorImpl

__all__ = ["TrackletLogger", "TrackletMonitor", "callbacks_factory"]


class TrackletLogger(LoggerImpl, Logger):
    __doc__ = LoggerImpl.__doc__
    _dummy_experiment = _DummyExperiment


class TrackletMonitor(MonitorImpl, Callback):
    __doc__ = MonitorImpl.__doc__


def callbacks_factory() -> list[Callback]:
    """Lightning's ``pytorch_lightning.callbacks_factory`` entry point: one ``TrackletMonitor`` per Trainer."""
    return [TrackletMonitor()]
