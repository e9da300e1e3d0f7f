"""The SQL store: SQLite (embedded, default) or PostgreSQL, through SQLAlchemy Core.

Import its modules, not this package: ``_engine`` (opening a store), ``_ingest`` and ``_catchup``
(WAL records into the store), ``_worker`` (the ingest process), ``_lite`` (reads on plain sqlite3).
Every module here but ``_lite`` imports SQLAlchemy (about a quarter of a second), so only the ingest
worker, ``Api`` and the CLI do; ``import tracklet`` and the training loop never do.
"""
