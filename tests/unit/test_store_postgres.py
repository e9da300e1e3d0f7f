"""The SQL store on PostgreSQL: schema by explicit migration only, ingest (idempotent), catch-up.

One private cluster per session (conftest's ``pg_cluster``), a new database per test.
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import func, select, text

import tracklet
from tracklet._errors import StoreError
from tracklet.store.sql import _schema as S
from tracklet.store.sql._schema import SCHEMA_VERSION
from tracklet.store.sql._catchup import catch_up
from tracklet.store.sql._engine import make_engine
from tracklet.store.sql._ingest import ingest_run
from tracklet.store.sql._migrate import migrate


def _logged_run(project: str = "pg", steps: int = 50, **init) -> tracklet.Run:
    run = tracklet.init(project=project, config={"lr": 0.1}, **init)
    for i in range(steps):
        run.log({"loss": 1.0 / (i + 1), "acc": i / steps, "note": f"step {i}"})
    run.summary["best"] = 7
    print("hello from the run")
    run.finish()
    return run


def _wal(store, run_id: str) -> str:
    return os.path.join(str(store), "runs", run_id, "run.tlog")


def _send_rest(store, wal: str, run_id: str) -> None:
    """Send a database store what the run's log holds past the offset the store has (as remote mode's sender does)."""
    row = store.run(run_id)
    held = row["stored_offset"] if row is not None else 0
    with open(wal, "rb") as f:
        f.seek(held)
        store.append_log(run_id, held, f.read())


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_an_empty_database_is_refused_until_migrated(pg_url):
    with pytest.raises(StoreError, match="no tracklet schema yet. Create it with: tracklet server --db .* --migrate"):
        make_engine(pg_url)
    assert migrate(pg_url) is None  # it had no schema
    assert migrate(pg_url) == S.SCHEMA_VERSION  # a second run changes nothing
    engine = make_engine(pg_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == f"{S.SCHEMA_VERSION:04d}"
    engine.dispose()


def test_an_older_database_is_refused_with_the_command_that_upgrades_it(pg_url):
    migrate(pg_url)
    engine = make_engine(pg_url)
    with engine.begin() as conn:  # what schema 2 left: no runs.log_id, no run_problems
        conn.execute(text("ALTER TABLE runs DROP COLUMN log_id"))
        conn.execute(text("DROP TABLE run_problems"))
        conn.execute(text("DROP TABLE history_blocks"))  # and none of schema 4's tables
        conn.execute(text("DROP TABLE history_dirty"))
        conn.execute(text("DROP TABLE run_media"))  # nor schema 5's
        for table in ("api_key_grants", "api_keys", "users", "sweep_trials", "sweeps"):  # nor schema 6's and 8's
            conn.execute(text(f"DROP TABLE {table}"))
        for table in ("call_feedback", "calls", "trace_logs"):  # nor schema 7's
            conn.execute(text(f"DROP TABLE {table}"))
        conn.execute(text("UPDATE tracklet_meta SET value = '2' WHERE key = 'schema_version'"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0002'"))
    engine.dispose()
    with pytest.raises(StoreError, match=rf"schema version 2, older than this tracklet's \({SCHEMA_VERSION}\).*tracklet server --db .* --migrate"):
        make_engine(pg_url)
    assert migrate(pg_url) == 2
    make_engine(pg_url).dispose()


def test_a_newer_database_is_refused_by_open_and_by_migrate(pg_url):
    migrate(pg_url)
    engine = make_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE tracklet_meta SET value = '99' WHERE key = 'schema_version'"))
    engine.dispose()
    for attempt in (make_engine, migrate):
        with pytest.raises(StoreError, match=rf"schema version 99, newer than this tracklet knows \({SCHEMA_VERSION}\). Upgrade tracklet"):
            attempt(pg_url)


def test_messages_never_show_the_password(pg_cluster):
    url = f"postgresql://postgres:s3cret@127.0.0.1:{pg_cluster.port}/no_such_db"
    with pytest.raises(StoreError) as e:
        make_engine(url)
    assert "s3cret" not in str(e.value) and "***" in str(e.value)


def test_a_replayed_log_doubles_nothing(pg_url, tracklet_env):
    run = _logged_run()
    migrate(pg_url)
    engine = make_engine(pg_url.replace("postgresql+psycopg://", "postgresql://"))  # as users write it
    wal = _wal(tracklet_env, run.id)
    first = ingest_run(engine, wal)
    counts = {t.name: _count(engine, t) for t in (S.history, S.history_values, S.run_logs, S.run_keys, S.runs)}
    assert first > 50 and counts["history"] == 100 and counts["history_values"] == 50
    assert ingest_run(engine, wal) == 0  # the store holds it all: nothing read again
    with engine.begin() as conn:  # as if the store had lost track of how far it got: every record comes again
        conn.execute(S.runs.update().values(wal_offset=0, wal_seq=0))
    assert ingest_run(engine, wal) == first
    assert {t.name: _count(engine, t) for t in (S.history, S.history_values, S.run_logs, S.run_keys, S.runs)} == counts
    with engine.connect() as conn:
        row = conn.execute(select(S.runs).where(S.runs.c.run_id == run.id)).mappings().one()
        curve = conn.execute(
            select(S.history.c.step, S.history.c.value)
            .join(S.run_keys, (S.run_keys.c.run_pk == S.history.c.run_pk) & (S.run_keys.c.key_id == S.history.c.key_id))
            .where(S.run_keys.c.name == "loss")
            .order_by(S.history.c.step)
        ).all()
    assert row["state"] == "finished" and row["config"]["lr"] == 0.1
    assert row["summary"]["best"] == 7 and row["summary"]["loss"] == pytest.approx(1 / 50)
    assert [s for s, _ in curve] == list(range(50)) and curve[-1][1] == pytest.approx(1 / 50)
    engine.dispose()


def test_catch_up_stores_every_local_run(pg_url, tracklet_env):
    runs = [_logged_run(steps=10), _logged_run(project="other", steps=20)]
    migrate(pg_url)
    engine = make_engine(pg_url)
    assert catch_up(engine, str(tracklet_env)) > 0
    assert catch_up(engine, str(tracklet_env)) == 0
    with engine.connect() as conn:
        stored = dict(conn.execute(select(S.runs.c.run_id, S.runs.c.last_step)).all())
        projects = sorted(conn.execute(select(S.projects.c.name)).scalars())
    assert stored == {runs[0].id: 9, runs[1].id: 19} and projects == ["other", "pg"]
    assert _count(engine, S.history) == 2 * (10 + 20)
    engine.dispose()


def test_two_ingesters_of_one_run_take_turns(pg_url, tracklet_env):
    from concurrent.futures import ThreadPoolExecutor

    run = _logged_run(steps=2000)
    migrate(pg_url)
    engines = [make_engine(pg_url) for _ in range(3)]
    wal = _wal(tracklet_env, run.id)
    with ThreadPoolExecutor(3) as pool:
        done = list(pool.map(lambda e: ingest_run(e, wal), engines))
    assert ingest_run(engines[0], wal) == 0  # nothing left
    assert _count(engines[0], S.history) == 2 * 2000 and _count(engines[0], S.runs) == 1
    with engines[0].begin() as conn:  # every record was stored once: one pass alone reads as many
        conn.execute(S.runs.update().values(wal_offset=0, wal_seq=0))
    assert ingest_run(engines[0], wal) == sum(done)
    for e in engines:
        e.dispose()


def test_migrations_build_the_schema_the_code_declares_on_postgresql(pg_url):
    from test_schema_migration import _schema_differences

    migrate(pg_url)
    engine = make_engine(pg_url)
    with engine.connect() as conn:
        assert _schema_differences(conn) == []
    engine.dispose()


def test_a_step_logged_twice_keeps_its_last_value(pg_url, tracklet_env):
    run = tracklet.init(project="pg")
    run.log({"loss": 1.0}, step=5)
    run.log({"loss": 2.0}, step=5)  # in the same batch: one upsert may not touch a row twice
    run.finish()
    migrate(pg_url)
    engine = make_engine(pg_url)
    ingest_run(engine, _wal(tracklet_env, run.id))
    with engine.connect() as conn:
        assert conn.execute(select(S.history.c.step, S.history.c.value)).all() == [(5, 2.0)]
    engine.dispose()


def test_a_database_store_takes_edits_of_a_finished_run_only(pg_url, tracklet_env):
    from tracklet._errors import UsageError
    from tracklet.store.sql._store import SqlStore
    from tracklet.wal._wal import RecordType

    migrate(pg_url)
    store = SqlStore(url=pg_url)
    run = tracklet.init(project="pg", name="first")
    run.log({"loss": 1.0})
    wal = _wal(tracklet_env, run.id)
    _send_rest(store, wal, run.id)
    with pytest.raises(UsageError, match="still running; change it from that process"):
        store.edit_run(run.id, [(RecordType.UPDATE, {"name": "second"})])
    run.finish()
    _send_rest(store, wal, run.id)
    store.edit_run(run.id, [(RecordType.UPDATE, {"name": "second"}), (RecordType.SUMMARY, {"set": {"best": 3}})])
    got = store.run(run.id)
    assert (got["name"], got["summary"]["best"], got["state"]) == ("second", 3, "finished")
    (project,) = store.projects()  # began with its run, though the store took the run in after it started
    assert (project["name"], project["runs"]) == ("pg", 1) and project["created_at"] == pytest.approx(got["created_at"])
    with pytest.raises(UsageError, match="no run 'nope'"):
        store.edit_run("nope", [(RecordType.UPDATE, {"name": "x"})])
    store.close()


def test_a_database_store_deletes_a_finished_run_only(pg_url, tracklet_env):
    from tracklet._errors import UsageError
    from tracklet.store.sql._store import SqlStore

    migrate(pg_url)
    store = SqlStore(url=pg_url)
    run = tracklet.init(project="pg")
    run.log({"loss": 1.0})
    _send_rest(store, _wal(tracklet_env, run.id), run.id)
    with pytest.raises(UsageError, match="still running; delete it after it ends"):
        store.delete_run(run.id)
    run.finish()
    _send_rest(store, _wal(tracklet_env, run.id), run.id)
    store.delete_run(run.id)
    assert store.run(run.id) is None and store.runs("pg") == []
    with pytest.raises(UsageError, match=f"no run '{run.id}'"):
        store.delete_run(run.id)
    store.close()


def test_a_database_store_marks_a_silent_run_crashed_and_a_later_batch_revives_it(pg_url, tracklet_env):
    import time

    from tracklet.store.sql._catchup import STALE_AFTER, mark_silent_runs
    from tracklet.store.sql._store import SqlStore

    migrate(pg_url)
    store = SqlStore(url=pg_url)
    run = tracklet.init(project="pg")
    run.log({"loss": 1.0})
    wal = _wal(tracklet_env, run.id)
    _send_rest(store, wal, run.id)
    assert store.run(run.id)["state"] == "running"
    assert mark_silent_runs(store.engine(), now=time.time() + STALE_AFTER / 2) == 0  # not silent long enough
    assert mark_silent_runs(store.engine(), now=time.time() + STALE_AFTER + 1) == 1  # its server heard nothing for long
    assert store.run(run.id)["state"] == "crashed"
    run.log({"loss": 0.5})
    run._writer.flush()
    _send_rest(store, wal, run.id)  # its records were only held up: it lives
    assert store.run(run.id)["state"] == "running"
    run.finish()
    _send_rest(store, wal, run.id)
    assert store.run(run.id)["state"] == "finished"
    store.close()


def test_media_steps_on_postgresql_answers_as_on_sqlite(pg_url, tracklet_env):
    from tracklet.store.sql._store import SqlStore

    runs = []
    for n, steps in enumerate(([0, 5, 10], [0, 4])):
        run = tracklet.init(project="pg")
        for step in steps:
            run.log({"w": tracklet.Histogram([step, step + n + 1]), "t": tracklet.Table(columns=["x"], data=[[step]])}, step=step)
        run.finish()
        runs.append(run.id)
    local = SqlStore(str(tracklet_env)).media_steps(runs)
    assert local[runs[0]]["w"] == {"kind": "histogram", "steps": [0, 5, 10]}
    migrate(pg_url)
    engine = make_engine(pg_url)
    catch_up(engine, str(tracklet_env))
    engine.dispose()
    store = SqlStore(url=pg_url)
    try:
        assert store.media_steps(runs) == local
        with pytest.raises(tracklet.UsageError, match="no run 'ghost'"):
            store.media_steps(["ghost"])
    finally:
        store.close()


def test_a_database_store_filters_calls_by_prompt_version_and_feedback(pg_url):
    from tracklet.store.sql._store import SqlStore

    migrate(pg_url)
    store = SqlStore(url=pg_url)

    def call(cid, prompts):
        return {"start": {"id": cid, "trace": cid, "op": "answer", "t": 1.0},
                "end": {"id": cid, "t": 2.0, "status": "ok", "summary": {"prompts": prompts}}}

    store.put_calls("pg-calls", None, [call("a", ["qa:v0"]), call("b", ["qa:v1", "other:v0"]), call("c", ["qxa:v1"])])

    def ids(filters):
        return [c["id"] for c in store.calls("pg-calls", None, filters)]

    assert ids({"prompt": "qa:v1"}) == ["b"] and ids({"prompt": "qa"}) == ["a", "b"]
    assert ids({"prompt": "q_a:v1"}) == []  # "_" is a character, not LIKE's wildcard
    store.add_feedback("a", "reaction", "👍")
    assert ids({"feedback": "reaction", "prompt": "qa"}) == ["a"]
    store.close()
