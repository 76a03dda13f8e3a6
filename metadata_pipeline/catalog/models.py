"""The catalog schema: SQLAlchemy 2 models merged from the seed designs (000, 001, 002, 003, 004).

One schema serves SQLite (embedded default) and PostgreSQL (production). Every tenant table carries
`company_id` so PostgreSQL row-level security can isolate companies with one simple policy per table
(see migrations), and so tenant filters never need a join.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from metadata_pipeline.vocabulary import (
    ENTITY_SUBTYPES,
    ENTITY_TYPES,
    LINEAGE_TYPES,
    MAPPING_TYPES,
    MEDALLION_LAYERS,
)

# Named constraints so Alembic autogenerate and both dialects agree on names.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonType = JSON().with_variant(JSONB(), "postgresql")

REFERENCE_TYPES = ("FK", "BusinessKey", "NaturalKey")
SYNC_STATUSES = ("synced", "pending", "conflict", "error")
DATASET_STATUSES = ("Draft", "Active", "Deprecated", "Deleted")
TIERS = ("GOLD", "SILVER", "BRONZE")
VISIBILITIES = ("public", "private", "locked")
PROVIDERS = ("git", "github", "gitlab", "bitbucket", "azure", "other")
JOB_STATUSES = ("pending", "running", "success", "partial", "failed", "skipped")


def _in(column: str, values: tuple[str, ...], nullable: bool = True) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    clause = f"{column} IN ({quoted})"
    return f"{column} IS NULL OR {clause}" if nullable else clause


def _uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid, primary_key=True, default=uuid.uuid4)


def _company_fk() -> Mapped[uuid.UUID]:
    return mapped_column(
        Uuid, ForeignKey("companies.company_id", ondelete="CASCADE"), nullable=False, index=True
    )


def _created() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


def _updated() -> Mapped[datetime]:
    return mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Tables that hold one company's data; each gets a row-level security policy on PostgreSQL.
TENANT_TABLES: tuple[str, ...] = (
    "users",
    "projects",
    "workspaces",
    "connections",
    "datasets",
    "columns",
    "dataset_dependencies",
    "lineage",
    "project_datasets",
    "workspace_datasets",
    "audit_logs",
    "source_code_commits",
    "extraction_jobs",
    "schema_versions",
    "dataset_locks",
    "webhook_events",
    "environments",
    "sync_conflicts",
)


class Company(Base):
    __tablename__ = "companies"
    company_id: Mapped[uuid.UUID] = _uuid_pk()
    name: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    company_type: Mapped[str] = mapped_column(String(32), nullable=False, default="organization")
    subscription_tier: Mapped[str] = mapped_column(String(32), nullable=False, default="free")
    subscription_status: Mapped[str] = mapped_column(String(32), nullable=False, default="active")
    subscription_start_date: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    subscription_end_date: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    billing_email: Mapped[str | None] = mapped_column(String(255))
    billing_address: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    max_users: Mapped[int | None] = mapped_column(Integer, default=1)
    max_projects: Mapped[int | None] = mapped_column(Integer, default=5)
    max_datasets: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()
    __table_args__ = (
        CheckConstraint(_in("company_type", ("individual", "organization"), False), name="company_type"),
        CheckConstraint(
            _in("subscription_tier", ("free", "pro", "enterprise"), False), name="subscription_tier"
        ),
        CheckConstraint(
            _in("subscription_status", ("active", "suspended", "cancelled"), False),
            name="subscription_status",
        ),
    )


class User(Base):
    __tablename__ = "users"
    user_id: Mapped[uuid.UUID] = _uuid_pk()
    company_id: Mapped[uuid.UUID] = _company_fk()
    email: Mapped[str] = mapped_column(String(320), nullable=False, unique=True)
    full_name: Mapped[str | None] = mapped_column(String(255))
    avatar_url: Mapped[str | None] = mapped_column(String(1024))
    company_role: Mapped[str] = mapped_column(String(16), nullable=False, default="member")
    auth_user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()
    __table_args__ = (CheckConstraint(_in("company_role", ("admin", "member"), False), name="company_role"),)


class Project(Base):
    __tablename__ = "projects"
    project_id: Mapped[uuid.UUID] = _uuid_pk()
    company_id: Mapped[uuid.UUID] = _company_fk()
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    project_type: Mapped[str | None] = mapped_column(String(32))
    configuration: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.user_id", ondelete="SET NULL"))
    visibility: Mapped[str] = mapped_column(String(16), nullable=False, default="private")
    is_locked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()
    __table_args__ = (
        UniqueConstraint("company_id", "name"),
        CheckConstraint(_in("visibility", VISIBILITIES, False), name="visibility"),
    )


class Workspace(Base):
    """One Git branch of a metadata repository (seed 000 section 3.3)."""

    __tablename__ = "workspaces"
    workspace_id: Mapped[uuid.UUID] = _uuid_pk()
    company_id: Mapped[uuid.UUID] = _company_fk()
    project_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("projects.project_id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    source_branch: Mapped[str] = mapped_column(String(255), nullable=False, default="main")
    source_commit_sha: Mapped[str | None] = mapped_column(String(64))
    source_provider: Mapped[str] = mapped_column(String(16), nullable=False, default="git")
    # Where the metadata YAML lives: any remote `git` reaches (or a GitHub repo), and a folder in it.
    remote_url: Mapped[str | None] = mapped_column(String(1024))
    path_prefix: Mapped[str] = mapped_column(String(255), nullable=False, default="datasets")
    credential_env: Mapped[str | None] = mapped_column(String(255))  # name of the env var holding a token
    last_synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    is_synced: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.user_id", ondelete="SET NULL"))
    visibility: Mapped[str] = mapped_column(String(16), nullable=False, default="private")
    is_locked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.user_id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()
    __table_args__ = (
        UniqueConstraint("company_id", "project_id", "name"),
        CheckConstraint(_in("source_provider", PROVIDERS, False), name="source_provider"),
        CheckConstraint(_in("visibility", VISIBILITIES, False), name="visibility"),
    )


class Connection(Base):
    """A dbt repository the pipeline ingests (seed 000 section 3.8 merged with seed 001's connections)."""

    __tablename__ = "connections"
    connection_id: Mapped[uuid.UUID] = _uuid_pk()
    company_id: Mapped[uuid.UUID] = _company_fk()
    project_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("projects.project_id", ondelete="CASCADE")
    )
    workspace_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("workspaces.workspace_id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    connection_type: Mapped[str] = mapped_column(String(64), nullable=False, default="dbt_repository")
    provider: Mapped[str] = mapped_column(String(16), nullable=False, default="git")
    url: Mapped[str] = mapped_column(String(1024), nullable=False)
    branch: Mapped[str | None] = mapped_column(String(255))
    subdirectory: Mapped[str | None] = mapped_column(String(1024))
    credential_env: Mapped[str | None] = mapped_column(String(255))  # env var name, never the secret
    webhook_secret_env: Mapped[str | None] = mapped_column(String(255))
    configuration: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="active")
    last_head_sha: Mapped[str | None] = mapped_column(String(64))
    last_extracted_sha: Mapped[str | None] = mapped_column(String(64))
    last_extraction_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    manifest_version: Mapped[str | None] = mapped_column(String(32))
    manifest_dbt_version: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()
    __table_args__ = (
        UniqueConstraint("company_id", "name"),
        CheckConstraint(_in("provider", PROVIDERS, False), name="provider"),
        CheckConstraint(_in("status", ("active", "failed", "disconnected"), False), name="status"),
    )


