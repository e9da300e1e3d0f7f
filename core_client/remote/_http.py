"""One ``requests`` session per server: the key in a header, errors sorted into transient and final.

Transient (retry with backoff): no connection, a timeout, 408, 429 and 5xx. Final (retrying cannot
help; say it once): 400, 401, 403, 404, 413, 422 and any other 4xx. The key travels only in the
``Authorization`` header; every message this module makes has it taken out, whatever a server sent.
"""

from __future__ import annotations

import random
import time
from email.utils import parsedate_to_datetime

import requests

from .._version import __version__
from .._errors import TrackletError
from ._credentials import normalize_url

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["RemoteError", "Client", "backoff_delay", "retry_after"]

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 120.0  # a batch is stored before the server answers: a few MiB of records take well under this
TRANSIENT_STATUS = frozenset((408, 425, 429, 500, 502, 503, 504))


class RemoteError(TrackletError):
    """A request that did not succeed: ``status`` (None when no answer came), ``transient``, ``retry_after`` (s)."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.body = body if isinstance(body, dict) else {}

    @property
    def transient(self) -> bool:
        return self.status is None or self.status in TRANSIENT_STATUS or self.status >= 500


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def backoff_delay(attempt: int, base: float = 0.5, cap: float = 30.0, hint: float | None = None) -> float:
    """Exponential backoff with full jitter (attempt 0 waits up to ``base``); at least a server's ``Retry-After``."""
    delay = random.uniform(0, min(cap, base * (2 ** min(attempt, 30))))
    if hint is not None:
        delay = max(delay, min(hint, 600.0))  # honoured, but never more than 10 minutes at a time
    return delay


class Client:
    """The HTTP client of one tracklet server (keep-alive session; ``close()`` lets it go)."""

    def __init__(self, base_url: str, api_key: str | None = None) -> None:
        self.base_url = normalize_url(base_url)
        self._key = api_key
        self.session = requests.Session()
        self.session.headers["User-Agent"] = f"tracklet/{__version__}"
        if api_key:
            self.session.headers["Authorization"] = f"Bearer {api_key}"
        self.session.trust_env = True  # proxies from the environment; never a .netrc key (Authorization is set)

    def url(self, path: str) -> str:
        return f"{self.base_url}/api/v1{path}"

    def redact(self, text: str) -> str:
        """``text`` without the key in it."""
        return text.replace(self._key, "***") if self._key else text

    def request(
        self, method: str, path: str, *, timeout: float | tuple[float, float] | None = None, stream: bool = False, **kwargs: Any
    ) -> requests.Response:
        """Send a request; the response when it is 2xx, else ``RemoteError`` with the server's message."""
        try:
            r = self.session.request(
                method, self.url(path), timeout=timeout or (CONNECT_TIMEOUT, READ_TIMEOUT), stream=stream, **kwargs
            )
        except requests.RequestException as e:
            raise RemoteError(self.redact(f"cannot reach {self.base_url}: {_reason(e)}")) from None
        if r.status_code < 400:
            return r
        body: Any = None
        try:
            body = r.json()
        except ValueError:
            pass
        said = body.get("error") if isinstance(body, dict) else None
        if not said:
            said = (r.text or r.reason or "").strip()[:300]
        hint = {401: " (check the key: `tracklet login URL`, or TRACKLET_API_KEY)",
                403: " (the key has no access to this project)"}.get(r.status_code, "")
        message = self.redact(f"{self.base_url} answered {r.status_code} to {method} {path}: {said}{hint}")
        raise RemoteError(message, r.status_code, retry_after(r.headers.get("Retry-After")), body)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.request(method, path, **kwargs).json()

    def close(self) -> None:
        self.session.close()


def _reason(e: Exception) -> str:
    """A short reason for a connection failure (requests' own messages run to several nested reprs)."""
    text = str(e)
    for known in ("Connection refused", "Name or service not known", "timed out", "Connection reset",
                  "Remote end closed connection", "No route to host", "certificate verify failed"):
        if known in text:
            return known.lower()
    return type(e).__name__ + (f": {text[:200]}" if text else "")
