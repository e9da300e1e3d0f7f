"""Schema 7: trace_logs, calls and call_feedback, the traced op calls.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trace_logs",
        sa.Column("log_id", sa.String(64), primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("host", sa.String(256)),
        sa.Column("pid", sa.Integer),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("wal_offset", sa.BigInteger, nullable=False),
        sa.Column("open_calls", sa.Integer, nullable=False),
    )
    op.create_table(
        "calls",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("trace_id", sa.String(64), nullable=False),
        sa.Column("parent_id", sa.String(64)),
        sa.Column("project_id", sa.Integer, nullable=False),
        sa.Column("log_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16)),
        sa.Column("op_name", sa.String(512), nullable=False),
        sa.Column("op_version", sa.String(64)),
        sa.Column("run_id", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("ended_at", sa.Float),
        sa.Column("latency_ms", sa.Float),
        sa.Column("thread", sa.BigInteger),
        sa.Column("task", sa.String(256)),
        sa.Column("inputs", sa.Text),
        sa.Column("output", sa.Text),
        sa.Column("exception", sa.Text),
        sa.Column("attributes", sa.Text),
        sa.Column("usage", sa.Text),
        sa.Column("summary", sa.Text),
        sa.Column("prompt_tokens", sa.BigInteger),
        sa.Column("completion_tokens", sa.BigInteger),
        sa.Column("total_tokens", sa.BigInteger),
        sa.Column("cost", sa.Float),
    )
    op.create_index("ix_calls_project_started", "calls", ["project_id", "started_at"])
    op.create_index("ix_calls_project_op_latency", "calls", ["project_id", "op_name", "latency_ms"])
    op.create_index("ix_calls_trace", "calls", ["trace_id"])
    op.create_index("ix_calls_parent", "calls", ["parent_id"])
    op.create_index("ix_calls_run", "calls", ["run_id"])
    op.create_table(
        "call_feedback",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("call_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(256)),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("creator", sa.String(128)),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_index("ix_call_feedback_call", "call_feedback", ["call_id"])
    op.execute("UPDATE tracklet_meta SET value = '7' WHERE key = 'schema_version'")


def downgrade() -> None:
    raise NotImplementedError("tracklet's store is never downgraded: restore a backup, or rebuild from the logs")