class Dataset(Base):
    """One model, source, seed or snapshot (seed 000 section 3.4 plus seed 001/002 extraction fields)."""

    __tablename__ = "datasets"
    dataset_id: Mapped[uuid.UUID] = _uuid_pk()
    company_id: Mapped[uuid.UUID] = _company_fk()
    connection_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("connections.connection_id", ondelete="SET NULL"), index=True
    )
    fqn: Mapped[str] = mapped_column(String(1024), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    unique_id: Mapped[str | None] = mapped_column(String(1024))  # dbt's unique_id
    resource_type: Mapped[str | None] = mapped_column(String(32))
    medallion_layer: Mapped[str | None] = mapped_column(String(16))
    entity_type: Mapped[str | None] = mapped_column(String(32))
    entity_subtype: Mapped[str | None] = mapped_column(String(32))
    materialization_type: Mapped[str | None] = mapped_column(String(32))
    description: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JsonType)
    tags: Mapped[list[str] | None] = mapped_column(JsonType)
    ai_confidence_score: Mapped[int | None] = mapped_column(Integer)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.user_id", ondelete="SET NULL"))
    visibility: Mapped[str] = mapped_column(String(16), nullable=False, default="private")
    is_locked: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # Source control sync tracking
    source_file_path: Mapped[str | None] = mapped_column(String(1024))
    source_commit_sha: Mapped[str | None] = mapped_column(String(64))
    has_uncommitted_changes: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    last_synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sync_status: Mapped[str] = mapped_column(String(16), nullable=False, default="synced")
    sync_error_message: Mapped[str | None] = mapped_column(Text)
    # Extraction (seed 001)
    extracted_from: Mapped[str | None] = mapped_column(String(64))
    extraction_tier: Mapped[str | None] = mapped_column(String(8))
    confidence: Mapped[float | None] = mapped_column(Float)
    definition: Mapped[str | None] = mapped_column(Text)
    compiled_definition: Mapped[str | None] = mapped_column(Text)
    file_path: Mapped[str | None] = mapped_column(String(1024))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    # Hash of the extraction input last reconciled into this dataset (object, columns, edges,
    # dependencies): reconcile skips a dataset whose input hash is unchanged. NULL forces a full diff.
    reconcile_hash: Mapped[str | None] = mapped_column(String(64))
    # Lifecycle (seed 002): Draft -> Active -> Deprecated -> Deleted (soft)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="Active")
    missing_runs: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    deprecated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Fields a person wrote (YAML pulled from Git, the CLI): extraction and AI never overwrite them.
    human_edited_fields: Mapped[list[str] | None] = mapped_column(JsonType)
    # What extraction would have written over a human edit, kept for review.
    suggested_values: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    field_sources: Mapped[dict[str, str] | None] = mapped_column(JsonType)  # field -> extracted_from
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.user_id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()
    __table_args__ = (
        UniqueConstraint("company_id", "fqn"),
        CheckConstraint(_in("medallion_layer", MEDALLION_LAYERS), name="medallion_layer"),
        CheckConstraint(_in("entity_type", ENTITY_TYPES), name="entity_type"),
        CheckConstraint(_in("entity_subtype", ENTITY_SUBTYPES), name="entity_subtype"),
        CheckConstraint(_in("sync_status", SYNC_STATUSES, False), name="sync_status"),
        CheckConstraint(_in("status", DATASET_STATUSES, False), name="status"),
        CheckConstraint(_in("extraction_tier", TIERS), name="extraction_tier"),
        CheckConstraint(_in("visibility", VISIBILITIES, False), name="visibility"),
        CheckConstraint(
            "ai_confidence_score IS NULL OR (ai_confidence_score >= 0 AND ai_confidence_score <= 100)",
            name="ai_confidence_score",
        ),
        CheckConstraint("confidence IS NULL OR (confidence >= 0 AND confidence <= 1)", name="confidence"),
        Index("ix_datasets_uncommitted", "company_id", "has_uncommitted_changes"),
        Index("ix_datasets_connection_unique_id", "connection_id", "unique_id"),
    )


