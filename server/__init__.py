"""The tracklet server: the HTTP API (``docs/http-api.md``) over a store, with API keys and blobs.

Needs the ``server`` extra (``pip install "tracklet[server]"``); ``import tracklet`` never imports it.
``create_app(store, auth=...)`` builds the ASGI app; ``tracklet server`` serves it with uvicorn.
"""

from .app import create_app as create_app

__all__ = ["create_app"]
