"""The store's schema migrations (Alembic): ``versions/NNNN_*.py``, revision ``NNNN`` making schema version N.

Applied by ``tracklet.store.sql._migrate`` (at open on SQLite; by ``migrate(url)`` on PostgreSQL).
A new schema change: change ``_schema.py``, bump ``SCHEMA_VERSION``, and add the next revision here
(``alembic -c core_client/store/sql/migrations/alembic.ini revision -m "..." --rev-id 0004``; the test
``test_migrations_build_the_schema`` fails until the two agree).
"""
