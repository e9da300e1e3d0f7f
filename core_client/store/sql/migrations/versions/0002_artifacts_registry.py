"""Schema 2: artifacts, lineage and the model registry (tables added, nothing changed).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "artifact_collections",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("projects.id"), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("type", sa.String(128), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("project_id", "name", name="uq_artifact_collections_project_name"),
    )
    op.create_table(
        "artifact_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("collection_id", sa.Integer, sa.ForeignKey("artifact_collections.id"), nullable=False),
        sa.Column("version_index", sa.Integer, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("type", sa.String(128), nullable=False),
        sa.Column("description", sa.Text),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("manifest", sa.JSON, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("file_count", sa.Integer, nullable=False),
        sa.Column("run_pk", sa.Integer),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.UniqueConstraint("collection_id", "version_index", name="uq_artifact_versions_index"),
    )
    op.create_index("ix_artifact_versions_digest", "artifact_versions", ["collection_id", "digest"])
    op.create_table(
        "artifact_aliases",
        sa.Column("collection_id", sa.Integer, nullable=False),
        sa.Column("alias", sa.String(128), nullable=False),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("collection_id", "alias"),
    )
    op.create_table(
        "artifact_usage",
        sa.Column("run_pk", sa.Integer, nullable=False),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("run_pk", "version_id", "kind"),
    )
    op.create_index("ix_artifact_usage_version", "artifact_usage", ["version_id", "kind"])
    op.create_table(
        "registered_models",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(256), nullable=False, unique=True),
        sa.Column("description", sa.Text),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "registry_links",
        sa.Column("model_id", sa.Integer, nullable=False),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.Column("link_index", sa.Integer, nullable=False),
        sa.Column("linked_at", sa.Float, nullable=False),
        sa.Column("linked_by", sa.String(256)),
        sa.PrimaryKeyConstraint("model_id", "version_id"),
    )
    op.create_table(
        "registry_aliases",
        sa.Column("model_id", sa.Integer, nullable=False),
        sa.Column("alias", sa.String(128), nullable=False),
        sa.Column("version_id", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("model_id", "alias"),
    )
    op.create_table(
        "registry_audit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model_id", sa.Integer, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("version_id", sa.Integer),
        sa.Column("link_index", sa.Integer),
        sa.Column("alias", sa.String(128)),
        sa.Column("actor", sa.String(256)),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("run_pk", sa.Integer),
        sa.Column("seq", sa.BigInteger),
        sa.UniqueConstraint("run_pk", "seq", "action", "alias", name="uq_registry_audit_source"),
    )
    op.create_index("ix_registry_audit_model", "registry_audit", ["model_id", "at"])
    op.execute("UPDATE tracklet_meta SET value = '2' WHERE key = 'schema_version'")


def downgrade() -> None:
    raise NotImplementedError("tracklet's store is never downgraded: restore a backup, or rebuild from the logs")
