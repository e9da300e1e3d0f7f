"""Reading a request: query parameters of a type, path names checked, and the body (size limit, gzip)."""

from __future__ import annotations

import json
import zlib
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from tracklet._errors import UsageError
from tracklet._ids import check_run_id

from .errors import ApiError

__all__ = ["call", "json_body", "path_number", "query_bool", "query_float", "query_int", "query_list", "query_str", "read_body", "run_id_of", "store_of", "valid_run_id"]

DEFAULT_MAX_BODY = 64 << 20
_INT64 = (-(1 << 63), (1 << 63) - 1)  # what the database stores
_MAX_NAME = 256


def store_of(request: Request) -> Any:
    return request.app.state.store


async def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a blocking store call off the event loop."""
    return await run_in_threadpool(fn, *args, **kwargs)


def _name(value: str, what: str) -> str:
    if not value or len(value) > _MAX_NAME or any(ord(c) < 32 or c == "\x7f" for c in value) or value in (".", ".."):
        raise ApiError(f"{what} {value[:80]!r} is not a valid name (1-{_MAX_NAME} printable characters)")
    return value


def path_name(request: Request, key: str, what: str | None = None) -> str:
    """A name from the path (project, artifact, model, alias), checked: printable, not ``.``/``..``."""
    return _name(request.path_params[key], what or key)


def path_number(request: Request, key: str, message: str, digits: int = 18) -> int:
    """A whole number from the path (ASCII digits only: ``str.isdigit`` takes '²', which ``int`` refuses): 400 otherwise."""
    value = request.path_params[key]
    if not (value.isascii() and value.isdigit()) or len(value) > digits:
        raise ApiError(f"{message}; got {value[:40]!r}")
    return int(value)


def valid_run_id(value: str) -> str:
    """A run id checked as tracklet checks ids (no separators, no ``..``): 400 otherwise."""
    try:
        return check_run_id(value)
    except UsageError as e:
        raise ApiError(str(e)) from None


def run_id_of(request: Request) -> str:
    """The run id from the path, checked."""
    return valid_run_id(request.path_params["run_id"])


def query_str(request: Request, key: str, default: str | None = None, name: bool = True) -> str | None:
    value = request.query_params.get(key)
    if value is None or value == "":
        return default
    return _name(value, key) if name else value


def query_list(request: Request, key: str) -> list[str] | None:
    values = [v for v in request.query_params.getlist(key) if v != ""]
    return [_name(v, key) for v in values] if values else None


def query_int(request: Request, key: str, default: int | None = None, minimum: int | None = None,
              maximum: int | None = None) -> int | None:
    value = request.query_params.get(key)
    if value is None or value == "":
        return default
    try:
        n = int(value)
    except ValueError:
        raise ApiError(f"query parameter {key} must be an integer; got {value[:40]!r}") from None
    minimum = _INT64[0] if minimum is None else minimum
    maximum = _INT64[1] if maximum is None else maximum
    if n < minimum or n > maximum:
        raise ApiError(f"query parameter {key} must be between {minimum} and {maximum}; got {n}")
    return n


def query_float(request: Request, key: str) -> float | None:
    """A finite number from the query (a time, a latency), or None when absent."""
    value = request.query_params.get(key)
    if value is None or value == "":
        return None
    try:
        n = float(value)
    except ValueError:
        raise ApiError(f"query parameter {key} must be a number; got {value[:40]!r}") from None
    if n != n or n in (float("inf"), float("-inf")):
        raise ApiError(f"query parameter {key} must be a finite number; got {value[:40]!r}")
    return n


def query_bool(request: Request, key: str, default: bool = False) -> bool:
    value = request.query_params.get(key)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise ApiError(f"query parameter {key} must be true or false; got {value[:40]!r}")


def _too_large(limit: int) -> ApiError:
    return ApiError(
        f"the request body is over this server's limit of {limit} bytes: send it in smaller batches "
        "(or start the server with a larger --max-body)",
        status=413,
    )


async def read_body(request: Request) -> bytes:
    """The body, at most ``--max-body`` bytes (413 past it, checked as it arrives), gunzipped when sent gzip."""
    limit = getattr(request.app.state, "max_body", DEFAULT_MAX_BODY)
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise _too_large(limit)
        except ValueError:
            raise ApiError("Content-Length is not a number") from None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding != "gzip":
        raise ApiError(f"Content-Encoding {encoding[:40]!r} is not accepted: send gzip or nothing", status=415)
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(body, limit + 1)
        if len(out) > limit or d.unconsumed_tail:
            raise _too_large(limit)
        if not d.eof:
            raise ApiError("the gzip body is truncated")
    except zlib.error as e:
        raise ApiError(f"the body is not valid gzip ({e})") from None
    return out


async def json_body(request: Request) -> dict[str, Any]:
    """The body as a JSON object (400 for anything else)."""
    body = await read_body(request)
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise ApiError(f"the body is not valid JSON ({e})") from None
    if not isinstance(value, dict):
        raise ApiError("the body must be a JSON object")
    return value