class Column(Base):
    """A dataset column; a reference to another column lives on the column itself (seed 000 3.4)."""

    __tablename__ = "columns"
    column_id: Mapped[uuid.UUID] = _uuid_pk()
    company_id: Mapped[uuid.UUID] = _company_fk()
    dataset_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("datasets.dataset_id", ondelete="CASCADE"), nullable=False, index=True
    )
    fqn: Mapped[str] = mapped_column(String(1024), nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    data_type: Mapped[str] = mapped_column(String(255), nullable=False, default="unknown")
    description: Mapped[str | None] = mapped_column(Text)
    business_name: Mapped[str | None] = mapped_column(String(255))
    pii_category: Mapped[str | None] = mapped_column(String(32))
    is_primary_key: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    is_foreign_key: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    is_nullable: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    default_value: Mapped[str | None] = mapped_column(Text)
    reference_column_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("columns.column_id", ondelete="SET NULL"), index=True
    )
    reference_type: Mapped[str | None] = mapped_column(String(16))
    reference_description: Mapped[str | None] = mapped_column(Text)
    transformation_logic: Mapped[str | None] = mapped_column(Text)
    ai_confidence_score: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[int | None] = mapped_column(Integer)
    extracted_from: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float | None] = mapped_column(Float)
    human_edited_fields: Mapped[list[str] | None] = mapped_column(JsonType)
    suggested_values: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    field_sources: Mapped[dict[str, str] | None] = mapped_column(JsonType)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()
    __table_args__ = (
        UniqueConstraint("dataset_id", "name"),
        CheckConstraint(_in("reference_type", REFERENCE_TYPES), name="reference_type"),
        CheckConstraint(
            "ai_confidence_score IS NULL OR (ai_confidence_score >= 0 AND ai_confidence_score <= 100)",
            name="ai_confidence_score",
        ),
    )


