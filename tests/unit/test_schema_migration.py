"""A store made by an earlier tracklet is upgraded in place when it is opened."""

from __future__ import annotations

import sqlite3

import tracklet
from tracklet.store.sql._schema import SCHEMA_VERSION


def test_a_version_2_store_gains_the_columns_and_tables_of_version_3(tracklet_env):
    run = tracklet.init(project="old")
    run.log({"loss": 1.0})
    run.finish()
    tracklet.Api().run(run.id)  # ingested into a store of the current schema
    tracklet.store.sql._engine.close_all()
    db = tracklet_env / "tracklet.db"
    with sqlite3.connect(db) as conn:  # make it what tracklet 0.1 (schema 2) left
        conn.execute("ALTER TABLE runs DROP COLUMN log_id")
        conn.execute("DROP TABLE run_problems")
        conn.execute("DROP TABLE history_blocks")  # schema 4's
        conn.execute("DROP TABLE history_dirty")
        conn.execute("DROP TABLE run_media")  # schema 5's
        for table in ("api_key_grants", "api_keys", "users"):  # schema 6's
            conn.execute(f"DROP TABLE {table}")
        for table in ("call_feedback", "calls", "trace_logs"):  # schema 7's
            conn.execute(f"DROP TABLE {table}")
        conn.execute("UPDATE tracklet_meta SET value = '2' WHERE key = 'schema_version'")
    second = tracklet.init(project="old")
    second.log({"loss": 2.0})
    second.finish()
    api = tracklet.Api()
    assert [r.summary["loss"] for r in api.runs("old", order="+created_at")] == [1.0, 2.0]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT value FROM tracklet_meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
        ids = dict(conn.execute("SELECT run_id, log_id FROM runs").fetchall())
    assert ids[second.id] and ids[run.id] is None  # an old row gets its log's identity when more of the log is stored
    assert api.run(run.id).problems() == []


def _schema_differences(conn) -> list:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from tracklet.store.sql import _schema as S

    found = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), S.metadata)
    return [d for d in found if not (d[0] == "remove_table" and d[1].name == "alembic_version")]


def test_migrations_build_the_schema_the_code_declares(tmp_path):
    """The revisions, run from an empty database, make exactly ``_schema.py``'s tables (and its version)."""
    from alembic.script import ScriptDirectory

    from tracklet.store.sql import _schema as S
    from tracklet.store.sql._engine import make_engine
    from tracklet.store.sql._versions import MIGRATIONS_DIR

    assert ScriptDirectory(MIGRATIONS_DIR).get_current_head() == f"{S.SCHEMA_VERSION:04d}"
    engine = make_engine(f"sqlite:///{tmp_path / 'tracklet.db'}")
    with engine.connect() as conn:
        assert _schema_differences(conn) == []
    engine.dispose()


def test_a_version_1_store_is_upgraded_through_every_revision(tmp_path):
    """A store tracklet 0.1 made (schema 1, no Alembic table) reaches the current schema, rows kept."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    from tracklet.store.sql import _schema as S
    from tracklet.store.sql._engine import make_engine
    from tracklet.store.sql._versions import MIGRATIONS_DIR

    url = f"sqlite:///{tmp_path / 'tracklet.db'}"
    old = sa.create_engine(url)
    with old.begin() as conn:
        cfg = Config()
        cfg.set_main_option("script_location", MIGRATIONS_DIR)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.exec_driver_sql("DROP TABLE alembic_version")
        conn.exec_driver_sql("INSERT INTO projects (entity, name, created_at) VALUES ('', 'old', 1.0)")
    old.dispose()
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.select(S.meta.c.value).where(S.meta.c.key == "schema_version")).scalar() == str(S.SCHEMA_VERSION)
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == f"{S.SCHEMA_VERSION:04d}"
        assert conn.execute(sa.select(S.projects.c.name)).scalars().all() == ["old"]
        assert _schema_differences(conn) == []
    engine.dispose()


def test_a_store_newer_than_this_tracklet_is_refused(tracklet_env):
    import pytest

    from tracklet._errors import StoreError

    tracklet.store.sql._engine.open_local(str(tracklet_env))  # makes the store
    tracklet.store.sql._engine.close_all()
    with sqlite3.connect(tracklet_env / "tracklet.db") as conn:
        conn.execute("UPDATE tracklet_meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(StoreError, match=rf"schema version {SCHEMA_VERSION + 1}, newer than this tracklet knows \({SCHEMA_VERSION}\). Upgrade tracklet"):
        tracklet.store.sql._engine.open_local(str(tracklet_env))


def test_a_version_5_store_gains_the_server_key_tables(tracklet_env):
    from tracklet.store.sql._auth import KeyStore
    from tracklet.store.sql._engine import open_local

    run = tracklet.init(project="old")
    run.finish()
    tracklet.Api().run(run.id)
    tracklet.store.sql._engine.close_all()
    db = tracklet_env / "tracklet.db"
    with sqlite3.connect(db) as conn:  # what schema 5 left: no users or keys
        for table in ("api_key_grants", "api_keys", "users", "call_feedback", "calls", "trace_logs"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("UPDATE tracklet_meta SET value = '5' WHERE key = 'schema_version'")
        conn.execute("UPDATE alembic_version SET version_num = '0005'")
    made = KeyStore(open_local(str(tracklet_env))).create("ann", [("*", "read")])
    assert KeyStore(open_local(str(tracklet_env))).verify(made["key"]).user == "ann"
    assert tracklet.Api().run(run.id).state == "finished"
