"""Schema 8: sweeps and sweep_trials, hyperparameter sweeps and the trials their agents claimed.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # new tables; nothing stored changes
    op.create_table(
        "sweeps",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("name", sa.String(256)),
        sa.Column("config", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("ix_sweeps_project", "sweeps", ["project_id", "created_at"])
    op.create_table(
        "sweep_trials",
        sa.Column("sweep_id", sa.String(32), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False, unique=True),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("point", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("agent", sa.String(128)),
        sa.Column("host", sa.String(256)),
        sa.Column("pid", sa.Integer),
        sa.Column("claimed_at", sa.Float, nullable=False),
        sa.Column("rungs", sa.JSON),
        sa.PrimaryKeyConstraint("sweep_id", "number"),
    )
    op.execute("UPDATE tracklet_meta SET value = '8' WHERE key = 'schema_version'")


def downgrade() -> None:
    raise NotImplementedError("tracklet's store is never downgraded: restore a backup, or rebuild from the logs")