class DatasetDependency(Base):
    """Model-level lineage: `downstream` depends on `upstream` (seed 001's source -> target)."""

    __tablename__ = "dataset_dependencies"
    dependency_id: Mapped[uuid.UUID] = _uuid_pk()
    company_id: Mapped[uuid.UUID] = _company_fk()
    downstream_dataset_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("datasets.dataset_id", ondelete="CASCADE"), nullable=False, index=True
    )
    upstream_dataset_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("datasets.dataset_id", ondelete="CASCADE"), nullable=False, index=True
    )
    dependency_type: Mapped[str] = mapped_column(String(16), nullable=False, default="ref")
    extracted_from: Mapped[str] = mapped_column(String(64), nullable=False, default="manifest")
    extraction_tier: Mapped[str | None] = mapped_column(String(8))
    confidence: Mapped[float] = mapped_column(Float, nullable=False, default=1.0)
    created_at: Mapped[datetime] = _created()
    __table_args__ = (
        UniqueConstraint("downstream_dataset_id", "upstream_dataset_id"),
        CheckConstraint(_in("dependency_type", ("ref", "source", "direct"), False), name="dependency_type"),
        CheckConstraint(_in("extraction_tier", TIERS), name="extraction_tier"),
        CheckConstraint("confidence >= 0 AND confidence <= 1", name="confidence"),
    )


class Lineage(Base):
    """Column-level lineage (seed 000 section 3.6, with seed 001's confidence and extracted_from).

    A Calculated column has no upstream column; an indirect edge (filter, join, ...) carries a role.
    """

    __tablename__ = "lineage"
    lineage_id: Mapped[uuid.UUID] = _uuid_pk()
    company_id: Mapped[uuid.UUID] = _company_fk()
    workspace_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("workspaces.workspace_id", ondelete="SET NULL"), index=True
    )
    downstream_dataset_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("datasets.dataset_id", ondelete="CASCADE"), nullable=False, index=True
    )
    downstream_column_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("columns.column_id", ondelete="CASCADE"), nullable=False, index=True
    )
    upstream_dataset_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("datasets.dataset_id", ondelete="CASCADE"), index=True
    )
    upstream_column_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("columns.column_id", ondelete="CASCADE"), index=True
    )
    mapping_type: Mapped[str] = mapped_column(String(16), nullable=False)
    transformation_expression: Mapped[str | None] = mapped_column(Text)
    lineage_type: Mapped[str] = mapped_column(String(16), nullable=False, default="direct")
    role: Mapped[str | None] = mapped_column(String(32))
    confidence: Mapped[float] = mapped_column(Float, nullable=False, default=1.0)
    extracted_from: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = _created()
    __table_args__ = (
        UniqueConstraint("downstream_column_id", "upstream_column_id", "lineage_type", "role"),
        CheckConstraint(_in("mapping_type", MAPPING_TYPES, False), name="mapping_type"),
        CheckConstraint(_in("lineage_type", LINEAGE_TYPES, False), name="lineage_type"),
        CheckConstraint("confidence >= 0 AND confidence <= 1", name="confidence"),
        CheckConstraint("lineage_type = 'direct' OR role IS NOT NULL", name="indirect_has_role"),
    )


class ProjectDataset(Base):
    __tablename__ = "project_datasets"
    project_dataset_id: Mapped[uuid.UUID] = _uuid_pk()
    company_id: Mapped[uuid.UUID] = _company_fk()
    project_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("projects.project_id", ondelete="CASCADE"), nullable=False, index=True
    )
    dataset_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("datasets.dataset_id", ondelete="CASCADE"), nullable=False, index=True
    )
    added_at: Mapped[datetime] = _created()
    added_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.user_id", ondelete="SET NULL"))
    __table_args__ = (UniqueConstraint("project_id", "dataset_id"),)


class WorkspaceDataset(Base):
    __tablename__ = "workspace_datasets"
    workspace_dataset_id: Mapped[uuid.UUID] = _uuid_pk()
    company_id: Mapped[uuid.UUID] = _company_fk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("workspaces.workspace_id", ondelete="CASCADE"), nullable=False, index=True
    )
    dataset_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("datasets.dataset_id", ondelete="CASCADE"), nullable=False, index=True
    )
    canvas_position: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    added_at: Mapped[datetime] = _created()
    added_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.user_id", ondelete="SET NULL"))
    __table_args__ = (UniqueConstraint("workspace_id", "dataset_id"),)


