"""The exceptions tracklet raises, and the one-warning-per-cause helper.

    TrackletError
     ├── UsageError   (also a ValueError: bad input, raised at the call)
     ├── StoreError   (the store could not be opened, read or written)
     │    └── StoreDamagedError (its database file is damaged: rebuild it from the logs)
     └── SyncError    (records could not be moved from a write-ahead log into a store)
    RunStopped        (a BaseException: log() in a run its sweep stopped early)

Background failures never raise into training code: they become one
``TrackletWarning`` per cause that says what happened and where the data is.
"""

from __future__ import annotations

import threading
import warnings

__all__ = ["RunStopped", "StoreDamagedError", "StoreError", "SyncError", "TrackletError", "TrackletWarning", "UsageError"]


class TrackletError(Exception):
    """Base class of every error tracklet raises."""


class UsageError(TrackletError, ValueError):
    """Bad input to the API: the message names the value and the fix."""


class StoreError(TrackletError):
    """The store could not be opened, read or written."""


class StoreDamagedError(StoreError):
    """The store's database file is damaged; ``tracklet doctor --rebuild`` makes it anew from the runs' logs."""


class SyncError(TrackletError):
    """Records could not be moved from a write-ahead log into a store.

    ``offset``, when known: the bytes of the run's log the store holds, where a sender resumes.
    """

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset


class RunStopped(BaseException):
    """Raised by ``log()`` in a run its sweep stopped early (hyperband), so training ends there.

    A ``BaseException``, as ``KeyboardInterrupt``: an ``except Exception`` in a training loop lets it through.
    """


class TrackletWarning(UserWarning):
    """Something went wrong in the background; training goes on."""


_warned: set[str] = set()
_warned_lock = threading.Lock()


def warn_once(cause: str, message: str) -> None:
    """Warn about ``cause`` the first time it happens in this process, then stay quiet."""
    with _warned_lock:
        if cause in _warned:
            return
        _warned.add(cause)
    warnings.warn(message, TrackletWarning, stacklevel=3)
