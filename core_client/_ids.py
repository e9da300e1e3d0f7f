"""Run ids, generated run names, and short keys for paths."""

from __future__ import annotations

import os

from ._errors import UsageError

__all__ = ["check_run_id", "hostname", "new_run_id", "path_key", "process_alive", "run_name_for"]

_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_ID_FIRST = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_ID_CHARS = _ID_FIRST | frozenset("_.-")

_ADJECTIVES = (
    "amber autumn bold brisk calm clever cosmic crisp dapper daring dawn deep eager earnest fancy "
    "fearless fluent gentle glad golden grand hardy hazy honest icy jolly keen kind lively lucid lunar "
    "mellow misty noble olive polar proud quiet rapid rosy royal rustic serene sharp silent sleek "
    "smooth snowy solar spry steady stellar stoic sunny swift tidy vivid warm wild windy wise young zesty"
).split()
_NOUNS = (
    "anchor aurora badger bay beacon birch breeze brook canyon cedar cliff cloud comet coral crane "
    "creek delta dune eagle ember falcon fern field fjord flame forest galaxy glade grove harbor hawk "
    "heron hill island lake lantern leaf lynx maple meadow mesa moon moss nebula oak ocean orbit otter "
    "peak pine planet pond prairie quartz rain reef ridge river sky snow spark spring star stone storm "
    "summit sun thunder tide valley wave willow wind"
).split()


def path_key(path: str) -> str:
    """16 hex characters naming ``path`` in a file name (zlib's checksums: hashlib costs ~4 ms of import).

    Not collision-proof: whoever keys a file by it either tolerates a shared key or checks the path.
    """
    import zlib  # already loaded by the log writer

    name = path.encode("utf-8", "surrogateescape")
    return f"{zlib.crc32(name):08x}{zlib.adler32(name):08x}"


def hostname() -> str:
    """This machine's name, without importing socket."""
    try:
        return os.uname().nodename
    except AttributeError:  # Windows
        import socket

        return socket.gethostname()


def process_alive(pid: int) -> bool | None:
    """Whether process ``pid`` on this machine runs (None when the OS will not say)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    except OSError:
        return None
    return True


def new_run_id(length: int = 8) -> str:
    """``length`` random characters from ``[a-z0-9]``; eight give about 2.8e12 ids."""
    return "".join(_ALPHABET[b % 36] for b in os.urandom(length))


def check_run_id(run_id: str) -> str:
    if not (0 < len(run_id) <= 64 and run_id[0] in _ID_FIRST and set(run_id) <= _ID_CHARS):
        raise UsageError(
            f"run id {run_id!r} is not allowed: use 1-64 letters, digits, '-', '_' or '.', "
            "starting with a letter or digit"
        )
    return run_id


def run_name_for(run_id: str) -> str:
    """A readable name derived from the id, e.g. ``swift-river-4k2a``."""
    n = int.from_bytes(run_id.encode(), "big")
    return f"{_ADJECTIVES[n % len(_ADJECTIVES)]}-{_NOUNS[(n // 97) % len(_NOUNS)]}-{run_id[:4]}"
