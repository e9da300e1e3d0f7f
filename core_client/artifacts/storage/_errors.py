"""The storage engine's errors: each a ``StoreError`` or ``UsageError`` from ``tracklet._errors``.

    StoreError
     ├── MissingBlobError     (the blob store lacks a digest a manifest names)
     └── CorruptBlobError     (content read back does not match its digest)
    UsageError
     └── DownloadConflictError (the download folder holds different files at the manifest's paths)
"""

from __future__ import annotations

from ..._errors import StoreError, UsageError

__all__ = ["CorruptBlobError", "DownloadConflictError", "MissingBlobError"]


class MissingBlobError(StoreError):
    """The blob store has no blob with the requested digest."""


class CorruptBlobError(StoreError):
    """Content read back does not hash to the digest it was stored under."""


class DownloadConflictError(UsageError):
    """The download folder already holds different files where the artifact's files go."""

    def __init__(self, message: str, paths: list[str]) -> None:
        super().__init__(message)
        self.paths = paths
