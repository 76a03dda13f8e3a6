"""The catalog schema on SQLite and PostgreSQL: migrations, constraints, tenant isolation."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, func, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from metadata_pipeline.catalog import (
    Tenant,
    ensure_default_tenant,
    make_engine,
    schema_status,
    session_scope,
    upgrade,
)
from metadata_pipeline.catalog.models import TENANT_TABLES, Base, Column, Company, Dataset, Lineage


def test_upgrade_creates_schema_and_is_idempotent(catalog_url: str, catalog_engine: Engine) -> None:
    tables_before = set(inspect(catalog_engine).get_table_names())
    assert set(Base.metadata.tables) <= tables_before
    upgrade(catalog_url)  # second run: nothing to do
    assert set(inspect(catalog_engine).get_table_names()) == tables_before
    assert schema_status(catalog_engine).up_to_date


def test_models_and_migrations_agree(catalog_engine: Engine) -> None:
    """The equivalent of `alembic check`: autogenerate finds nothing to add."""
    with catalog_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_default_tenant_is_created_once(catalog_engine: Engine) -> None:
    with session_scope(catalog_engine) as session:
        first = ensure_default_tenant(session)
    with session_scope(catalog_engine) as session:
        assert ensure_default_tenant(session) == first
        assert session.scalar(select(func.count()).select_from(Company)) == 1


def _dataset(tenant: Tenant, fqn: str) -> Dataset:
    return Dataset(company_id=tenant.company_id, fqn=fqn, name=fqn.rsplit(".", 1)[-1])


def _duplicate_fqn(session: Session, t: Tenant) -> None:
    session.add_all([_dataset(t, "model.shop.a"), _dataset(t, "model.shop.a")])


def _bad_layer(session: Session, t: Tenant) -> None:
    session.add(Dataset(company_id=t.company_id, fqn="x", name="x", medallion_layer="Tin"))


def _orphan_column(session: Session, t: Tenant) -> None:
    session.add(Column(company_id=t.company_id, dataset_id=uuid.uuid4(), fqn="c", name="c"))


def _bad_reference_type(session: Session, t: Tenant) -> None:
    ds = _dataset(t, "d")
    session.add(ds)
    session.flush()
    session.add(
        Column(company_id=t.company_id, dataset_id=ds.dataset_id, fqn="d.c", name="c", reference_type="Maybe")
    )


def _bad_mapping_type(session: Session, t: Tenant) -> None:
    ds = _dataset(t, "model.shop.m")
    session.add(ds)
    session.flush()
    col = Column(company_id=t.company_id, dataset_id=ds.dataset_id, fqn="model.shop.m.a", name="a")
    session.add(col)
    session.flush()
    session.add(
        Lineage(
            company_id=t.company_id,
            downstream_dataset_id=ds.dataset_id,
            downstream_column_id=col.column_id,
            mapping_type="Magic",
        )
    )


# (case, writer of the offending rows, pattern the database's error must match)
CONSTRAINT_CASES: list[tuple[str, Callable[[Session, Tenant], None], str]] = [
    ("duplicate FQN within a company", _duplicate_fqn, r"(?i)unique|duplicate"),
    ("bad medallion layer", _bad_layer, r"(?i)medallion_layer"),
    ("orphan column", _orphan_column, r"(?i)foreign key"),
    ("bad reference type", _bad_reference_type, r"(?i)reference_type"),
    ("bad mapping type", _bad_mapping_type, r"(?i)mapping_type"),
]


@pytest.mark.parametrize("case,write,pattern", CONSTRAINT_CASES, ids=[c[0] for c in CONSTRAINT_CASES])
def test_constraints_refuse_bad_rows(
    catalog_engine: Engine, tenant: Tenant, case: str, write: Callable[[Session, Tenant], None], pattern: str
) -> None:
    with pytest.raises(IntegrityError, match=pattern), session_scope(catalog_engine) as session:
        write(session, tenant)
        session.flush()
    with session_scope(catalog_engine) as session:  # and nothing of the refused write remains
        assert session.scalar(select(func.count()).select_from(Dataset)) == 0


@pytest.fixture
def pg_engine(pg_catalog_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_catalog_url)
    yield engine
    engine.dispose()


def test_tenant_isolation_on_postgresql(pg_engine: Engine) -> None:
    """A role without BYPASSRLS that sets its company sees only that company's rows."""
    catalog_engine = pg_engine
    with session_scope(catalog_engine) as session:
        a = Company(name="company-a")
        b = Company(name="company-b")
        session.add_all([a, b])
        session.flush()
        session.add_all(
            [
                Dataset(company_id=a.company_id, fqn="model.a.orders", name="orders"),
                Dataset(company_id=b.company_id, fqn="model.b.secrets", name="secrets"),
            ]
        )
        session.flush()
        ids = (a.company_id, b.company_id)
    role = f"mp_reader_{uuid.uuid4().hex[:8]}"
    with catalog_engine.begin() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" NOLOGIN NOSUPERUSER NOBYPASSRLS'))
        conn.execute(text(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"'))
    try:
        with catalog_engine.begin() as conn:
            conn.execute(text(f'SET LOCAL ROLE "{role}"'))
            conn.execute(text("SELECT set_config('app.company_id', :cid, true)"), {"cid": str(ids[0])})
            fqns = conn.scalars(text("SELECT fqn FROM datasets")).all()
            assert fqns == ["model.a.orders"]
            for table in TENANT_TABLES:  # every tenant table is filtered, none leaks company B
                leaked = conn.scalar(
                    text(f"SELECT count(*) FROM {table} WHERE company_id = :b"), {"b": ids[1]}
                )
                assert leaked == 0, table
        with catalog_engine.begin() as conn:
            conn.execute(text(f'SET LOCAL ROLE "{role}"'))
            # No company set: the role sees nothing at all rather than everything.
            assert conn.scalar(text("SELECT count(*) FROM datasets")) == 0
    finally:
        with catalog_engine.begin() as conn:
            conn.execute(text(f'REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))
