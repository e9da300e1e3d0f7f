"""Blobs between a client and a server: the files an artifact version lists and the values media records name.

Up: before a batch of a run's log goes to the server, every blob its ARTIFACT and MEDIA records name
is made sure of there (``BlobSender.ensure``): ``HEAD /blobs/{digest}``, then for those the server
lacks, presigned ``PUT`` URLs straight to the bucket where the server's blob store gives them (a
multi-GB checkpoint never streams through a server process), else ``PUT /blobs/{digest}`` (the
server checks the digest on arrival). A record therefore never reaches the server before its blobs.

Down: ``RemoteBlobStore`` is the blob store of a server for downloads (``Api(base_url=...)``):
presigned ``GET`` URLs where offered, else ``GET /blobs/{digest}``; every blob is checked against its
digest before it is published.
"""

from __future__ import annotations

import os

import requests

from .._errors import warn_once
from ..artifacts.storage import BlobStore, CorruptBlobError, MissingBlobError
from ._http import CONNECT_TIMEOUT, READ_TIMEOUT, Client, RemoteError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any, Iterable

__all__ = ["BlobSender", "RemoteBlobStore"]

_CHUNK = 1 << 20


def _direct_session() -> requests.Session:
    """A session for presigned URLs: no ``Authorization`` header (the server's key never goes to the bucket)."""
    s = requests.Session()
    s.trust_env = True
    return s


