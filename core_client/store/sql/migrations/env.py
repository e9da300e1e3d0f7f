"""Alembic's environment: migrations run on the connection ``_migrate`` passes, inside its transaction."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

connection = context.config.attributes.get("connection")
if connection is None:  # the alembic command line, for developers
    engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
    with engine.begin() as connection:
        context.configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()
