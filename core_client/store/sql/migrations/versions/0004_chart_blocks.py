"""Schema 4: history_blocks, the chart blocks of each curve, and history_dirty, the curves whose blocks lag.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "history_blocks",
        sa.Column("run_pk", sa.Integer, nullable=False),
        sa.Column("key_id", sa.Integer, nullable=False),
        sa.Column("block", sa.BigInteger, nullable=False),
        sa.Column("n", sa.Integer, nullable=False),
        sa.Column("first_step", sa.BigInteger, nullable=False),
        sa.Column("last_step", sa.BigInteger, nullable=False),
        sa.Column("total", sa.Float, nullable=False),
        sa.Column("lo", sa.Float, nullable=False),
        sa.Column("hi", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("run_pk", "key_id", "block"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "history_dirty",
        sa.Column("run_pk", sa.Integer, nullable=False),
        sa.Column("key_id", sa.Integer, nullable=False),
        sa.Column("from_step", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("run_pk", "key_id"),
    )
    # every curve stored before is marked: the worker, or the first chart of it, makes its blocks
    op.execute("INSERT INTO history_dirty (run_pk, key_id, from_step) SELECT run_pk, key_id, MIN(step) FROM history GROUP BY run_pk, key_id")
    op.execute("UPDATE tracklet_meta SET value = '4' WHERE key = 'schema_version'")


def downgrade() -> None:
    raise NotImplementedError("tracklet's store is never downgraded: restore a backup, or rebuild from the logs")
