"""The SQL store: SQLite (embedded, default) or PostgreSQL, through SQLAlchemy Core.

Other rooms (the CLI, ``Api``, the run, artifacts, the server) import the names below from this
package, never its private modules: ``SqlStore`` (the ``Store`` over SQL), opening a database
(``open_local``, ``make_engine``), the ingest worker (``ensure_worker``, ``wake_worker``, ...),
API keys (``KeyStore``), the schema (``migrate``). Inside, ``_engine`` opens a store, ``_ingest`` and
``_catchup`` take WAL records in (``_pg_ingest`` PostgreSQL's bulk path), ``_worker`` is the ingest
process, ``_lite`` reads on plain sqlite3, ``_versions`` and ``migrations/`` hold the schema version.
Each name loads its module on first use: every module here but ``_lite``, ``_spawn``, ``_damage`` and
``_health`` imports SQLAlchemy (about a quarter of a second), so ``import tracklet`` and the training
loop never do.
"""

from __future__ import annotations

from ..._lazy import lazy_attribute

# public name -> the private module that defines it
_HOMES = {
    "SqlStore": "._store",
    "KeyStore": "._auth",
    "Principal": "._auth",
    "checkpoint": "._engine",
    "make_engine": "._engine",
    "open_local": "._engine",
    "ingest_run": "._ingest",
    "mark_crashed": "._catchup",
    "check_batch": "._remote_log",
    "first_run_record_of": "._remote_log",
    "migrate": "._migrate",
    "migration_summary": "._migrate",
    "check_database": "._health",
    "rebuild": "._health",
    "damaged": "._damage",
    "is_damage": "._damage",
    "artifact_version": "._lite",
    "wait_for_worker": "._lite",
    "ensure_worker": "._spawn",
    "ingest_problem": "._spawn",
    "make_store_dir": "._spawn",
    "reap_workers": "._spawn",
    "register_active_run": "._spawn",
    "wake_worker": "._spawn",
    "worker_running": "._spawn",
}


def __getattr__(name: str) -> object:
    # Not cached in globals(): each use reads the name from its module, as `from ._spawn import x` did.
    return lazy_attribute(__name__, _HOMES, name)


__all__ = sorted(_HOMES)