class BlobSender:
    """Puts the blobs a run's records name onto one server, from the local blob store ``local``."""

    def __init__(self, client: Client, local: Any) -> None:
        self.client = client
        self.local = local
        self.held: set[str] = set()  # digests the server is known to hold
        self.presigns: bool | None = None  # whether the server gives presigned URLs (None: not asked yet)
        self._direct: requests.Session | None = None
        self.sent = 0  # blobs uploaded (not counting those the server held)

    def ensure(self, digests: Iterable[str]) -> None:
        """Make sure the server holds every blob of ``digests``; raises ``RemoteError`` (transient ones are retried by the caller)."""
        wanted = sorted(d for d in set(digests) if d not in self.held and ":" not in d)  # legacy sha256 blobs stay local
        missing = [d for d in wanted if not self._server_has(d)]
        self.held.update(d for d in wanted if d not in missing)
        if not missing:
            return
        urls = self._presigned(missing, "PUT")
        for d in missing:
            if self._put(d, urls.get(d)):
                self.held.add(d)
                self.sent += 1

    def _server_has(self, digest: str) -> bool:
        try:
            self.client.request("HEAD", f"/blobs/{digest}")
            return True
        except RemoteError as e:
            if e.status == 404:
                return False
            raise

    def _presigned(self, digests: list[str], method: str) -> dict[str, str]:
        if self.presigns is False:
            return {}
        try:
            answer = self.client.json("POST", "/blobs/presign", json={"digests": digests, "method": method})
        except RemoteError as e:
            if e.status == 404:
                self.presigns = False
                return {}
            raise
        self.presigns = True
        return dict(answer.get("urls") or {})

    def _put(self, digest: str, url: str | None) -> bool:
        """Upload one blob; False when it cannot be (gone from the local store, or the server keeps none): said once."""
        try:
            source = self.local.local_path(digest)
            f = open(source, "rb") if source else self.local.open(digest)
        except (MissingBlobError, OSError) as e:
            warn_once(f"blob-missing:{digest}", f"tracklet: blob {digest} is not in the local blob store ({e}); "
                      f"the record that names it reaches {self.client.base_url} without it")
            return False
        with f:
            if url is not None:
                if self._put_direct(url, f, digest):
                    return True
                f.seek(0)
            try:
                self.client.request("PUT", f"/blobs/{digest}", data=f, headers={"Content-Type": "application/octet-stream"})
            except RemoteError as e:
                if e.transient:
                    raise  # retried with the batch
                # no blob store on the server (404), over its limit (413), refused: the log goes on without it
                warn_once(f"blob-refused:{self.client.base_url}:{e.status}",
                          f"tracklet: {e}; the file stays in the local blob store and records naming it reach the server without it")
                return False
        return True

    def _put_direct(self, url: str, f: IO[bytes], digest: str) -> bool:
        """PUT straight to the bucket; False (then the server's route) when the bucket refuses it."""
        if self._direct is None:
            self._direct = _direct_session()
        try:
            r = self._direct.put(url, data=f, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
        except requests.RequestException as e:
            raise RemoteError(f"cannot upload blob {digest} to its presigned URL: {type(e).__name__}") from None
        if r.status_code < 300:
            return True
        if r.status_code >= 500:
            raise RemoteError(f"the blob store answered {r.status_code} to a presigned upload of {digest}", r.status_code)
        return False

    def close(self) -> None:
        if self._direct is not None:
            self._direct.close()


class RemoteBlobStore(BlobStore):
    """A server's blobs, read-only, for downloads: presigned GETs where offered, else ``GET /blobs/{digest}``."""

    def __init__(self, client: Client, workers: int = 4) -> None:
        super().__init__(None)
        self.client = client
        self.url = client.base_url
        self.workers = workers
        self._presigns: bool | None = None
        self._direct: requests.Session | None = None

    def _stored_size(self, digest: str) -> int | None:
        try:
            r = self.client.request("HEAD", f"/blobs/{digest}")
        except RemoteError as e:
            if e.status == 404:
                return None
            raise
        return int(r.headers.get("Content-Length") or 0)

    def _response(self, digest: str) -> requests.Response:
        if self._presigns is not False and ":" not in digest:
            try:
                urls = self.client.json("POST", "/blobs/presign", json={"digests": [digest], "method": "GET"})["urls"]
                self._presigns = True
            except RemoteError as e:
                if e.status != 404:
                    raise
                self._presigns, urls = False, {}
            if digest in urls:
                if self._direct is None:
                    self._direct = _direct_session()
                try:
                    r = self._direct.get(urls[digest], stream=True, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
                except requests.RequestException as e:
                    raise RemoteError(f"cannot download blob {digest} from its presigned URL: {type(e).__name__}") from None
                if r.status_code == 200:
                    return r
                r.close()
        try:
            return self.client.request("GET", f"/blobs/{digest}", stream=True)
        except RemoteError as e:
            if e.status == 404:
                raise MissingBlobError(f"blob {digest} is not on {self.url}: {e}") from None
            raise

    def get(self, digest: str, dest: str, progress: Any = None) -> None:
        from ..artifacts.storage._digest import hash_file
        from ..artifacts.storage._files import publish, temp_name

        os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
        tmp = temp_name(dest)
        r = self._response(digest)
        try:
            with open(tmp, "wb") as f:
                for chunk in r.iter_content(_CHUNK):
                    f.write(chunk)
                    if progress is not None:
                        progress(len(chunk))
        except BaseException:
            _unlink(tmp)
            raise
        finally:
            r.close()
        got = hash_file(tmp, like=digest)
        if got != digest:
            _unlink(tmp)
            raise CorruptBlobError(f"blob {digest} from {self.url} does not match its digest (it hashes to {got})")
        publish(tmp, dest)

    def open(self, digest: str) -> IO[bytes]:
        from ..artifacts.storage._blobs import _VerifyingReader

        r = self._response(digest)
        r.raw.decode_content = True
        return _VerifyingReader(r.raw, digest, f"{self.url}/api/v1/blobs/{digest}")  # type: ignore[return-value]

    def delete(self, digest: str) -> None:
        raise NotImplementedError("a server's blobs are removed by the server (delete the artifact version)")

    def finish_downloads(self) -> None:
        pass

    def close(self) -> None:
        if self._direct is not None:
            self._direct.close()


def _unlink(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
