"""wandb's error names on tracklet's error tree, so ``except wandb.errors.X`` works under ``import tracklet as wandb``.

    Error (= TrackletError)
     ├── UsageError (= tracklet.UsageError, also a ValueError)
     │    └── UnsupportedError   wandb's name for "this call has no local meaning"
     └── CommError (= tracklet.StoreError: the store, tracklet's "server", could not be reached)
          └── AuthenticationError   never raised locally: no account is needed

Example:
    >>> import tracklet as wandb
    >>> try:
    ...     wandb.init(mode="cloud")
    ... except wandb.errors.UsageError as e:
    ...     print(e)

A missing artifact or run raises ``UsageError`` (as every lookup in tracklet does), not
wandb's ``CommError``: ask ``Api().artifact_exists(name)`` or catch ``Error``.
"""

from __future__ import annotations

from ._errors import StoreError, TrackletError, UsageError

__all__ = [
    "AuthenticationError",
    "CommError",
    "Error",
    "UnsupportedError",
    "UsageError",
    "WandbCoreNotAvailableError",
]

Error = TrackletError
CommError = StoreError


class AuthenticationError(CommError):
    """The server refused the API key (a team server's error; the local store needs no key)."""


class UnsupportedError(UsageError):
    """The call is recognised but has no meaning in tracklet."""


class WandbCoreNotAvailableError(TrackletError):
    """wandb's core binary is missing; tracklet has none, so this is never raised."""
