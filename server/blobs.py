"""Artifact files by content digest: ``HEAD``/``GET``/``PUT /blobs/{digest}`` and ``POST /blobs/presign``.

An upload streams to a temporary file while it is hashed (BLAKE3); a body whose digest is not the
one in the URL is refused (400) and nothing is stored; a matching one enters the blob store
atomically (the store publishes a complete file by rename, or not at all). Uploads are not held
by ``--max-body`` (they never sit in memory) but by ``max_blob``.

``/blobs/presign`` gives presigned URLs where the blob store is S3-compatible (``BlobStore.presigned_url``):
a client then moves a multi-GB file straight to or from the bucket, never through this process. Such an
upload is not hashed on arrival (the bytes never pass here); every reader checks a blob against its
digest (``get_blob``, downloads), so a damaged one is found where it is used. Other stores answer 404:
the routes above, with the digest checked on arrival.
"""

from __future__ import annotations

import os
import tempfile
from typing import IO, Iterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from tracklet.artifacts.storage import MissingBlobError

from ._request import call, json_body
from .artifacts import check_digest
from .auth import require_any
from .errors import ApiError, JsonResponse, NotFound

__all__ = ["get_blob", "head_blob", "presign", "put_blob"]

_CHUNK = 1 << 20
DEFAULT_MAX_BLOB = 64 << 30
PRESIGN_EXPIRES = 3600  # seconds a presigned URL stays valid: time for a multi-GB part-by-part transfer
MAX_PRESIGN = 1000  # digests in one presign request
_PROBE = "0" * 64


def _blobs(request: Request):  # noqa: ANN202
    found = request.app.state.blobs
    if found is None:
        raise NotFound("this server keeps no artifact files (it was started without a blob store)")
    return found


def _digest(request: Request) -> str:
    return check_digest(request.path_params["digest"])


async def head_blob(request: Request) -> Response:
    digest = _digest(request)
    require_any(request, "read")
    try:
        size = await call(_blobs(request).size, digest)
    except MissingBlobError:
        return Response(status_code=404)
    return Response(status_code=200, headers={"Content-Length": str(size)})


def _read(f: IO[bytes]) -> Iterator[bytes]:
    try:
        while True:
            chunk = f.read(_CHUNK)
            if not chunk:
                return
            yield chunk
    finally:
        f.close()


async def get_blob(request: Request) -> StreamingResponse:
    digest = _digest(request)
    require_any(request, "read")
    blobs = _blobs(request)
    try:
        size = await call(blobs.size, digest)
        f = await call(blobs.open, digest)
    except MissingBlobError:
        raise NotFound(f"blob {digest} is not stored here: PUT it first") from None
    return StreamingResponse(_read(f), media_type="application/octet-stream", headers={"Content-Length": str(size)})


async def put_blob(request: Request) -> Response:
    from blake3 import blake3

    digest = _digest(request)
    require_any(request, "write")
    if ":" in digest:
        raise ApiError("blobs are uploaded by their BLAKE3 digest (64 hex characters); legacy sha256 blobs are read-only")
    if request.headers.get("content-encoding", "identity").lower() not in ("", "identity"):
        raise ApiError("send blobs as they are, without Content-Encoding", status=415)
    blobs = _blobs(request)
    if await call(blobs.exists, digest):
        async for _ in request.stream():  # drain: the client sent it; nothing to store
            pass
        return Response(status_code=200)
    limit = getattr(request.app.state, "max_blob", DEFAULT_MAX_BLOB)
    folder = getattr(blobs, "directory", None)
    tmp_dir = os.path.join(folder, "tmp") if folder else None
    if tmp_dir:
        os.makedirs(tmp_dir, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".upload-", suffix=".tmp", dir=tmp_dir)
    try:
        hasher, size = blake3(), 0
        with os.fdopen(fd, "wb") as f:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise ApiError(f"the blob is over this server's limit of {limit} bytes", status=413)
                hasher.update(chunk)
                await call(f.write, chunk)
        got = hasher.hexdigest()
        if got != digest:
            raise ApiError(f"the body's BLAKE3 digest is {got}, not {digest}: nothing was stored (damaged upload?)")
        stored, _ = await call(blobs.put, tmp)
        if stored != digest:  # the store hashed its own copy: a file changed under us
            raise ApiError("the blob changed while it was stored: send it again", status=409)
    finally:
        try:
            os.remove(tmp)
        except FileNotFoundError:
            pass
    return Response(status_code=201)


async def presign(request: Request) -> Response:
    body = await json_body(request)
    digests, method = body.get("digests"), body.get("method")
    if not isinstance(digests, list) or not all(isinstance(d, str) for d in digests):
        raise ApiError('the body needs "digests": a list of content digests')
    if method not in ("GET", "PUT"):
        raise ApiError('"method" must be "GET" or "PUT"')
    if len(digests) > MAX_PRESIGN:
        raise ApiError(f"at most {MAX_PRESIGN} digests in one presign request; got {len(digests)}")
    for d in digests:
        check_digest(d)
        if method == "PUT" and ":" in d:
            raise ApiError("blobs are uploaded by their BLAKE3 digest (64 hex characters); legacy sha256 blobs are read-only")
    require_any(request, "write" if method == "PUT" else "read")
    blobs = _blobs(request)

    def sign() -> dict[str, str] | None:
        urls = {}
        for d in digests or [_PROBE]:  # no digests: still say whether this store signs
            url = blobs.presigned_url(d, method, PRESIGN_EXPIRES)
            if url is None:
                return None
            urls[d] = url
        return {d: urls[d] for d in digests}

    urls = await call(sign)
    if urls is None:
        raise NotFound("this server's blob store gives no presigned URLs: use GET/PUT /api/v1/blobs/{digest}")
    return JsonResponse({"ok": True, "urls": urls})
