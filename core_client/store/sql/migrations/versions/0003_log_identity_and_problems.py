"""Schema 3: runs.log_id (which write-ahead log a run's rows came from) and run_problems.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite adds a nullable column in place (no table copy), so this costs nothing on a large store
    op.add_column("runs", sa.Column("log_id", sa.String(64)))
    op.create_table(
        "run_problems",
        sa.Column("run_pk", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at_offset", sa.BigInteger, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("records", sa.BigInteger),
        sa.Column("detail", sa.Text),
        sa.Column("found_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("run_pk", "kind", "at_offset"),
    )
    op.execute("UPDATE tracklet_meta SET value = '3' WHERE key = 'schema_version'")


def downgrade() -> None:
    raise NotImplementedError("tracklet's store is never downgraded: restore a backup, or rebuild from the logs")
