"""The catalog: SQLAlchemy models, Alembic migrations, sessions, tenant context, repository registry."""

from metadata_pipeline.catalog.database import (
    CatalogError,
    SchemaStatus,
    Tenant,
    cached_engine,
    ensure_default_tenant,
    make_engine,
    require_current_schema,
    schema_status,
    session_scope,
    set_company,
    upgrade,
)
from metadata_pipeline.catalog.registry import (
    RegistryError,
    RepositoryInfo,
    add_repository,
    get_repository,
    list_repositories,
)

__all__ = [
    "CatalogError",
    "RegistryError",
    "RepositoryInfo",
    "SchemaStatus",
    "Tenant",
    "add_repository",
    "cached_engine",
    "ensure_default_tenant",
    "get_repository",
    "list_repositories",
    "make_engine",
    "require_current_schema",
    "schema_status",
    "session_scope",
    "set_company",
    "upgrade",
]
