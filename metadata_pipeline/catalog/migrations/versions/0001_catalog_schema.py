"""catalog schema: every table of the merged seed designs, plus row-level security on PostgreSQL

Revision ID: 0001_catalog_schema
Revises:
Create Date: 2026-11-22 04:31:31.960735
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from metadata_pipeline.catalog.models import TENANT_TABLES

revision: str = "0001_catalog_schema"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "companies",
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("company_type", sa.String(length=32), nullable=False),
        sa.Column("subscription_tier", sa.String(length=32), nullable=False),
        sa.Column("subscription_status", sa.String(length=32), nullable=False),
        sa.Column("subscription_start_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("subscription_end_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("billing_email", sa.String(length=255), nullable=True),
        sa.Column(
            "billing_address",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("max_users", sa.Integer(), nullable=True),
        sa.Column("max_projects", sa.Integer(), nullable=True),
        sa.Column("max_datasets", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "company_type IN ('individual', 'organization')", name=op.f("ck_companies_company_type")
        ),
        sa.CheckConstraint(
            "subscription_status IN ('active', 'suspended', 'cancelled')",
            name=op.f("ck_companies_subscription_status"),
        ),
        sa.CheckConstraint(
            "subscription_tier IN ('free', 'pro', 'enterprise')", name=op.f("ck_companies_subscription_tier")
        ),
        sa.PrimaryKeyConstraint("company_id", name=op.f("pk_companies")),
        sa.UniqueConstraint("name", name=op.f("uq_companies_name")),
    )
    op.create_table(
        "users",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("full_name", sa.String(length=255), nullable=True),
        sa.Column("avatar_url", sa.String(length=1024), nullable=True),
        sa.Column("company_role", sa.String(length=16), nullable=False),
        sa.Column("auth_user_id", sa.Uuid(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint("company_role IN ('admin', 'member')", name=op.f("ck_users_company_role")),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.company_id"],
            name=op.f("fk_users_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_users")),
        sa.UniqueConstraint("auth_user_id", name=op.f("uq_users_auth_user_id")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_company_id"), ["company_id"], unique=False)

    op.create_table(
        "projects",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("project_type", sa.String(length=32), nullable=True),
        sa.Column(
            "configuration",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("is_locked", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "visibility IN ('public', 'private', 'locked')", name=op.f("ck_projects_visibility")
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.company_id"],
            name=op.f("fk_projects_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.user_id"], name=op.f("fk_projects_owner_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_projects")),
        sa.UniqueConstraint("company_id", "name", name=op.f("uq_projects_company_id_name")),
    )
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_projects_company_id"), ["company_id"], unique=False)

    op.create_table(
        "workspaces",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("source_branch", sa.String(length=255), nullable=False),
        sa.Column("source_commit_sha", sa.String(length=64), nullable=True),
        sa.Column("source_provider", sa.String(length=16), nullable=False),
        sa.Column("remote_url", sa.String(length=1024), nullable=True),
        sa.Column("path_prefix", sa.String(length=255), nullable=False),
        sa.Column("credential_env", sa.String(length=255), nullable=True),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("is_synced", sa.Boolean(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("is_locked", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "source_provider IN ('git', 'github', 'gitlab', 'bitbucket', 'azure', 'other')",
            name=op.f("ck_workspaces_source_provider"),
        ),
        sa.CheckConstraint(
            "visibility IN ('public', 'private', 'locked')", name=op.f("ck_workspaces_visibility")
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.company_id"],
            name=op.f("fk_workspaces_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.user_id"],
            name=op.f("fk_workspaces_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.user_id"], name=op.f("fk_workspaces_owner_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.project_id"],
            name=op.f("fk_workspaces_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_workspaces")),
        sa.UniqueConstraint(
            "company_id", "project_id", "name", name=op.f("uq_workspaces_company_id_project_id_name")
        ),
    )
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workspaces_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_workspaces_project_id"), ["project_id"], unique=False)

    op.create_table(
        "connections",
        sa.Column("connection_id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("connection_type", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("url", sa.String(length=1024), nullable=False),
        sa.Column("branch", sa.String(length=255), nullable=True),
        sa.Column("subdirectory", sa.String(length=1024), nullable=True),
        sa.Column("credential_env", sa.String(length=255), nullable=True),
        sa.Column("webhook_secret_env", sa.String(length=255), nullable=True),
        sa.Column(
            "configuration",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_head_sha", sa.String(length=64), nullable=True),
        sa.Column("last_extracted_sha", sa.String(length=64), nullable=True),
        sa.Column("last_extraction_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("manifest_version", sa.String(length=32), nullable=True),
        sa.Column("manifest_dbt_version", sa.String(length=32), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "provider IN ('git', 'github', 'gitlab', 'bitbucket', 'azure', 'other')",
            name=op.f("ck_connections_provider"),
        ),
        sa.CheckConstraint(
            "status IN ('active', 'failed', 'disconnected')", name=op.f("ck_connections_status")
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.company_id"],
            name=op.f("fk_connections_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.project_id"],
            name=op.f("fk_connections_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.workspace_id"],
            name=op.f("fk_connections_workspace_id_workspaces"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("connection_id", name=op.f("pk_connections")),
        sa.UniqueConstraint("company_id", "name", name=op.f("uq_connections_company_id_name")),
    )
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_connections_company_id"), ["company_id"], unique=False)

    op.create_table(
        "environments",
        sa.Column("environment_id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=True),
        sa.Column("target_platform", sa.String(length=32), nullable=True),
        sa.Column("target_catalog", sa.String(length=255), nullable=True),
        sa.Column("target_schema", sa.String(length=255), nullable=True),
        sa.Column("platform_url", sa.String(length=1024), nullable=True),
        sa.Column(
            "platform_config",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("auto_deploy", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.company_id"],
            name=op.f("fk_environments_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.project_id"],
            name=op.f("fk_environments_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.workspace_id"],
            name=op.f("fk_environments_workspace_id_workspaces"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("environment_id", name=op.f("pk_environments")),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_environments_project_id_name")),
    )
    with op.batch_alter_table("environments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_environments_company_id"), ["company_id"], unique=False)

    op.create_table(
        "source_code_commits",
        sa.Column("commit_id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=True),
        sa.Column("commit_sha", sa.String(length=64), nullable=False),
        sa.Column("commit_message", sa.Text(), nullable=True),
        sa.Column("author", sa.String(length=255), nullable=True),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source_provider", sa.String(length=16), nullable=False),
        sa.Column(
            "files_changed",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "source_provider IN ('git', 'github', 'gitlab', 'bitbucket', 'azure', 'other')",
            name=op.f("ck_source_code_commits_source_provider"),
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.company_id"],
            name=op.f("fk_source_code_commits_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.project_id"],
            name=op.f("fk_source_code_commits_project_id_projects"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.workspace_id"],
            name=op.f("fk_source_code_commits_workspace_id_workspaces"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("commit_id", name=op.f("pk_source_code_commits")),
    )
    with op.batch_alter_table("source_code_commits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_source_code_commits_commit_sha"), ["commit_sha"], unique=False)
        batch_op.create_index(batch_op.f("ix_source_code_commits_company_id"), ["company_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_source_code_commits_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "datasets",
        sa.Column("dataset_id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("connection_id", sa.Uuid(), nullable=True),
        sa.Column("fqn", sa.String(length=1024), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("unique_id", sa.String(length=1024), nullable=True),
        sa.Column("resource_type", sa.String(length=32), nullable=True),
        sa.Column("medallion_layer", sa.String(length=16), nullable=True),
        sa.Column("entity_type", sa.String(length=32), nullable=True),
        sa.Column("entity_subtype", sa.String(length=32), nullable=True),
        sa.Column("materialization_type", sa.String(length=32), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "tags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("ai_confidence_score", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("is_locked", sa.Boolean(), nullable=False),
        sa.Column("source_file_path", sa.String(length=1024), nullable=True),
        sa.Column("source_commit_sha", sa.String(length=64), nullable=True),
        sa.Column("has_uncommitted_changes", sa.Boolean(), nullable=False),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sync_status", sa.String(length=16), nullable=False),
        sa.Column("sync_error_message", sa.Text(), nullable=True),
        sa.Column("extracted_from", sa.String(length=64), nullable=True),
        sa.Column("extraction_tier", sa.String(length=8), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("definition", sa.Text(), nullable=True),
        sa.Column("compiled_definition", sa.Text(), nullable=True),
        sa.Column("file_path", sa.String(length=1024), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("missing_runs", sa.Integer(), nullable=False),
        sa.Column("deprecated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "human_edited_fields",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "suggested_values",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "field_sources",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "entity_subtype IS NULL OR entity_subtype IN ('Dimension', 'Fact', 'Hub', 'Link', 'Satellite', 'LinkSatellite', 'PIT', 'Bridge')",
            name=op.f("ck_datasets_entity_subtype"),
        ),
        sa.CheckConstraint(
            "entity_type IS NULL OR entity_type IN ('Table', 'Staging', 'PersistentStaging', 'DataVault', 'DataMart')",
            name=op.f("ck_datasets_entity_type"),
        ),
        sa.CheckConstraint(
            "extraction_tier IS NULL OR extraction_tier IN ('GOLD', 'SILVER', 'BRONZE')",
            name=op.f("ck_datasets_extraction_tier"),
        ),
        sa.CheckConstraint(
            "medallion_layer IS NULL OR medallion_layer IN ('Raw', 'Bronze', 'Silver', 'Gold')",
            name=op.f("ck_datasets_medallion_layer"),
        ),
        sa.CheckConstraint(
            "status IN ('Draft', 'Active', 'Deprecated', 'Deleted')", name=op.f("ck_datasets_status")
        ),
        sa.CheckConstraint(
            "sync_status IN ('synced', 'pending', 'conflict', 'error')", name=op.f("ck_datasets_sync_status")
        ),
        sa.CheckConstraint(
            "visibility IN ('public', 'private', 'locked')", name=op.f("ck_datasets_visibility")
        ),
        sa.CheckConstraint(
            "ai_confidence_score IS NULL OR (ai_confidence_score >= 0 AND ai_confidence_score <= 100)",
            name=op.f("ck_datasets_ai_confidence_score"),
        ),
        sa.CheckConstraint(
            "confidence IS NULL OR (confidence >= 0 AND confidence <= 1)", name=op.f("ck_datasets_confidence")
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.company_id"],
            name=op.f("fk_datasets_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.connection_id"],
            name=op.f("fk_datasets_connection_id_connections"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.user_id"], name=op.f("fk_datasets_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.user_id"], name=op.f("fk_datasets_owner_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("dataset_id", name=op.f("pk_datasets")),
        sa.UniqueConstraint("company_id", "fqn", name=op.f("uq_datasets_company_id_fqn")),
    )
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_datasets_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_datasets_connection_id"), ["connection_id"], unique=False)
        batch_op.create_index(
            "ix_datasets_connection_unique_id", ["connection_id", "unique_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_datasets_fqn"), ["fqn"], unique=False)
        batch_op.create_index(
            "ix_datasets_uncommitted", ["company_id", "has_uncommitted_changes"], unique=False
        )

    op.create_table(
        "extraction_jobs",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("connection_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("extraction_type", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=True),
        sa.Column("dagster_run_id", sa.String(length=64), nullable=True),
        sa.Column("head_sha", sa.String(length=64), nullable=True),
        sa.Column("objects_extracted", sa.Integer(), nullable=False),
        sa.Column("columns_extracted", sa.Integer(), nullable=False),
        sa.Column("dependencies_extracted", sa.Integer(), nullable=False),
        sa.Column("column_lineage_extracted", sa.Integer(), nullable=False),
        sa.Column("extraction_tier", sa.String(length=8), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column(
            "errors",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "stats",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("artifact_path", sa.String(length=1024), nullable=True),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "extraction_tier IS NULL OR extraction_tier IN ('GOLD', 'SILVER', 'BRONZE')",
            name=op.f("ck_extraction_jobs_extraction_tier"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'success', 'partial', 'failed', 'skipped')",
            name=op.f("ck_extraction_jobs_status"),
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.company_id"],
            name=op.f("fk_extraction_jobs_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.connection_id"],
            name=op.f("fk_extraction_jobs_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_extraction_jobs")),
    )
    with op.batch_alter_table("extraction_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_extraction_jobs_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_extraction_jobs_connection_id"), ["connection_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_extraction_jobs_dagster_run_id"), ["dagster_run_id"], unique=False
        )

    op.create_table(
        "webhook_events",
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=True),
        sa.Column("connection_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=True),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("delivery_id", sa.String(length=255), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("repository", sa.String(length=1024), nullable=True),
        sa.Column("branch", sa.String(length=255), nullable=True),
        sa.Column("before_sha", sa.String(length=64), nullable=True),
        sa.Column("after_sha", sa.String(length=64), nullable=True),
        sa.Column(
            "changed_paths",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("only_pipeline_commits", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "raw_payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.company_id"],
            name=op.f("fk_webhook_events_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.connection_id"],
            name=op.f("fk_webhook_events_connection_id_connections"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.workspace_id"],
            name=op.f("fk_webhook_events_workspace_id_workspaces"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_webhook_events")),
        sa.UniqueConstraint("delivery_id", name=op.f("uq_webhook_events_delivery_id")),
    )
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_events_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_webhook_events_connection_id"), ["connection_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_webhook_events_sequence"), ["sequence"], unique=False)

    op.create_table(
        "audit_logs",
        sa.Column("change_id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("dataset_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=True),
        sa.Column("change_type", sa.String(length=16), nullable=False),
        sa.Column("entity_type", sa.String(length=16), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=True),
        sa.Column("field_name", sa.String(length=255), nullable=True),
        sa.Column(
            "old_value",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "new_value",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("changed_by", sa.Uuid(), nullable=True),
        sa.Column("actor", sa.String(length=255), nullable=True),
        sa.Column("extraction_job_id", sa.Uuid(), nullable=True),
        sa.Column(
            "changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("committed_in_sha", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "change_type IN ('created', 'updated', 'deleted', 'renamed', 'restored')",
            name=op.f("ck_audit_logs_change_type"),
        ),
        sa.CheckConstraint(
            "entity_type IN ('dataset', 'column', 'lineage', 'dependency', 'workspace', 'connection')",
            name=op.f("ck_audit_logs_entity_type"),
        ),
        sa.ForeignKeyConstraint(
            ["changed_by"],
            ["users.user_id"],
            name=op.f("fk_audit_logs_changed_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.company_id"],
            name=op.f("fk_audit_logs_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.dataset_id"],
            name=op.f("fk_audit_logs_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["extraction_job_id"],
            ["extraction_jobs.job_id"],
            name=op.f("fk_audit_logs_extraction_job_id_extraction_jobs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.workspace_id"],
            name=op.f("fk_audit_logs_workspace_id_workspaces"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("change_id", name=op.f("pk_audit_logs")),
    )
    with op.batch_alter_table("audit_logs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_logs_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_logs_dataset_id"), ["dataset_id"], unique=False)
        batch_op.create_index("ix_audit_logs_entity", ["entity_type", "entity_id"], unique=False)
        batch_op.create_index("ix_audit_logs_uncommitted", ["company_id", "committed_in_sha"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_logs_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "columns",
        sa.Column("column_id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("dataset_id", sa.Uuid(), nullable=False),
        sa.Column("fqn", sa.String(length=1024), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("data_type", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("business_name", sa.String(length=255), nullable=True),
        sa.Column("pii_category", sa.String(length=32), nullable=True),
        sa.Column("is_primary_key", sa.Boolean(), nullable=False),
        sa.Column("is_foreign_key", sa.Boolean(), nullable=False),
        sa.Column("is_nullable", sa.Boolean(), nullable=False),
        sa.Column("default_value", sa.Text(), nullable=True),
        sa.Column("reference_column_id", sa.Uuid(), nullable=True),
        sa.Column("reference_type", sa.String(length=16), nullable=True),
        sa.Column("reference_description", sa.Text(), nullable=True),
        sa.Column("transformation_logic", sa.Text(), nullable=True),
        sa.Column("ai_confidence_score", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("extracted_from", sa.String(length=64), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column(
            "human_edited_fields",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "suggested_values",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "field_sources",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "reference_type IS NULL OR reference_type IN ('FK', 'BusinessKey', 'NaturalKey')",
            name=op.f("ck_columns_reference_type"),
        ),
        sa.CheckConstraint(
            "ai_confidence_score IS NULL OR (ai_confidence_score >= 0 AND ai_confidence_score <= 100)",
            name=op.f("ck_columns_ai_confidence_score"),
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.company_id"],
            name=op.f("fk_columns_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.dataset_id"],
            name=op.f("fk_columns_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reference_column_id"],
            ["columns.column_id"],
            name=op.f("fk_columns_reference_column_id_columns"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("column_id", name=op.f("pk_columns")),
        sa.UniqueConstraint("dataset_id", "name", name=op.f("uq_columns_dataset_id_name")),
    )
    with op.batch_alter_table("columns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_columns_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_columns_dataset_id"), ["dataset_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_columns_reference_column_id"), ["reference_column_id"], unique=False
        )

    op.create_table(
        "dataset_dependencies",
        sa.Column("dependency_id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("downstream_dataset_id", sa.Uuid(), nullable=False),
        sa.Column("upstream_dataset_id", sa.Uuid(), nullable=False),
        sa.Column("dependency_type", sa.String(length=16), nullable=False),
        sa.Column("extracted_from", sa.String(length=64), nullable=False),
        sa.Column("extraction_tier", sa.String(length=8), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "dependency_type IN ('ref', 'source', 'direct')",
            name=op.f("ck_dataset_dependencies_dependency_type"),
        ),
        sa.CheckConstraint(
            "extraction_tier IS NULL OR extraction_tier IN ('GOLD', 'SILVER', 'BRONZE')",
            name=op.f("ck_dataset_dependencies_extraction_tier"),
        ),
        sa.CheckConstraint(
            "confidence >= 0 AND confidence <= 1", name=op.f("ck_dataset_dependencies_confidence")
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.company_id"],
            name=op.f("fk_dataset_dependencies_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["downstream_dataset_id"],
            ["datasets.dataset_id"],
            name=op.f("fk_dataset_dependencies_downstream_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["upstream_dataset_id"],
            ["datasets.dataset_id"],
            name=op.f("fk_dataset_dependencies_upstream_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("dependency_id", name=op.f("pk_dataset_dependencies")),
        sa.UniqueConstraint(
            "downstream_dataset_id",
            "upstream_dataset_id",
            name=op.f("uq_dataset_dependencies_downstream_dataset_id_upstream_dataset_id"),
        ),
    )
    with op.batch_alter_table("dataset_dependencies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dataset_dependencies_company_id"), ["company_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_dataset_dependencies_downstream_dataset_id"),
            ["downstream_dataset_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_dataset_dependencies_upstream_dataset_id"), ["upstream_dataset_id"], unique=False
        )

    op.create_table(
        "dataset_locks",
        sa.Column("lock_id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("lock_key", sa.String(length=255), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=True),
        sa.Column("dataset_id", sa.Uuid(), nullable=True),
        sa.Column("lock_token", sa.Uuid(), nullable=False),
        sa.Column("lock_type", sa.String(length=16), nullable=False),
        sa.Column("holder", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "lock_type IN ('optimistic', 'pessimistic')", name=op.f("ck_dataset_locks_lock_type")
        ),
        sa.CheckConstraint("expires_at > locked_at", name=op.f("ck_dataset_locks_expiry_after_lock")),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.company_id"],
            name=op.f("fk_dataset_locks_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.dataset_id"],
            name=op.f("fk_dataset_locks_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.workspace_id"],
            name=op.f("fk_dataset_locks_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("lock_id", name=op.f("pk_dataset_locks")),
        sa.UniqueConstraint("lock_key", name=op.f("uq_dataset_locks_lock_key")),
    )
    with op.batch_alter_table("dataset_locks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dataset_locks_company_id"), ["company_id"], unique=False)

    op.create_table(
        "project_datasets",
        sa.Column("project_dataset_id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("dataset_id", sa.Uuid(), nullable=False),
        sa.Column(
            "added_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("added_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["added_by"],
            ["users.user_id"],
            name=op.f("fk_project_datasets_added_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.company_id"],
            name=op.f("fk_project_datasets_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.dataset_id"],
            name=op.f("fk_project_datasets_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.project_id"],
            name=op.f("fk_project_datasets_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_dataset_id", name=op.f("pk_project_datasets")),
        sa.UniqueConstraint(
            "project_id", "dataset_id", name=op.f("uq_project_datasets_project_id_dataset_id")
        ),
    )
    with op.batch_alter_table("project_datasets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_project_datasets_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_project_datasets_dataset_id"), ["dataset_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_project_datasets_project_id"), ["project_id"], unique=False)

    op.create_table(
        "schema_versions",
        sa.Column("version_id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("connection_id", sa.Uuid(), nullable=True),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("snapshot_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "changes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("change_count", sa.Integer(), nullable=False),
        sa.Column("parent_version_id", sa.Uuid(), nullable=True),
        sa.Column("extraction_job_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.company_id"],
            name=op.f("fk_schema_versions_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.connection_id"],
            name=op.f("fk_schema_versions_connection_id_connections"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["extraction_job_id"],
            ["extraction_jobs.job_id"],
            name=op.f("fk_schema_versions_extraction_job_id_extraction_jobs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["parent_version_id"],
            ["schema_versions.version_id"],
            name=op.f("fk_schema_versions_parent_version_id_schema_versions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.workspace_id"],
            name=op.f("fk_schema_versions_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_schema_versions")),
        sa.UniqueConstraint(
            "workspace_id", "version_number", name=op.f("uq_schema_versions_workspace_id_version_number")
        ),
    )
    with op.batch_alter_table("schema_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_schema_versions_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_schema_versions_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "sync_conflicts",
        sa.Column("conflict_id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("dataset_id", sa.Uuid(), nullable=True),
        sa.Column("file_path", sa.String(length=1024), nullable=False),
        sa.Column("git_sha", sa.String(length=64), nullable=False),
        sa.Column(
            "diff",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "git_document",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "resolution IS NULL OR resolution IN ('ours', 'theirs', 'manual')",
            name=op.f("ck_sync_conflicts_resolution"),
        ),
        sa.CheckConstraint("status IN ('open', 'resolved')", name=op.f("ck_sync_conflicts_status")),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.company_id"],
            name=op.f("fk_sync_conflicts_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.dataset_id"],
            name=op.f("fk_sync_conflicts_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.workspace_id"],
            name=op.f("fk_sync_conflicts_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conflict_id", name=op.f("pk_sync_conflicts")),
    )
    with op.batch_alter_table("sync_conflicts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_conflicts_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sync_conflicts_dataset_id"), ["dataset_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sync_conflicts_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "workspace_datasets",
        sa.Column("workspace_dataset_id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("dataset_id", sa.Uuid(), nullable=False),
        sa.Column(
            "canvas_position",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "added_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column("added_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["added_by"],
            ["users.user_id"],
            name=op.f("fk_workspace_datasets_added_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.company_id"],
            name=op.f("fk_workspace_datasets_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"],
            ["datasets.dataset_id"],
            name=op.f("fk_workspace_datasets_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.workspace_id"],
            name=op.f("fk_workspace_datasets_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_dataset_id", name=op.f("pk_workspace_datasets")),
        sa.UniqueConstraint(
            "workspace_id", "dataset_id", name=op.f("uq_workspace_datasets_workspace_id_dataset_id")
        ),
    )
    with op.batch_alter_table("workspace_datasets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workspace_datasets_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_workspace_datasets_dataset_id"), ["dataset_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_workspace_datasets_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "lineage",
        sa.Column("lineage_id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=True),
        sa.Column("downstream_dataset_id", sa.Uuid(), nullable=False),
        sa.Column("downstream_column_id", sa.Uuid(), nullable=False),
        sa.Column("upstream_dataset_id", sa.Uuid(), nullable=True),
        sa.Column("upstream_column_id", sa.Uuid(), nullable=True),
        sa.Column("mapping_type", sa.String(length=16), nullable=False),
        sa.Column("transformation_expression", sa.Text(), nullable=True),
        sa.Column("lineage_type", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("extracted_from", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "lineage_type = 'direct' OR role IS NOT NULL", name=op.f("ck_lineage_indirect_has_role")
        ),
        sa.CheckConstraint("lineage_type IN ('direct', 'indirect')", name=op.f("ck_lineage_lineage_type")),
        sa.CheckConstraint(
            "mapping_type IN ('Direct', 'Transform', 'Derived', 'Calculated')",
            name=op.f("ck_lineage_mapping_type"),
        ),
        sa.CheckConstraint("confidence >= 0 AND confidence <= 1", name=op.f("ck_lineage_confidence")),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["companies.company_id"],
            name=op.f("fk_lineage_company_id_companies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["downstream_column_id"],
            ["columns.column_id"],
            name=op.f("fk_lineage_downstream_column_id_columns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["downstream_dataset_id"],
            ["datasets.dataset_id"],
            name=op.f("fk_lineage_downstream_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["upstream_column_id"],
            ["columns.column_id"],
            name=op.f("fk_lineage_upstream_column_id_columns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["upstream_dataset_id"],
            ["datasets.dataset_id"],
            name=op.f("fk_lineage_upstream_dataset_id_datasets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.workspace_id"],
            name=op.f("fk_lineage_workspace_id_workspaces"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("lineage_id", name=op.f("pk_lineage")),
        sa.UniqueConstraint(
            "downstream_column_id",
            "upstream_column_id",
            "lineage_type",
            "role",
            name=op.f("uq_lineage_downstream_column_id_upstream_column_id_lineage_type_role"),
        ),
    )
    with op.batch_alter_table("lineage", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lineage_company_id"), ["company_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_lineage_downstream_column_id"), ["downstream_column_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_lineage_downstream_dataset_id"), ["downstream_dataset_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_lineage_upstream_column_id"), ["upstream_column_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_lineage_upstream_dataset_id"), ["upstream_dataset_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_lineage_workspace_id"), ["workspace_id"], unique=False)
    _enable_row_level_security()


def _enable_row_level_security() -> None:
    """Isolate companies on PostgreSQL: a role without BYPASSRLS sees only its company's rows.

    The policy compares against the transaction setting `app.company_id` (set with
    `set_config('app.company_id', ..., true)` or `SET app.company_id = ...`). With the setting
    absent, such a role sees nothing. Table owners and superusers (the pipeline's own maintenance
    connection) are not subject to RLS unless FORCE is used, which keeps migrations and bulk loads simple.
    """
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {table}_company_isolation ON {table} "
            "USING (company_id::text = current_setting('app.company_id', true)) "
            "WITH CHECK (company_id::text = current_setting('app.company_id', true))"
        )


def downgrade() -> None:
    with op.batch_alter_table("lineage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lineage_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_lineage_upstream_dataset_id"))
        batch_op.drop_index(batch_op.f("ix_lineage_upstream_column_id"))
        batch_op.drop_index(batch_op.f("ix_lineage_downstream_dataset_id"))
        batch_op.drop_index(batch_op.f("ix_lineage_downstream_column_id"))
        batch_op.drop_index(batch_op.f("ix_lineage_company_id"))

    op.drop_table("lineage")
    with op.batch_alter_table("workspace_datasets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workspace_datasets_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_workspace_datasets_dataset_id"))
        batch_op.drop_index(batch_op.f("ix_workspace_datasets_company_id"))

    op.drop_table("workspace_datasets")
    with op.batch_alter_table("sync_conflicts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_conflicts_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_sync_conflicts_dataset_id"))
        batch_op.drop_index(batch_op.f("ix_sync_conflicts_company_id"))

    op.drop_table("sync_conflicts")
    with op.batch_alter_table("schema_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schema_versions_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_schema_versions_company_id"))

    op.drop_table("schema_versions")
    with op.batch_alter_table("project_datasets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_project_datasets_project_id"))
        batch_op.drop_index(batch_op.f("ix_project_datasets_dataset_id"))
        batch_op.drop_index(batch_op.f("ix_project_datasets_company_id"))

    op.drop_table("project_datasets")
    with op.batch_alter_table("dataset_locks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dataset_locks_company_id"))

    op.drop_table("dataset_locks")
    with op.batch_alter_table("dataset_dependencies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dataset_dependencies_upstream_dataset_id"))
        batch_op.drop_index(batch_op.f("ix_dataset_dependencies_downstream_dataset_id"))
        batch_op.drop_index(batch_op.f("ix_dataset_dependencies_company_id"))

    op.drop_table("dataset_dependencies")
    with op.batch_alter_table("columns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_columns_reference_column_id"))
        batch_op.drop_index(batch_op.f("ix_columns_dataset_id"))
        batch_op.drop_index(batch_op.f("ix_columns_company_id"))

    op.drop_table("columns")
    with op.batch_alter_table("audit_logs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_logs_workspace_id"))
        batch_op.drop_index("ix_audit_logs_uncommitted")
        batch_op.drop_index("ix_audit_logs_entity")
        batch_op.drop_index(batch_op.f("ix_audit_logs_dataset_id"))
        batch_op.drop_index(batch_op.f("ix_audit_logs_company_id"))

    op.drop_table("audit_logs")
    with op.batch_alter_table("webhook_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_events_sequence"))
        batch_op.drop_index(batch_op.f("ix_webhook_events_connection_id"))
        batch_op.drop_index(batch_op.f("ix_webhook_events_company_id"))

    op.drop_table("webhook_events")
    with op.batch_alter_table("extraction_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_extraction_jobs_dagster_run_id"))
        batch_op.drop_index(batch_op.f("ix_extraction_jobs_connection_id"))
        batch_op.drop_index(batch_op.f("ix_extraction_jobs_company_id"))

    op.drop_table("extraction_jobs")
    with op.batch_alter_table("datasets", schema=None) as batch_op:
        batch_op.drop_index("ix_datasets_uncommitted")
        batch_op.drop_index(batch_op.f("ix_datasets_fqn"))
        batch_op.drop_index("ix_datasets_connection_unique_id")
        batch_op.drop_index(batch_op.f("ix_datasets_connection_id"))
        batch_op.drop_index(batch_op.f("ix_datasets_company_id"))

    op.drop_table("datasets")
    with op.batch_alter_table("source_code_commits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_source_code_commits_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_source_code_commits_company_id"))
        batch_op.drop_index(batch_op.f("ix_source_code_commits_commit_sha"))

    op.drop_table("source_code_commits")
    with op.batch_alter_table("environments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_environments_company_id"))

    op.drop_table("environments")
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_connections_company_id"))

    op.drop_table("connections")
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workspaces_project_id"))
        batch_op.drop_index(batch_op.f("ix_workspaces_company_id"))

    op.drop_table("workspaces")
    with op.batch_alter_table("projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_projects_company_id"))

    op.drop_table("projects")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_company_id"))

    op.drop_table("users")
    op.drop_table("companies")
