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


def test_a_version_3_store_gains_the_server_key_tables(tracklet_env):
    from tracklet.store.sql._auth import KeyStore
    from tracklet.store.sql._engine import open_local

    run = tracklet.init(project="old")
    run.finish()
    tracklet.Api().run(run.id)
    tracklet.store.sql._engine.close_all()
    db = tracklet_env / "tracklet.db"
    with sqlite3.connect(db) as conn:  # what schema 3 left: no users or keys
        for table in ("api_key_grants", "api_keys", "users"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("UPDATE tracklet_meta SET value = '3' WHERE key = 'schema_version'")
    made = KeyStore(open_local(str(tracklet_env))).create("ann", [("*", "read")])
    assert KeyStore(open_local(str(tracklet_env))).verify(made["key"]).user == "ann"
    assert tracklet.Api().run(run.id).state == "finished"
