"""Schema 1 (tracklet 0.1): projects, runs, history, system metrics, console output, from an empty database.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _pk(*cols: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint(*cols)


def upgrade() -> None:
    op.create_table(
        "tracklet_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("entity", sa.String(128), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("entity", "name", name="uq_projects_entity_name"),
    )
    op.create_table(
        "runs",
        sa.Column("pk", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.String(64), nullable=False, unique=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("name", sa.String(256)),
        sa.Column("group_name", sa.String(256)),
        sa.Column("job_type", sa.String(128)),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("notes", sa.Text),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("heartbeat_at", sa.Float),
        sa.Column("finished_at", sa.Float),
        sa.Column("exit_code", sa.Integer),
        sa.Column("error", sa.Text),
        sa.Column("host", sa.String(256)),
        sa.Column("pid", sa.Integer),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("summary", sa.JSON, nullable=False),
        sa.Column("summary_state", sa.JSON, nullable=False),
        sa.Column("metric_defs", sa.JSON, nullable=False),
        sa.Column("environment", sa.JSON),
        sa.Column("last_step", sa.BigInteger),
        sa.Column("wal_offset", sa.BigInteger, nullable=False),
        sa.Column("wal_seq", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_runs_project_created", "runs", ["project_id", "created_at"])
    op.create_table(
        "run_keys",
        sa.Column("run_pk", sa.Integer, nullable=False),
        sa.Column("key_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(512), nullable=False),
        _pk("run_pk", "key_id"),
        sqlite_with_rowid=False,
    )
    for name, value in (("history", sa.Float), ("history_values", sa.JSON)):
        op.create_table(
            name,
            sa.Column("run_pk", sa.Integer, nullable=False),
            sa.Column("key_id", sa.Integer, nullable=False),
            sa.Column("step", sa.BigInteger, nullable=False),
            sa.Column("ts", sa.BigInteger, nullable=False),
            sa.Column("value", value),
            _pk("run_pk", "key_id", "step"),
            sqlite_with_rowid=False,
        )
    op.create_table(
        "system_metrics",
        sa.Column("run_pk", sa.Integer, nullable=False),
        sa.Column("key_id", sa.Integer, nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("value", sa.Float),
        _pk("run_pk", "key_id", "ts"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "run_logs",
        sa.Column("run_pk", sa.Integer, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("stream", sa.String(8), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        _pk("run_pk", "seq"),
        sqlite_with_rowid=False,
    )
    op.execute("INSERT INTO tracklet_meta (key, value) VALUES ('schema_version', '1')")


def downgrade() -> None:
    raise NotImplementedError("tracklet's store is never downgraded: restore a backup, or rebuild from the logs")
