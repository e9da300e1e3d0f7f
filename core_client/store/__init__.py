"""The store: the interface every reader and writer goes through (``Store``), and its implementations.

``store.sql`` holds the SQL store (SQLite in a folder, PostgreSQL for a team); the HTTP client of
a tracklet server implements the same interface in ``tracklet.remote``. ``layout`` names the
store folder's files.
"""

from ._interface import Store as Store

__all__ = ["Store"]
