"""``tracklet login URL``: check a key against a server, then keep it in the credentials file (0600)."""

from __future__ import annotations

from .._errors import UsageError
from ._credentials import normalize_url, store_key
from ._http import Client, RemoteError

__all__ = ["check_key", "login"]


def check_key(base_url: str, api_key: str | None) -> None:
    """Raise ``UsageError`` unless the server answers ``/ready`` and takes ``api_key`` on an authenticated route."""
    client = Client(base_url, api_key)
    try:
        try:
            client.request("GET", "/ready", timeout=(5.0, 15.0))
        except RemoteError as e:
            raise UsageError(f"{e}. Is it a tracklet server, and running?") from None
        try:
            client.request("GET", "/projects", timeout=(5.0, 30.0))
        except RemoteError as e:
            if e.status in (401, 403):
                raise UsageError(f"{client.base_url} refused this key ({e.status}); nothing was stored") from None
            raise UsageError(str(e)) from None
    finally:
        client.close()


def login(base_url: str, api_key: str | None, verify: bool = True) -> str:
    """Check the key (unless ``verify`` is false) and store it for ``base_url`` as the default server; returns the file."""
    url = normalize_url(base_url)
    if verify:
        check_key(url, api_key)
    return store_key(url, api_key or "")
