"""Fixtures of the reconcile tests (on top of the shared catalog_url / catalog_engine / tenant)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from metadata_pipeline.catalog.database import Tenant, ensure_default_tenant, make_engine, session_scope
from metadata_pipeline_tests.conftest import _pg_url, drop_pg_database, new_pg_database
from metadata_pipeline_tests.reconcile.builders import make_connection


@pytest.fixture
def connection_id(catalog_engine: Engine, tenant: Tenant) -> uuid.UUID:
    return make_connection(catalog_engine, tenant)


@pytest.fixture
def rls_catalog(pg_template: str) -> Iterator[tuple[str, Tenant, uuid.UUID]]:
    """A PostgreSQL catalog reached through a role that row-level security applies to (not the owner):
    (its URL, the tenant, a connection id), the tenant and connection created by the owner."""
    name = new_pg_database(pg_template)
    role = f"mp_app_{uuid.uuid4().hex[:8]}"
    owner_url = _pg_url(name)
    try:
        owner = make_engine(owner_url)
        with owner.begin() as conn:
            conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
            conn.execute(
                text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{role}"')
            )
        with session_scope(owner) as session:
            tenant = ensure_default_tenant(session)
        connection_id = make_connection(owner, tenant)
        owner.dispose()
        yield owner_url.replace("postgres@", f"{role}@", 1), tenant, connection_id
    finally:
        drop_pg_database(name)
        admin = make_engine(_pg_url("postgres"))
        with admin.begin() as conn:
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()
