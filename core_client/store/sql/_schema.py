"""The store's tables (SQLAlchemy Core), shared by SQLite and PostgreSQL.

History is clustered by ``(run_pk, key_id, step)`` so one curve of one run is one range
scan. Times inside a run are integer milliseconds since the run's ``created_at``, which
keeps a scalar point near 25 bytes on disk.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "SCHEMA_VERSION",
    "api_key_grants",
    "api_keys",
    "artifact_aliases",
    "call_feedback",
    "calls",
    "artifact_collections",
    "artifact_usage",
    "artifact_versions",
    "history",
    "history_blocks",
    "history_dirty",
    "history_values",
    "meta",
    "metadata",
    "projects",
    "registered_models",
    "registry_aliases",
    "registry_audit",
    "registry_links",
    "run_keys",
    "run_logs",
    "run_media",
    "run_problems",
    "runs",
    "system_metrics",
    "trace_logs",
    "users",
]

# 2: artifacts, lineage and the model registry (tables added, nothing changed)
# 3: runs.log_id (which write-ahead log a run's rows came from) and run_problems
# 4: history_blocks and history_dirty, the chart blocks of each curve (see _blocks)
# 5: run_media, the rich values (tables, images, histograms, ...) runs logged
# 6: users, api_keys and api_key_grants: the server's API keys and their per-project access (see _auth)
# 7: trace_logs, calls and call_feedback: traced op calls (see _calls)
# Each version N is made by the Alembic revision "000N" in migrations/versions: change a table here,
# and add the revision that makes the change in a database (tests check that the two agree).
SCHEMA_VERSION = 7

metadata = MetaData()

meta = Table(
    "tracklet_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

projects = Table(
    "projects",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("entity", String(128), nullable=False, default=""),
    Column("name", String(128), nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("entity", "name", name="uq_projects_entity_name"),
)

runs = Table(
    "runs",
    metadata,
    Column("pk", Integer, primary_key=True),
    Column("run_id", String(64), nullable=False, unique=True),
    Column("project_id", Integer, ForeignKey("projects.id"), nullable=False),
    Column("name", String(256)),
    Column("group_name", String(256)),
    Column("job_type", String(128)),
    Column("tags", JSON, nullable=False, default=list),
    Column("notes", Text),
    Column("mode", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("heartbeat_at", Float),
    Column("finished_at", Float),
    Column("exit_code", Integer),
    Column("error", Text),
    Column("host", String(256)),
    Column("pid", Integer),
    Column("config", JSON, nullable=False, default=dict),
    Column("summary", JSON, nullable=False, default=dict),
    Column("summary_state", JSON, nullable=False, default=dict),
    Column("metric_defs", JSON, nullable=False, default=list),
    Column("environment", JSON),
    Column("last_step", BigInteger),
    Column("wal_offset", BigInteger, nullable=False, default=0),
    Column("wal_seq", BigInteger, nullable=False, default=0),
    Column("log_id", String(64)),  # the identity of the write-ahead log the rows came from
    Index("ix_runs_project_created", "project_id", "created_at"),
)

run_keys = Table(
    "run_keys",
    metadata,
    Column("run_pk", Integer, nullable=False),
    Column("key_id", Integer, nullable=False),
    Column("name", String(512), nullable=False),
    PrimaryKeyConstraint("run_pk", "key_id"),
    sqlite_with_rowid=False,
)

history = Table(
    "history",
    metadata,
    Column("run_pk", Integer, nullable=False),
    Column("key_id", Integer, nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("value", Float),
    PrimaryKeyConstraint("run_pk", "key_id", "step"),
    sqlite_with_rowid=False,
)

history_values = Table(
    "history_values",
    metadata,
    Column("run_pk", Integer, nullable=False),
    Column("key_id", Integer, nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("value", JSON),
    PrimaryKeyConstraint("run_pk", "key_id", "step"),
    sqlite_with_rowid=False,
)

# Blocks of 64 steps of each curve, for charts (see _blocks): made from history, never the other way.
history_blocks = Table(
    "history_blocks",
    metadata,
    Column("run_pk", Integer, nullable=False),
    Column("key_id", Integer, nullable=False),
    Column("block", BigInteger, nullable=False),  # step // 64
    Column("n", Integer, nullable=False),
    Column("first_step", BigInteger, nullable=False),
    Column("last_step", BigInteger, nullable=False),
    Column("total", Float, nullable=False),
    Column("lo", Float, nullable=False),
    Column("hi", Float, nullable=False),
    PrimaryKeyConstraint("run_pk", "key_id", "block"),
    sqlite_with_rowid=False,
)

# Curves whose blocks lag behind history: the lowest step ingest wrote since they were made.
history_dirty = Table(
    "history_dirty",
    metadata,
    Column("run_pk", Integer, nullable=False),
    Column("key_id", Integer, nullable=False),
    Column("from_step", BigInteger, nullable=False),
    PrimaryKeyConstraint("run_pk", "key_id"),
)

system_metrics = Table(
    "system_metrics",
    metadata,
    Column("run_pk", Integer, nullable=False),
    Column("key_id", Integer, nullable=False),
    Column("ts", BigInteger, nullable=False),
    Column("value", Float),
    PrimaryKeyConstraint("run_pk", "key_id", "ts"),
    sqlite_with_rowid=False,
)

run_logs = Table(
    "run_logs",
    metadata,
    Column("run_pk", Integer, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("ts", Float, nullable=False),
    Column("stream", String(8), nullable=False),
    Column("text", Text, nullable=False),
    PrimaryKeyConstraint("run_pk", "seq"),
    sqlite_with_rowid=False,
)

# Rich values a run logged (tables, images, histograms, ...): one row per value, its bytes a blob
# named by digest in the blob store. A list logged under one key is one row per item (idx).
run_media = Table(
    "run_media",
    metadata,
    Column("run_pk", Integer, nullable=False),
    Column("key", String(512), nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("idx", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("digest", String(80), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("ts", BigInteger, nullable=False),  # ms since the run's created_at, as history's
    Column("meta", JSON, nullable=False, default=dict),  # per kind: a table's columns and format, a caption, ...
    Column("refs", JSON),  # digests of blobs nested in it (images in a table's cells), or null
    PrimaryKeyConstraint("run_pk", "key", "step", "idx"),
    Index("ix_run_media_digest", "digest"),
)

# What went wrong with a run's records: bytes of its log skipped as damaged, records lost to a
# full disk. Keyed by where in the log, so a replay adds nothing.
run_problems = Table(
    "run_problems",
    metadata,
    Column("run_pk", Integer, nullable=False),
    Column("kind", String(16), nullable=False),  # "damaged" (bytes skipped) or "lost" (records dropped)
    Column("at_offset", BigInteger, nullable=False),
    Column("size", BigInteger, nullable=False),  # bytes
    Column("records", BigInteger),  # records lost, when known
    Column("detail", Text),
    Column("found_at", Float, nullable=False),
    PrimaryKeyConstraint("run_pk", "kind", "at_offset"),
)

# -- artifacts -------------------------------------------------------------------------------------
artifact_collections = Table(
    "artifact_collections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("project_id", Integer, ForeignKey("projects.id"), nullable=False),
    Column("name", String(256), nullable=False),
    Column("type", String(128), nullable=False),
    Column("description", Text),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("project_id", "name", name="uq_artifact_collections_project_name"),
)

artifact_versions = Table(
    "artifact_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("collection_id", Integer, ForeignKey("artifact_collections.id"), nullable=False),
    Column("version_index", Integer, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("type", String(128), nullable=False),
    Column("description", Text),
    Column("metadata", JSON, nullable=False, default=dict),
    Column("manifest", JSON, nullable=False),
    Column("size", BigInteger, nullable=False, default=0),
    Column("file_count", Integer, nullable=False, default=0),
    Column("run_pk", Integer),  # the run that logged it first
    Column("created_at", Float, nullable=False),
    Column("state", String(16), nullable=False, default="committed"),
    UniqueConstraint("collection_id", "version_index", name="uq_artifact_versions_index"),
    Index("ix_artifact_versions_digest", "collection_id", "digest"),
)

artifact_aliases = Table(
    "artifact_aliases",
    metadata,
    Column("collection_id", Integer, nullable=False),
    Column("alias", String(128), nullable=False),
    Column("version_id", Integer, nullable=False),
    PrimaryKeyConstraint("collection_id", "alias"),
)

# lineage: which runs logged (output) and used (input) which versions
artifact_usage = Table(
    "artifact_usage",
    metadata,
    Column("run_pk", Integer, nullable=False),
    Column("version_id", Integer, nullable=False),
    Column("kind", String(8), nullable=False),  # "input" or "output"
    Column("at", Float, nullable=False),
    PrimaryKeyConstraint("run_pk", "version_id", "kind"),
    Index("ix_artifact_usage_version", "version_id", "kind"),
)

# -- the model registry ----------------------------------------------------------------------------
registered_models = Table(
    "registered_models",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(256), nullable=False, unique=True),
    Column("description", Text),
    Column("created_at", Float, nullable=False),
)

registry_links = Table(
    "registry_links",
    metadata,
    Column("model_id", Integer, nullable=False),
    Column("version_id", Integer, nullable=False),
    Column("link_index", Integer, nullable=False),  # v0, v1, ... within the registered model
    Column("linked_at", Float, nullable=False),
    Column("linked_by", String(256)),
    PrimaryKeyConstraint("model_id", "version_id"),
)

registry_aliases = Table(
    "registry_aliases",
    metadata,
    Column("model_id", Integer, nullable=False),
    Column("alias", String(128), nullable=False),
    Column("version_id", Integer, nullable=False),
    PrimaryKeyConstraint("model_id", "alias"),
)

registry_audit = Table(
    "registry_audit",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model_id", Integer, nullable=False),
    Column("action", String(16), nullable=False),  # link, unlink, alias, unalias
    Column("version_id", Integer),
    Column("link_index", Integer),  # the registry version (vN) at the time
    Column("alias", String(128)),
    Column("actor", String(256)),
    Column("at", Float, nullable=False),
    Column("run_pk", Integer),  # with seq: the WAL record it came from, so a replay adds nothing
    Column("seq", BigInteger),
    UniqueConstraint("run_pk", "seq", "action", "alias", name="uq_registry_audit_source"),
    Index("ix_registry_audit_model", "model_id", "at"),
)


# -- the server's users and API keys ---------------------------------------------------------------
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
)

# A key is stored only as the SHA-256 of its secret; ``key_id`` is its public name (list, revoke).
api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("secret_sha256", String(64), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float),
)

# per-project access of a key: project "*" is every project; access "read" or "write" (write includes read)
api_key_grants = Table(
    "api_key_grants",
    metadata,
    Column("key_id", String(32), nullable=False),
    Column("project", String(260), nullable=False),  # "project", "entity/project" or "*"
    Column("access", String(8), nullable=False),
    PrimaryKeyConstraint("key_id", "project"),
)


# -- tracing: op calls from the trace logs (DIR/traces/<log_id>.tlog, or sent to a server) -------------
trace_logs = Table(
    "trace_logs",
    metadata,
    Column("log_id", String(64), primary_key=True),
    Column("project_id", Integer, ForeignKey("projects.id"), nullable=False),
    Column("host", String(256)),
    Column("pid", Integer),
    Column("created_at", Float, nullable=False),
    Column("wal_offset", BigInteger, nullable=False, default=0),  # bytes of the log stored
    Column("open_calls", Integer, nullable=False, default=0),  # calls started and not ended (crash detection)
)

# inputs, output, exception, attributes, usage and summary hold JSON text as the log wrote it
calls = Table(
    "calls",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("trace_id", String(64), nullable=False),
    Column("parent_id", String(64)),
    Column("project_id", Integer, nullable=False),
    Column("log_id", String(64), nullable=False),
    Column("kind", String(16)),  # "evaluation" for an Evaluation's own call
    Column("op_name", String(512), nullable=False),
    Column("op_version", String(64)),
    Column("run_id", String(64)),
    Column("status", String(16), nullable=False),  # running, ok, error, cancelled, crashed
    Column("started_at", Float, nullable=False),
    Column("ended_at", Float),
    Column("latency_ms", Float),
    Column("thread", BigInteger),
    Column("task", String(256)),
    Column("inputs", Text),
    Column("output", Text),
    Column("exception", Text),
    Column("attributes", Text),
    Column("usage", Text),
    Column("summary", Text),
    Column("prompt_tokens", BigInteger),
    Column("completion_tokens", BigInteger),
    Column("total_tokens", BigInteger),
    Column("cost", Float),
    Index("ix_calls_project_started", "project_id", "started_at"),
    Index("ix_calls_project_op_latency", "project_id", "op_name", "latency_ms"),
    Index("ix_calls_trace", "trace_id"),
    Index("ix_calls_parent", "parent_id"),
    Index("ix_calls_run", "run_id"),
)

call_feedback = Table(
    "call_feedback",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("call_id", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # reaction, note, score
    Column("name", String(256)),
    Column("value", Text, nullable=False),  # JSON
    Column("creator", String(128)),
    Column("created_at", Float, nullable=False),
    Index("ix_call_feedback_call", "call_id"),
)
