"""The credentials file: API keys by server URL, and the server ``tracklet login`` made the default.

``$XDG_CONFIG_HOME/tracklet/credentials`` (``~/.config/tracklet/credentials``; ``TRACKLET_CREDENTIALS_FILE``
overrides), mode 0600, INI with one section per server::

    [default]
    base_url = http://server:8080

    [http://server:8080]
    api_key = tlk_...

Only ``tracklet login`` (or ``tracklet.login(host=...)``) writes ``[default]``; a key stored for a
server makes nothing the default by itself. Standard library only: the settings resolver reads it.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

from .._errors import UsageError

__all__ = ["credentials_file", "default_base_url", "key_for", "normalize_url", "public_url", "store_key"]

DEFAULT = "default"


def credentials_file() -> str:
    return os.environ.get("TRACKLET_CREDENTIALS_FILE") or os.path.join(
        os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config"),
        "tracklet",
        "credentials",
    )


def normalize_url(url: str, what: str = "base URL") -> str:
    """``http(s)://host[:port][/prefix]`` without a trailing slash; refuses a key or password in it."""
    from urllib.parse import urlsplit

    text = str(url).strip()
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"the {what} {public_url(text)!r} is not an http(s) URL; use e.g. http://server:8080")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise UsageError(
            f"the {what} must not hold a user, key, query or fragment ({public_url(text)}); "
            "give the key with `tracklet login URL` or TRACKLET_API_KEY, never in the URL"
        )
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def public_url(url: str) -> str:
    """The URL as it may be shown: any ``user:password@`` and query string taken out."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = parts.netloc.rsplit("@", 1)[-1]
        return f"{parts.scheme}://{host}{parts.path}" if parts.scheme else host + parts.path
    except ValueError:
        return "<unparseable URL>"


def _read() -> Any:
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    path = credentials_file()
    if os.path.isfile(path):
        try:
            parser.read(path, encoding="utf-8")
        except configparser.Error as e:
            raise UsageError(f"cannot read the tracklet credentials file {path}: {e}. Fix it or log in again.") from None
    return parser


def default_base_url() -> str | None:
    """The server ``tracklet login`` made the default, if any (one stat when there is no file)."""
    if not os.path.isfile(credentials_file()):
        return None
    parser = _read()
    return parser.get(DEFAULT, "base_url", fallback=None) or None


def key_for(base_url: str) -> str | None:
    """The stored key for ``base_url``, if any."""
    if not os.path.isfile(credentials_file()):
        return None
    parser = _read()
    return parser.get(normalize_url(base_url), "api_key", fallback=None) or None


def store_key(base_url: str, api_key: str, make_default: bool = True) -> str:
    """Write ``api_key`` for ``base_url`` (mode 0600, replaced atomically); returns the file's path."""
    url = normalize_url(base_url)
    parser = _read()
    if not parser.has_section(url):
        parser.add_section(url)
    parser.set(url, "api_key", api_key)
    if make_default:
        if not parser.has_section(DEFAULT):
            parser.add_section(DEFAULT)
        parser.set(DEFAULT, "base_url", url)
    path = credentials_file()
    folder = os.path.dirname(path)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask, and whatever an older file's mode was
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("# tracklet API keys by server, written by `tracklet login`. Keep this file private (0600).\n")
            parser.write(f)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    return path
