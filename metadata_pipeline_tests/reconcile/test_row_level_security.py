"""Reconcile through a PostgreSQL role that row-level security applies to (a deployment that does not
connect as the tables' owner): every row carries its company and every transaction sets it, so the
policies accept each write; COPY is not allowed there, and the INSERT path takes over."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from metadata_pipeline.catalog.database import Tenant, make_engine
from metadata_pipeline_tests.reconcile.builders import shop
from metadata_pipeline_tests.reconcile.helpers import recorded_writes, run


def test_reconcile_under_row_level_security(rls_catalog: tuple[str, Tenant, uuid.UUID]) -> None:
    url, tenant, connection_id = rls_catalog
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT row_security_active('datasets')")).scalar_one()
        with recorded_writes(engine) as writes:
            first = run(engine, tenant, connection_id, shop())
        assert first.datasets_created == 6 and first.version_number == 1
        assert not any(w.startswith("COPY") for w in writes) and any(
            w.startswith("INSERT INTO columns") for w in writes
        )
        again = run(engine, tenant, connection_id, shop())
        assert not again.changed
        with engine.connect() as conn:  # without the company set, this role sees nothing at all
            assert conn.execute(text("SELECT count(*) FROM datasets")).scalar_one() == 0
    finally:
        engine.dispose()
