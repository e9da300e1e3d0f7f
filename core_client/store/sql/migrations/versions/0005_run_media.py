"""Schema 5: run_media, the rich values (tables, images, histograms, ...) runs logged.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # a new table; nothing stored changes. MEDIA records that an older tracklet's store skipped (it knew
    # no such record) are still in the runs' logs: `tracklet doctor --rebuild` stores them.
    op.create_table(
        "run_media",
        sa.Column("run_pk", sa.Integer, nullable=False),
        sa.Column("key", sa.String(512), nullable=False),
        sa.Column("step", sa.BigInteger, nullable=False),
        sa.Column("idx", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("digest", sa.String(80), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("ts", sa.BigInteger, nullable=False),
        sa.Column("meta", sa.JSON, nullable=False),
        sa.Column("refs", sa.JSON),
        sa.PrimaryKeyConstraint("run_pk", "key", "step", "idx"),
    )
    op.create_index("ix_run_media_digest", "run_media", ["digest"])
    op.execute("UPDATE tracklet_meta SET value = '5' WHERE key = 'schema_version'")


def downgrade() -> None:
    raise NotImplementedError("tracklet's store is never downgraded: restore a backup, or rebuild from the logs")
