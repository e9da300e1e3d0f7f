"""Calling the server's app in process (httpx.ASGITransport), and making real run logs to send it."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx
import pytest

__all__ = ["ServerClient", "earlier_garbage_collected", "logged_run", "make_app"]


class ServerClient:
    """Synchronous calls into an ASGI app: ``client.get("/api/v1/runs")`` returns an ``httpx.Response``."""

    def __init__(self, app: Any, key: str | None = None) -> None:
        self.app = app
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}

        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                return await c.request(method, url, headers=headers, **kwargs)

        return asyncio.run(go())

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("HEAD", url, **kwargs)

    def send_log(self, run_id: str, data: bytes, offset: int = 0, log_id: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"X-Tracklet-Offset": str(offset), **kwargs.pop("headers", {})}
        if log_id:
            headers["X-Tracklet-Log-Id"] = log_id
        return self.post(f"/api/v1/runs/{run_id}/log", content=data, headers=headers, **kwargs)


def make_app(root: str, auth: Any = None, **kwargs: Any) -> Any:
    """The server app over the folder store ``root`` with its blob store."""
    from tracklet.artifacts.storage import open_blob_store
    from tracklet.server import create_app
    from tracklet.store.sql._store import SqlStore
    from tracklet.store.sql._spawn import make_store_dir

    make_store_dir(root)
    return create_app(SqlStore(root), auth=auth, blobs=open_blob_store(None, root=root), **kwargs)


def logged_run(folder: str, steps: int = 20, project: str = "sent", **init: Any) -> tuple[str, bytes]:
    """Log a real run into the store folder ``folder`` (init, log, finish); returns its id and log bytes."""
    import tracklet

    run = tracklet.init(project=project, dir=folder, config={"lr": 0.1}, **init)
    for i in range(steps):
        run.log({"loss": 1.0 / (i + 1), "acc": i / steps})
    print("hello from the run")
    run.summary["best"] = 7
    run.finish()
    with open(os.path.join(folder, "runs", run.id, "run.tlog"), "rb") as f:
        return run.id, f.read()


@pytest.fixture(scope="module", autouse=True)
def earlier_garbage_collected():
    """Collect what earlier tests left to the garbage collector before a server test module allocates a lot.

    Under the oldest pins an S3 test's aiobotocore client is left unclosed; collected during a server test,
    its never-awaited coroutine would be reported as that test's unraisable warning.
    """
    import gc
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gc.collect()
    yield
