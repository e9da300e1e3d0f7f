"""The SQL store: SQLite (embedded, default) or PostgreSQL, through SQLAlchemy Core.

Import its modules, not this package: ``_engine`` (opening a store), ``_ingest`` and ``_catchup``
(WAL records into the store; ``_pg_ingest`` PostgreSQL's bulk path), ``_worker`` (the ingest process),
``_lite`` (reads on plain sqlite3), ``_store`` (``SqlStore``), ``_versions`` and ``migrations/`` (the
schema version and its Alembic revisions), ``_migrate`` (``migrate(url)``, for ``tracklet server --migrate``).
Every module here but ``_lite`` imports SQLAlchemy (about a quarter of a second), so only the ingest
worker, ``Api`` and the CLI do; ``import tracklet`` and the training loop never do.
"""