class AuditLog(Base):
    """One changed field of one entity (seed 000 section 3.6.2)."""

    __tablename__ = "audit_logs"
    change_id: Mapped[uuid.UUID] = _uuid_pk()
    company_id: Mapped[uuid.UUID] = _company_fk()
    dataset_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("datasets.dataset_id", ondelete="CASCADE"), index=True
    )
    workspace_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("workspaces.workspace_id", ondelete="SET NULL"), index=True
    )
    change_type: Mapped[str] = mapped_column(String(16), nullable=False)
    entity_type: Mapped[str] = mapped_column(String(16), nullable=False)
    entity_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    field_name: Mapped[str | None] = mapped_column(String(255))
    old_value: Mapped[Any] = mapped_column(JsonType)
    new_value: Mapped[Any] = mapped_column(JsonType)
    changed_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.user_id", ondelete="SET NULL")
    )
    # Who, when it is not a user: "extraction_job:<id>", "ai:offline", "git:<sha>", "cli".
    actor: Mapped[str | None] = mapped_column(String(255))
    extraction_job_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("extraction_jobs.job_id", ondelete="SET NULL")
    )
    changed_at: Mapped[datetime] = _created()
    committed_in_sha: Mapped[str | None] = mapped_column(String(64))
    __table_args__ = (
        CheckConstraint(
            _in("change_type", ("created", "updated", "deleted", "renamed", "restored"), False),
            name="change_type",
        ),
        CheckConstraint(
            _in(
                "entity_type",
                ("dataset", "column", "lineage", "dependency", "workspace", "connection"),
                False,
            ),
            name="entity_type",
        ),
        Index("ix_audit_logs_entity", "entity_type", "entity_id"),
        Index("ix_audit_logs_uncommitted", "company_id", "committed_in_sha"),
    )


class SourceCodeCommit(Base):
    __tablename__ = "source_code_commits"
    commit_id: Mapped[uuid.UUID] = _uuid_pk()
    company_id: Mapped[uuid.UUID] = _company_fk()
    project_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("projects.project_id", ondelete="SET NULL")
    )
    workspace_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("workspaces.workspace_id", ondelete="SET NULL"), index=True
    )
    commit_sha: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    commit_message: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(255))
    committed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    source_provider: Mapped[str] = mapped_column(String(16), nullable=False, default="git")
    files_changed: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonType)
    created_at: Mapped[datetime] = _created()
    __table_args__ = (CheckConstraint(_in("source_provider", PROVIDERS, False), name="source_provider"),)


class ExtractionJob(Base):
    """One extraction run of one connection (seed 001 extraction_jobs, seed 004 execution history)."""

    __tablename__ = "extraction_jobs"
    job_id: Mapped[uuid.UUID] = _uuid_pk()
    company_id: Mapped[uuid.UUID] = _company_fk()
    connection_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("connections.connection_id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    extraction_type: Mapped[str] = mapped_column(String(16), nullable=False, default="full")
    trigger: Mapped[str | None] = mapped_column(String(16))  # manual | schedule | webhook | poll | cli
    dagster_run_id: Mapped[str | None] = mapped_column(String(64), index=True)
    head_sha: Mapped[str | None] = mapped_column(String(64))
    objects_extracted: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    columns_extracted: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    dependencies_extracted: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    column_lineage_extracted: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    extraction_tier: Mapped[str | None] = mapped_column(String(8))
    error_message: Mapped[str | None] = mapped_column(Text)
    errors: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonType)
    stats: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    artifact_path: Mapped[str | None] = mapped_column(String(1024))
    started_at: Mapped[datetime] = _created()
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (
        CheckConstraint(_in("status", JOB_STATUSES, False), name="status"),
        CheckConstraint(_in("extraction_tier", TIERS), name="extraction_tier"),
    )


class SchemaVersion(Base):
    """A reconcile that changed something (seed 002): snapshot hash, changes, parent version."""

    __tablename__ = "schema_versions"
    version_id: Mapped[uuid.UUID] = _uuid_pk()
    company_id: Mapped[uuid.UUID] = _company_fk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("workspaces.workspace_id", ondelete="CASCADE"), nullable=False, index=True
    )
    connection_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("connections.connection_id", ondelete="SET NULL")
    )
    version_number: Mapped[int] = mapped_column(Integer, nullable=False)
    snapshot_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    changes: Mapped[list[dict[str, Any]] | dict[str, Any] | None] = mapped_column(JsonType)
    change_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    parent_version_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("schema_versions.version_id", ondelete="SET NULL")
    )
    extraction_job_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("extraction_jobs.job_id", ondelete="SET NULL")
    )
    created_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = _created()
    __table_args__ = (UniqueConstraint("workspace_id", "version_number"),)


class DatasetLock(Base):
    """A lock with an expiry (seed 002); `lock_key` makes "one active lock per thing" a unique key."""

    __tablename__ = "dataset_locks"
    lock_id: Mapped[uuid.UUID] = _uuid_pk()
    company_id: Mapped[uuid.UUID] = _company_fk()
    lock_key: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    workspace_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("workspaces.workspace_id", ondelete="CASCADE")
    )
    dataset_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("datasets.dataset_id", ondelete="CASCADE")
    )
    lock_token: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, default=uuid.uuid4)
    lock_type: Mapped[str] = mapped_column(String(16), nullable=False, default="pessimistic")
    holder: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str | None] = mapped_column(Text)
    locked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    __table_args__ = (
        CheckConstraint(_in("lock_type", ("optimistic", "pessimistic"), False), name="lock_type"),
        CheckConstraint("expires_at > locked_at", name="expiry_after_lock"),
    )


class WebhookEvent(Base):
    """A Git webhook delivery, stored durably before anything processes it."""

    __tablename__ = "webhook_events"
    event_id: Mapped[uuid.UUID] = _uuid_pk()
    company_id: Mapped[uuid.UUID] = _company_fk()
    sequence: Mapped[int | None] = mapped_column(Integer, index=True)  # monotonic, for sensor cursors
    connection_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("connections.connection_id", ondelete="SET NULL"), index=True
    )
    workspace_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("workspaces.workspace_id", ondelete="SET NULL")
    )
    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    delivery_id: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    event_type: Mapped[str] = mapped_column(String(64), nullable=False)
    repository: Mapped[str | None] = mapped_column(String(1024))
    branch: Mapped[str | None] = mapped_column(String(255))
    before_sha: Mapped[str | None] = mapped_column(String(64))
    after_sha: Mapped[str | None] = mapped_column(String(64))
    changed_paths: Mapped[list[str] | None] = mapped_column(JsonType)
    only_pipeline_commits: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="received")
    received_at: Mapped[datetime] = _created()
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    raw_payload: Mapped[Any] = mapped_column(JsonType)


class Environment(Base):
    __tablename__ = "environments"
    environment_id: Mapped[uuid.UUID] = _uuid_pk()
    company_id: Mapped[uuid.UUID] = _company_fk()
    project_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("projects.project_id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    workspace_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("workspaces.workspace_id", ondelete="SET NULL")
    )
    target_platform: Mapped[str | None] = mapped_column(String(32))
    target_catalog: Mapped[str | None] = mapped_column(String(255))
    target_schema: Mapped[str | None] = mapped_column(String(255))
    platform_url: Mapped[str | None] = mapped_column(String(1024))
    platform_config: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    auto_deploy: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()
    __table_args__ = (UniqueConstraint("project_id", "name"),)


class SyncConflict(Base):
    """A dataset changed both in the catalog and in Git (seed 000 section 4.4)."""

    __tablename__ = "sync_conflicts"
    conflict_id: Mapped[uuid.UUID] = _uuid_pk()
    company_id: Mapped[uuid.UUID] = _company_fk()
    workspace_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("workspaces.workspace_id", ondelete="CASCADE"), nullable=False, index=True
    )
    dataset_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("datasets.dataset_id", ondelete="CASCADE"), index=True
    )
    file_path: Mapped[str] = mapped_column(String(1024), nullable=False)
    git_sha: Mapped[str] = mapped_column(String(64), nullable=False)
    diff: Mapped[list[dict[str, Any]] | None] = mapped_column(JsonType)  # [{path, catalog, git}]
    git_document: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    resolution: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = _created()
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        CheckConstraint(_in("status", ("open", "resolved"), False), name="status"),
        CheckConstraint(_in("resolution", ("ours", "theirs", "manual")), name="resolution"),
    )
